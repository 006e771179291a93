"""``import vlmcompat.patch`` before a user's program runs, without touching the program.

:func:`install` writes a folder holding a ``sitecustomize.py`` that imports ``vlmcompat.patch``
(which applies every fix) and then runs the ``sitecustomize`` that folder hides, if the
environment has one, plus a link to this vlmcompat package, so the program imports the same
vlmcompat wherever it is installed. Put the folder first on ``PYTHONPATH`` and every Python process started
under it, including the ones the program starts, runs patched.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # this vlmcompat package
SITECUSTOMIZE = '''"""Written by vlmcompat: apply vlmcompat's fixes before the program runs."""
import importlib.machinery
import importlib.util
import os
import sys

import vlmcompat.patch  # noqa: F401  (importing applies the fixes)

_here = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.machinery.PathFinder.find_spec(
    "sitecustomize", [p for p in sys.path if os.path.abspath(p or ".") != _here])
if _spec is not None and _spec.loader is not None:
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
'''


def install(folder: Path) -> Path:
    """The shim folder (created if needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    link = folder / "vlmcompat"
    if not link.exists():
        link.symlink_to(PACKAGE_DIR, target_is_directory=True)
    return folder


def patched_env(env: dict[str, str], folder: Path) -> dict[str, str]:
    """``env`` with the shim first on PYTHONPATH and autopatching on."""
    out = dict(env)
    out["PYTHONPATH"] = os.pathsep.join(p for p in (str(folder), env.get("PYTHONPATH", "")) if p)
    out.pop("VLMCOMPAT_NO_AUTOPATCH", None)
    return out

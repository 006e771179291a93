"""The user's own command as a probe (``probe = "run"``): ``vlmcompat probe --run CMD``,
``run = [...]`` in matrix.toml, ``nox -s matrix -- --run CMD``.

The command runs in the cell's environment from the project's folder (the folder the probe command
was started in, or ``--run-in DIR``; matrix.toml's ``run`` runs in the matrix file's folder), once
as is (native) and once with ``import vlmcompat.patch`` applied before the user's code runs
(patched, through :mod:`~vlmcompat.usercommand.shim`). Its exit status, duration and output tail
are the result; a failure's output goes through ``vlmcompat.explain``, so it carries a known-issue
id where one matches. The probe is registered only when a command is given (:func:`enable`), so
cells without one show no ``run`` column.
"""

from __future__ import annotations

import json
import os

from vlmcompat.paths import PROBES_ENV

RUN_ENV = "VLMCOMPAT_RUN"  # JSON list of the commands, for the probe workers
RUN_DIR_ENV = "VLMCOMPAT_RUN_DIR"  # the folder they run in (default: the probe command's)
PROBE_REF = "vlmcompat.usercommand.probe:PROBE"
PROBE_NAME = "run"


def enable(commands: list[str], environ: dict[str, str] | None = None, folder: str | None = None) -> None:
    """Register the run probe (here and in the probe workers) for ``commands``, run in ``folder``."""
    env = os.environ if environ is None else environ
    env[RUN_ENV] = json.dumps(list(commands))
    if folder:
        env[RUN_DIR_ENV] = os.path.abspath(folder)
    refs = [r for r in env.get(PROBES_ENV, "").split(",") if r.strip()]
    if PROBE_REF not in refs:
        env[PROBES_ENV] = ",".join([*refs, PROBE_REF])


def folder(environ: dict[str, str] | None = None) -> str:
    """Where the commands run: the folder given, else the current one (the project's)."""
    return (os.environ if environ is None else environ).get(RUN_DIR_ENV) or os.getcwd()


def commands(environ: dict[str, str] | None = None) -> list[str]:
    value = (os.environ if environ is None else environ).get(RUN_ENV)
    return list(json.loads(value)) if value else []

"""Every default in one place: files and folders, environment variables, the stack's package
names, and the rule that names a cell. Everything else imports these; nothing here imports
more than the standard library.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

# Files and folders, relative to the directory vlmcompat runs in (the project root).
MATRIX_FILE = Path("matrix.toml")
REPORTS_DIR = Path("reports")
CELLS_SUBDIR = "cells"
PROGRESS_FILE = ".matrix-progress.json"  # in the cells folder: which cells this matrix run has done
COMPAT_MD = "compat.md"
COMPAT_JSON = "compat.json"
CATALOGUE_DOC = Path("docs") / "known-issues.md"  # the rendered known-issue catalogue, in the repository

# Environment variables.
MATRIX_ENV = "VLMCOMPAT_MATRIX"  # another matrix file for the noxfile
REPORTS_ENV = "VLMCOMPAT_REPORTS"  # another reports folder for the noxfile
CACHE_ENV = "VLMCOMPAT_CACHE"  # the cache root (shared torch, gate/bisect cells, bytecode, results), or "off"
CACHE_OFF = "off"  # VLMCOMPAT_CACHE=off: never reuse results (the other caches stay at the default root)
PROBES_ENV = "VLMCOMPAT_PROBES"  # third-party probes, module:attr,...
NO_AUTOPATCH_ENV = "VLMCOMPAT_NO_AUTOPATCH"  # `import vlmcompat.patch` without applying
PRELOAD_ENV = "VLMCOMPAT_PRELOAD"  # modules a probe worker imports before its tasks' clocks start
PRELOAD = ("torch", "transformers")  # ... by default (comma-separated in the variable; empty: none)

# The stack: the packages a matrix cell pins (matrix.toml keys, in cell-id order) and the
# short prefix each gets in a cell id. A cell's recorded versions are python plus these.
STACK = ("transformers", "tokenizers", "peft", "trl", "torch")
SHORT = {"transformers": "t", "tokenizers": "tok", "peft": "peft", "trl": "trl", "torch": "torch"}
NEWEST = "newest"

# What vlmcompat needs inside a cell besides the pinned stack (vlmcompat itself is linked in).
RUNTIME_REQUIREMENTS = ("packaging", "tabulate")


def reports_dir() -> Path:
    return Path(os.environ.get(REPORTS_ENV) or REPORTS_DIR)


def cells_dir(reports: str | os.PathLike[str] | None = None) -> Path:
    """Where the cell results of a reports folder live (``reports/cells``)."""
    return Path(reports if reports is not None else reports_dir()) / CELLS_SUBDIR


def matrix_file() -> Path:
    return Path(os.environ.get(MATRIX_ENV) or MATRIX_FILE)


def cache_root() -> Path:
    """``$VLMCOMPAT_CACHE``, default ``~/.cache/vlmcompat`` (also when it is ``off``)."""
    value = os.environ.get(CACHE_ENV)
    if not value or value == CACHE_OFF:
        return Path.home() / ".cache" / "vlmcompat"
    return Path(value)


def result_cache_enabled() -> bool:
    """Whether probe runs may reuse cached results (``VLMCOMPAT_CACHE=off`` says no)."""
    return os.environ.get(CACHE_ENV) != CACHE_OFF


def result_cache_dir() -> Path:
    """Complete cell results by cache key (:mod:`vlmcompat.matrix.cache`)."""
    return cache_root() / "results"


def cell_id(labels: Mapping[str, str | None]) -> str:
    """The id of a cell from a label per stack package (a version, ``newest``, ``ge4.53+lt4.54``):
    ``t4.44.0-tok0.19.1-peft0.16.0``. Packages without a label are left out, torch unless pinned."""
    parts = [f"{SHORT[pkg]}{labels[pkg]}" for pkg in STACK if labels.get(pkg)]
    return "-".join(parts)


_SAFE = re.compile(r"[^A-Za-z0-9._+\-]")


def file_stem(cell: str) -> str:
    """A cell id as a file name (ids are already safe; anything else is replaced)."""
    return _SAFE.sub("_", cell)


def preload_modules() -> tuple[str, ...]:
    """What a probe worker imports before it says ready (``$VLMCOMPAT_PRELOAD``, default torch, transformers)."""
    value = os.environ.get(PRELOAD_ENV)
    if value is None:
        return PRELOAD
    return tuple(name.strip() for name in value.split(",") if name.strip())

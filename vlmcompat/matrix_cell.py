"""Running one matrix cell: install its stack, run the probes in it, keep a record whatever happens.

The noxfile's ``matrix(<cell>)`` session is a thin sequence of these steps:

1. :func:`install` — the cell's pins into the session's venv. uv is asked ``--offline`` first
   (a warm cache answers in a fraction of a second, with no index round trip) and online only
   when that fails, so a cold cache and a missing release still get the index's own answer.
   torch is shared from the host (:mod:`vlmcompat.cells`); vlmcompat itself is linked into the
   venv (it declares no stack dependencies, so nothing pinned changes, and no wheel is built).
2. :func:`probe_args` — ``python -m vlmcompat probe ...`` in the venv, which writes
   ``reports/cells/<cell>.json`` after every probe.
3. :func:`record_install_failure` / :func:`record_missing_results` — when there is nothing to
   probe, or the probe command died before writing anything, the cell still gets a CellResult
   that says so (install status and log tail, or a ``crash`` record), and the matrix goes on.

Bytecode: this kind of machine sets PYTHONDONTWRITEBYTECODE=1, so every probe process would
compile transformers from source again. Compiling the whole venv at install time
(``--compile-bytecode``) costs ~22 s per cell here; letting the first probe process write
``__pycache__`` for the modules it imports costs ~0.7 s and saves ~2.5 s in every later
process (figures from ``python benchmarks/cells.py --bytecode``). So :func:`probe_env`
re-enables bytecode writing, into a cache directory shared by all cells.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from vlmcompat import cells
from vlmcompat.matrix import Cell, version_label
from vlmcompat.errors import ResultsError
from vlmcompat.results import (CellResult, InstallInfo, InstallStatus, Mode, ProbeResult, Status, load_cell,
                               write_json_atomic)

CELLS_DIR = Path("reports") / "cells"
SOURCE_ROOT = Path(__file__).resolve().parent.parent

def probe_env(cache_root: Path | None = None) -> dict[str, str]:
    """Environment for the probe command: write bytecode, but into one cache outside every tree.

    ``PYTHONDONTWRITEBYTECODE=""`` counts as unset for CPython, so the first probe process
    compiles what it imports; ``PYTHONPYCACHEPREFIX`` keeps those files out of the source
    checkout (linked into the cell) and out of the host's site-packages (shared torch).
    """
    cache_root = cache_root or Path(os.environ.get("VLMCOMPAT_CACHE", Path.home() / ".cache" / "vlmcompat"))
    return {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(cache_root / "pycache")}
RUNTIME_REQUIREMENTS = ["tabulate"]  # vlmcompat's own dependency besides packaging (which the stack brings)
CRASH_PROBE = "probe-command"


def result_path(name: str, cells_dir: Path = CELLS_DIR) -> Path:
    return Path(cells_dir) / f"{name}.json"


def install(venv: Path, cell: Cell, source_root: Path = SOURCE_ROOT) -> InstallInfo:
    """Install the cell's requirements into ``venv`` (offline first) and link vlmcompat into it."""
    requirements = [*cell.requirements, *RUNTIME_REQUIREMENTS]
    info = cells.install(Path(venv), requirements, extra=["--offline"])
    if info.status is not InstallStatus.OK:
        first = info.seconds
        info = cells.install(Path(venv), requirements)
        info.seconds += first
    if info.status is InstallStatus.OK:
        link_source(Path(venv), source_root)
    return info


def link_source(venv: Path, source_root: Path = SOURCE_ROOT) -> Path:
    """Make ``import vlmcompat`` in ``venv`` load this checkout (a symlink; no build, no metadata)."""
    link = cells.site_packages(venv) / "vlmcompat"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(Path(source_root).resolve() / "vlmcompat", target_is_directory=True)
    return link


def probe_args(cell: Cell, out: Path, install_seconds: float, extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Arguments after ``python`` for the probe command (``extra`` = nox posargs, e.g. ``--probe P``)."""
    return ["-m", "vlmcompat", "probe", "--json", str(out), "--cell", cell.name,
            "--install-seconds", f"{install_seconds:.3f}", *extra]


def requested_versions(cell: Cell) -> dict[str, str | None]:
    """What the cell asked for (a failed install has no installed versions to report)."""
    versions: dict[str, str | None] = {"python": f"{sys.version_info.major}.{sys.version_info.minor}"}
    for package in ("torch", "transformers", "tokenizers", "peft"):
        if package in cell.pins:
            versions[package] = version_label(cell.pins[package])
        else:
            versions[package] = None
    return versions


def prepare(out: Path) -> None:
    """Remove a previous run's result so that a stale file is never taken for this run's."""
    Path(out).unlink(missing_ok=True)


def record_install_failure(out: Path, cell: Cell, info: InstallInfo) -> CellResult:
    result = CellResult(cell=cell.name, versions=requested_versions(cell), install=info, results=[])
    write_json_atomic(out, result.to_dict())
    return result


def record_missing_results(out: Path, cell: Cell, info: InstallInfo) -> CellResult | None:
    """After the probe command: if it left no readable result, record that it crashed."""
    try:
        load_cell(out)
        return None
    except ResultsError as exc:
        problem = str(exc)
    crash = ProbeResult(probe=CRASH_PROBE, family="*", mode=Mode.NATIVE, status=Status.CRASH,
                        reason=f"`python -m vlmcompat probe` wrote no usable results ({problem}); "
                               "see this cell's session log")
    result = CellResult(cell=cell.name, versions=requested_versions(cell), install=info, results=[crash])
    write_json_atomic(out, result.to_dict())
    return result


def describe_failure(cell: Cell, info: InstallInfo) -> str:
    last = next((line for line in reversed(info.log_tail.strip().splitlines()) if line.strip()), "")
    return (f"cell {cell.name}: install {info.status.value} after {info.seconds:.1f}s "
            f"({' '.join(cell.requirements)}): {last}")

"""One cell: install its stack, run the probes in it, and keep a record whatever happens.

The same steps serve the noxfile's ``matrix(<cell>)`` sessions (nox makes the venv) and
``vlmcompat gate --requirements`` / ``vlmcompat bisect`` (:func:`build` makes and caches it):

1. :func:`install` — the requirements plus vlmcompat's runtime needs into the venv, resolved
   against the package index (so ``newest`` is the newest release, not the newest one a warm
   cache has seen); only when the index cannot be reached, from the local cache (uv
   ``--offline``), and then the install record says ``offline: true``. torch is shared from
   the host (:mod:`vlmcompat.matrix.venv`); then :func:`link_self` makes this vlmcompat
   importable there (a symlink in site-packages: no build, nothing pinned changes).
2. :func:`probe_command` — ``<python> -m vlmcompat probe --json OUT --cell NAME ...``, run by
   nox (``session.run``) or by :func:`run_probe`, with :func:`probe_env`.
3. :func:`record_install_failure` / :func:`settle` — when there is nothing to probe, or the
   probe command died, the cell still gets a record that says so (install status and log
   tail, or a ``crashed`` run with the tasks that never ran), placed by the rules of
   :mod:`vlmcompat.matrix.record`, and the matrix goes on.

Bytecode: this kind of machine sets PYTHONDONTWRITEBYTECODE=1, so every probe process would
compile transformers from source again. Compiling the whole venv at install time
(``--compile-bytecode``) costs ~22 s per cell here; letting the first probe process write
``__pycache__`` for the modules it imports costs ~0.7 s and saves ~2.5 s in every later
process (``python benchmarks/cells.py --bytecode``). So :func:`probe_env` re-enables bytecode
writing, into a cache directory shared by all cells.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from vlmcompat.errors import EnvironmentProblem, ResultsError
from vlmcompat.matrix import record
from vlmcompat.matrix import venv as venvs
from vlmcompat.matrix.record import CRASH_PROBE
from vlmcompat.matrix.spec import version_label
from vlmcompat.paths import RUNTIME_REQUIREMENTS, STACK, cache_root, file_stem
from vlmcompat.results import (
    ENVIRONMENT,
    CellResult,
    InstallInfo,
    InstallStatus,
    Mode,
    ProbeResult,
    RunInfo,
    RunState,
    Status,
    load_cell,
    now_iso,
    read_json,
    write_json_atomic,
)

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # this vlmcompat package
INSTALL_RECORD = "vlmcompat-install.json"
__all__ = ["CRASH_PROBE", "build", "install", "link_self", "probe_command", "record_install_failure", "run_probe",
           "settle"]


def result_path(name: str, cells_dir: Path) -> Path:
    return Path(cells_dir) / f"{file_stem(name)}.json"


def link_self(venv: Path) -> Path:
    """Make ``import vlmcompat`` in ``venv`` load this package (works for a source checkout and
    an installed wheel alike, and adds nothing else from the host)."""
    link = venvs.site_packages(venv) / "vlmcompat"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(PACKAGE_DIR, target_is_directory=True)
    return link


def install(venv: Path, requirements: Sequence[str]) -> InstallInfo:
    """Install ``requirements`` (plus vlmcompat's runtime needs) into ``venv``; never raises."""
    wanted = [*requirements, *RUNTIME_REQUIREMENTS]
    info = venvs.pip_install(Path(venv), wanted)
    if info.status is InstallStatus.NETWORK and not venvs.offline_requested():
        cached = venvs.pip_install(Path(venv), wanted, extra=["--offline"])
        cached.seconds += info.seconds
        if cached.status is InstallStatus.OK:
            cached.offline = True
            cached.log_tail = f"the package index could not be reached; installed from the local cache\n" \
                              f"{cached.log_tail}"[-venvs.LOG_TAIL_CHARS:]
            info = cached
        else:
            info.seconds = cached.seconds
    if info.status is InstallStatus.OK:
        link_self(Path(venv))
    return info


def cached_venv(requirements: Sequence[str]) -> Path:
    key = hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:12]
    return cache_root() / "cells" / key


def build(requirements: Sequence[str], venv: Path | None = None, reuse: bool = True) -> tuple[Path, InstallInfo]:
    """A venv with ``requirements`` that runs ``python -m vlmcompat`` (under the cache, keyed by the
    requirements, unless ``venv`` is given); reused while its install record says it installed."""
    venv = Path(venv) if venv is not None else cached_venv(requirements)
    record = venv / INSTALL_RECORD
    if reuse and record.is_file():
        try:
            info = InstallInfo.from_dict(read_json(record))
        except ResultsError:
            info = InstallInfo(InstallStatus.ERROR)
        if info.status is InstallStatus.OK:
            link_self(venv)
            return venv, info
    failed = venvs.make(venv)
    if failed is not None:
        return venv, failed
    info = install(venv, requirements)
    if info.status is InstallStatus.OK:
        write_json_atomic(record, info.to_dict())
    return venv, info


def probe_command(python: str | os.PathLike[str], cell: str, out: Path, families: Iterable[str] = (),
                  probes: Iterable[str] = (), timeout: float | None = None, install_seconds: float | None = None,
                  extra: Iterable[str] = ()) -> list[str]:
    """The probe command for a cell (``extra`` = further ``vlmcompat probe`` arguments, e.g. nox posargs)."""
    cmd = [str(python), "-m", "vlmcompat", "probe", "--json", str(out), "--cell", cell]
    for family in families:
        cmd += ["--family", family]
    for probe in probes:
        cmd += ["--probe", probe]
    if timeout is not None:
        cmd += ["--timeout", f"{timeout:g}"]
    if install_seconds is not None:
        cmd += ["--install-seconds", f"{install_seconds:.3f}"]
    return [*cmd, *extra]


def probe_env() -> dict[str, str]:
    """Variables for the probe command: write bytecode, but into one cache outside every tree.

    ``PYTHONDONTWRITEBYTECODE=""`` counts as unset for CPython, so the first probe process
    compiles what it imports; ``PYTHONPYCACHEPREFIX`` keeps those files out of the source
    checkout (linked into the cell) and out of the host's site-packages (shared torch).
    """
    return {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(cache_root() / "pycache")}


def run_probe(venv: Path, cell: str, out: Path, families: Iterable[str] = (), probes: Iterable[str] = (),
              timeout: float = 300.0, extra: Iterable[str] = ()) -> CellResult:
    """Run :func:`probe_command` in ``venv`` as a subprocess (``extra``: further probe arguments, e.g.
    ``--model DIR``, ``--run CMD``); the CellResult it wrote."""
    cmd = probe_command(Path(venv) / "bin" / "python", cell, out, families, probes, timeout, extra=extra)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(probe_env())
    out.unlink(missing_ok=True)
    before = record.snapshot(out)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout * 4 + 120)
    settle(out, cell, [], InstallInfo(InstallStatus.EXISTING), proc.returncode, before)
    if not out.is_file():
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        raise EnvironmentProblem(f"`vlmcompat probe` wrote no result in {venv} (exit {proc.returncode}): "
                                 f"{' | '.join(tail)[:400]}; run `{' '.join(cmd)}` to see why")
    return load_cell(out)


def requested_versions(requirements: Sequence[str]) -> dict[str, str | None]:
    """What the cell asked for, per stack package (a failed install has no installed versions)."""
    asked: dict[str, str] = {}
    for raw in requirements:
        try:
            req = Requirement(raw)
        except InvalidRequirement:
            continue
        if req.name.lower() in STACK:
            asked[req.name.lower()] = version_label(str(req.specifier))
    versions: dict[str, str | None] = {"python": f"{sys.version_info.major}.{sys.version_info.minor}"}
    versions.update({pkg: asked.get(pkg) for pkg in STACK})
    return versions


def failed_install(name: str, requirements: Sequence[str], info: InstallInfo) -> CellResult:
    return CellResult(cell=name, versions=requested_versions(requirements), install=info, results=[])


def record_install_failure(out: Path, name: str, requirements: Sequence[str], info: InstallInfo) -> CellResult:
    """The cell could not be installed: recorded (a ``network`` failure beside a finished run, see
    :mod:`vlmcompat.matrix.record`; any other failure is this cell's outcome)."""
    result = failed_install(name, requirements, info)
    record.place(out, result)
    return result


INTERRUPT_CODES = (130, 143, -2, -15)  # SIGINT/SIGTERM: exited as interrupted, or killed by them


def settle(out: Path, name: str, requirements: Sequence[str], info: InstallInfo, exit_code: int,
           before: tuple) -> tuple[CellResult | None, str | None]:
    """After the probe command exited with ``exit_code``: (the record written here, if any; a problem
    to report, if any). ``before`` is :func:`vlmcompat.matrix.record.snapshot` taken before it ran.

    A command that died mid-run left its partial file: closed as ``crashed``. One that died before
    it started the run (a cell where ``python -m vlmcompat`` cannot even start) gets a ``crashed``
    record with one ``probe-command`` crash. An interruption was recorded by the command itself.
    """
    crashed = record.close_crashed(out, exit_code)
    if crashed is not None:
        assert crashed.run is not None
        return crashed, f"cell {name}: {crashed.run.reason}; recorded as crashed"
    if exit_code in INTERRUPT_CODES:
        return None, f"cell {name}: interrupted (the probe command {record.describe_exit(exit_code)})"
    if exit_code in (0, 1) and record.snapshot(out) != before:
        return None, None  # the run ended and placed its record (or reused cached results)
    if exit_code == 0:
        return None, None  # nothing to record (e.g. --list)
    if exit_code == 2:
        return None, f"cell {name}: the probe command refused its arguments (exit 2); see its message above"
    reason = f"the probe command {record.describe_exit(exit_code)} before it ran any probe; see this cell's log"
    crash = ProbeResult(probe=CRASH_PROBE, family=ENVIRONMENT, mode=Mode.NATIVE, status=Status.CRASH, reason=reason)
    run = RunInfo(RunState.CRASHED, started=now_iso(), ended=now_iso(), reason=reason)
    result = CellResult(cell=name, versions=requested_versions(requirements), install=info, results=[crash], run=run)
    record.place(out, result)
    return result, f"cell {name}: {reason}; recorded as crashed"


def describe_failure(name: str, requirements: Sequence[str], info: InstallInfo) -> str:
    last = next((line for line in reversed(info.log_tail.strip().splitlines()) if line.strip()), "")
    return (f"cell {name}: install {info.status.value} after {info.seconds:.1f}s "
            f"({' '.join(requirements)}): {last}")

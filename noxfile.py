"""Sessions: the version matrix (one session per cell of matrix.toml), report, gate, tests.

    nox -l                                     # lists matrix(<cell>) for every cell
    nox -s matrix -j 2                         # every cell, two at a time, then the report
    nox -s "matrix(newest)" -- --probe model-class   # one cell; args after -- go to `vlmcompat probe`
    nox -s report                              # reports/compat.md + compat.json from reports/cells
    nox -s crosscheck_write -j 2 && nox -s crosscheck -j 2   # artifacts per cell, then each cell reads the others

VLMCOMPAT_MATRIX=other.toml and VLMCOMPAT_REPORTS=dir/ point it at another matrix / reports folder.

The logic lives in vlmcompat.matrix (matrix.toml, the cell venv, running and recording a cell)
and vlmcompat.commands.report; this file only wires them to nox.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import nox
import nox.command

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from vlmcompat import matrix as matrix_file
from vlmcompat import paths, signals
from vlmcompat.errors import MatrixError
from vlmcompat.matrix import cell as cells
from vlmcompat.matrix import progress, record
from vlmcompat.results import InstallStatus

nox.needs_version = ">=2026.8.10"
nox.options.sessions = ["tests"]

# SIGTERM stops nox as Ctrl-C does: nox then stops the command it runs (the probe command records
# its cell as interrupted and stops its worker) and, under -j, its child processes. A -j child
# also stops when the nox that started it dies.
signals.terminate_like_interrupt()
if "--parallel-worker" in sys.argv:
    signals.die_with_parent(signal.SIGTERM)

MATRIX_PATH = ROOT / paths.matrix_file()
REPORTS = ROOT / paths.reports_dir()  # where cells/ and compat.* go
try:
    MATRIX: matrix_file.Matrix | None = matrix_file.load(MATRIX_PATH)
    MATRIX_ERROR = ""
    CELL_NAMES = MATRIX.names
except MatrixError as exc:  # the other sessions still run; the matrix ones say what is wrong
    MATRIX, MATRIX_ERROR, CELL_NAMES = None, str(exc), ["invalid-matrix"]
    print(f"nox: {MATRIX_ERROR}", file=sys.stderr)


@nox.session(venv_backend="uv", allow_parallel=True)
@nox.parametrize("cell", CELL_NAMES, ids=CELL_NAMES)
def matrix(session: nox.Session, cell: str) -> None:
    """Install one cell (torch shared from the host) and run every probe in it.

    The cell's previous results stay in reports/cells/<cell>.json until this run ends (see
    vlmcompat.matrix.record); a probe command that dies is recorded as crashed and fails the session.
    """
    if MATRIX is None:
        session.error(MATRIX_ERROR)
    spec = MATRIX.get(cell)
    cells_dir = paths.cells_dir(REPORTS)
    out = cells.result_path(cell, cells_dir)
    ledger = progress.Ledger(cells_dir, MATRIX.names, progress.run_id(session.parallel))
    session.log(ledger.started(cell))
    problem = None
    try:
        info = cells.install(Path(session.virtualenv.location), spec.requirements)
        session.log(f"{cell}: install {info.status.value} in {info.seconds:.2f}s"
                    + (" (offline: the package index could not be reached)" if info.offline else ""))
        if info.status is not InstallStatus.OK:
            cells.record_install_failure(out, cell, spec.requirements, info)
            session.warn(cells.describe_failure(cell, spec.requirements, info))
            return
        before = record.snapshot(out)
        code = 0
        try:  # 0: done; 1: done, and --strict found a patched failure
            session.run(*cells.probe_command("python", cell, out, install_seconds=info.seconds,
                                            extra=[*spec.probe_args(), *session.posargs]),
                        env=cells.probe_env(), success_codes=[0, 1], interrupt_timeout=1.0, terminate_timeout=10.0)
        except nox.command.CommandFailed as exc:
            code = exc.return_code if exc.return_code is not None else 1
        _, problem = cells.settle(out, cell, spec.requirements, info, code, before)
    except KeyboardInterrupt:
        problem = "interrupted"
        raise
    finally:
        session.log(ledger.ended(cell, problem or "done"))
        _refresh_report(session)
    if problem:
        session.error(problem)


def _crosscheck_cell(session: nox.Session, cell: str) -> Path:
    """The cell's venv (built or reused through vlmcompat.matrix.cell, keyed by its requirements)."""
    if MATRIX is None:
        session.error(MATRIX_ERROR)
    venv, info = cells.build(MATRIX.get(cell).requirements)
    if info.status not in (InstallStatus.OK, InstallStatus.EXISTING):
        session.error(cells.describe_failure(cell, MATRIX.get(cell).requirements, info))
    return venv


@nox.session(venv_backend="none", allow_parallel=True)
@nox.parametrize("cell", CELL_NAMES, ids=CELL_NAMES)
def crosscheck_write(session: nox.Session, cell: str) -> None:
    """Save this cell's artifacts (adapter, checkpoint, processor) under reports/artifacts/<cell>/."""
    python = _crosscheck_cell(session, cell) / "bin" / "python"
    session.run(str(python), "-m", "vlmcompat", "crosscheck", "write", "--cell", cell, "--reports", str(REPORTS),
                *session.posargs, env=cells.probe_env(), external=True)


@nox.session(venv_backend="none", allow_parallel=True)
@nox.parametrize("cell", CELL_NAMES, ids=CELL_NAMES)
def crosscheck(session: nox.Session, cell: str) -> None:
    """Load in this cell the artifacts the other cells wrote ([[pair]] tables choose writers; default all);
    results in reports/crosscheck/<cell>.json. Run `nox -s crosscheck_write` first."""
    python = _crosscheck_cell(session, cell) / "bin" / "python"
    writers = [] if not MATRIX.pairs else [arg for w in MATRIX.writers_for(cell) for arg in ("--writer", w)]
    if MATRIX.pairs and not writers:
        session.skip(f"no [[pair]] in {MATRIX_PATH.name} has reader {cell!r}")
    session.run(str(python), "-m", "vlmcompat", "crosscheck", "read", "--cell", cell, "--reports", str(REPORTS),
                *writers, *session.posargs, env=cells.probe_env(), external=True)


def _report_args() -> list[str]:
    return [str(paths.cells_dir(REPORTS)), "--md", str(REPORTS / paths.COMPAT_MD),
            "--json", str(REPORTS / paths.COMPAT_JSON), "--matrix", str(MATRIX_PATH)]


def _refresh_report(session: nox.Session) -> None:
    try:
        session.notify("report", posargs=[])  # serial runs: once, after every cell
    except ValueError:  # under --parallel each cell refreshes the report itself (serialised by a lock)
        from vlmcompat.commands import report

        report.write_reports(paths.cells_dir(REPORTS), str(REPORTS / paths.COMPAT_MD),
                             str(REPORTS / paths.COMPAT_JSON), matrix_path=str(MATRIX_PATH))


@nox.session(venv_backend="uv", reuse_venv=True, allow_parallel=True)
def report(session: nox.Session) -> None:
    """reports/compat.md, compat.svg and compat.json from reports/cells (args go to `vlmcompat report`).

    Installs vlmcompat with the [report] extra (matplotlib, for the picture) in its own venv; by
    default "What changed" compares with reports/compat.json as committed at HEAD.
    """
    session.install("-e", f"{ROOT}[report]")
    committed = os.path.relpath(REPORTS / paths.COMPAT_JSON, ROOT)  # a path in the repository, for git show
    args = session.posargs or [*_report_args(), "--baseline", committed, "--baseline-ref", "HEAD"]
    session.run("python", "-m", "vlmcompat", "report", *args)


@nox.session(venv_backend="none")
def gate(session: nox.Session) -> None:
    """Fresh reports/cells/*.json against the committed reports/compat.json; fails on a regression.

    Args after -- replace the defaults and go to `vlmcompat gate` (e.g. -- --strict --baseline-ref origin/main).
    """
    committed = os.path.relpath(REPORTS / paths.COMPAT_JSON, ROOT)  # a path in the repository, for git show
    defaults = ["--baseline", str(committed), "--baseline-ref", "HEAD", "--results", str(paths.cells_dir(REPORTS))]
    args = session.posargs if session.posargs and session.posargs[0].startswith("--baseline") else \
        [*defaults, *session.posargs]
    session.run(sys.executable, "-m", "vlmcompat", "gate", *args, external=True)


@nox.session(venv_backend="uv")
def tests(session: nox.Session) -> None:
    """The test suite in a fresh venv: the host's torch shared, `.[dev]` installed (args go to pytest)."""
    from vlmcompat.matrix import venv

    info = venv.pip_install(Path(session.virtualenv.location), [], extra=["-e", f"{ROOT}[dev]"])
    if info.status is not InstallStatus.OK:
        session.error(f"installing .[dev] failed ({info.status.value}): {info.log_tail[-500:]}")
    session.run("pytest", *(session.posargs or ["-q"]))

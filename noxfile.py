"""Sessions: the version matrix (one session per cell of matrix.toml), report, gate, tests.

    nox -l                                     # lists matrix(<cell>) for every cell
    nox -s matrix -j 2                         # every cell, two at a time, then the report
    nox -s "matrix(newest)" -- --probe model-class   # one cell; args after -- go to `vlmcompat probe`
    nox -s report                              # reports/compat.md + compat.json from reports/cells

VLMCOMPAT_MATRIX=other.toml and VLMCOMPAT_REPORTS=dir/ point it at another matrix / reports folder.

The logic lives in vlmcompat.matrix (matrix.toml), vlmcompat.matrix_cell (installing and
running one cell) and vlmcompat.commands.report; this file only wires them to nox.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from vlmcompat import cells, matrix_cell  # noqa: E402
from vlmcompat import matrix as matrix_file  # noqa: E402
from vlmcompat.results import InstallStatus  # noqa: E402

nox.needs_version = ">=2026.8.10"
nox.options.sessions = ["tests"]

MATRIX_PATH = Path(os.environ.get("VLMCOMPAT_MATRIX", ROOT / "matrix.toml"))
MATRIX = matrix_file.load(MATRIX_PATH)
REPORTS = Path(os.environ.get("VLMCOMPAT_REPORTS", ROOT / "reports"))  # where cells/ and compat.* go


@nox.session(venv_backend="uv", allow_parallel=True)
@nox.parametrize("cell", MATRIX.names, ids=MATRIX.names)
def matrix(session: nox.Session, cell: str) -> None:
    """Install one cell (torch shared from the host) and run every probe in it."""
    spec = MATRIX.get(cell)
    out = matrix_cell.result_path(cell, REPORTS / "cells")
    matrix_cell.prepare(out)
    try:
        info = matrix_cell.install(Path(session.virtualenv.location), spec, ROOT)
        session.log(f"{cell}: install {info.status.value} in {info.seconds:.2f}s")
        if info.status is not InstallStatus.OK:
            matrix_cell.record_install_failure(out, spec, info)
            session.warn(matrix_cell.describe_failure(spec, info))
            return
        session.run("python", *matrix_cell.probe_args(spec, out, info.seconds, session.posargs),
                    env=matrix_cell.probe_env(), success_codes=range(-64, 256))
        if matrix_cell.record_missing_results(out, spec, info) is not None:
            session.warn(f"{cell}: the probe command wrote no results; recorded as a crash")
    finally:
        _refresh_report(session)


def _refresh_report(session: nox.Session) -> None:
    try:
        session.notify("report", posargs=[])  # serial runs: once, after every cell
    except ValueError:  # under --parallel each cell refreshes the report itself (serialised by a lock)
        from vlmcompat.commands import report

        report.write_reports(REPORTS / "cells", str(REPORTS / "compat.md"), str(REPORTS / "compat.json"),
                             matrix_path=str(MATRIX_PATH))


@nox.session(venv_backend="uv", reuse_venv=True, allow_parallel=True)
def report(session: nox.Session) -> None:
    """reports/compat.md, compat.svg and compat.json from reports/cells (args go to `vlmcompat report`).

    Installs vlmcompat with the [report] extra (matplotlib, for the picture) in its own venv; by
    default "What changed" compares with reports/compat.json as committed at HEAD.
    """
    session.install("-e", f"{ROOT}[report]")
    committed = os.path.relpath(REPORTS / "compat.json", ROOT)
    args = session.posargs or [str(REPORTS / "cells"), "--md", str(REPORTS / "compat.md"),
                               "--json", str(REPORTS / "compat.json"), "--matrix", str(MATRIX_PATH),
                               "--baseline", committed, "--baseline-ref", "HEAD"]
    session.run("python", "-m", "vlmcompat", "report", *args)


@nox.session(venv_backend="none")
def gate(session: nox.Session) -> None:
    """Fresh reports/cells/*.json against the committed reports/compat.json; fails on a regression.

    Args after -- replace the defaults and go to `vlmcompat gate` (e.g. -- --strict --baseline-ref origin/main).
    """
    defaults = ["--baseline", "reports/compat.json", "--baseline-ref", "HEAD", "--results", "reports/cells"]
    args = session.posargs if session.posargs and session.posargs[0].startswith("--baseline") else \
        [*defaults, *session.posargs]
    session.run(sys.executable, "-m", "vlmcompat", "gate", *args, external=True)


@nox.session(venv_backend="uv")
def tests(session: nox.Session) -> None:
    """The test suite in a fresh venv: the host's torch shared, `.[dev]` installed (args go to pytest)."""
    info = cells.install(Path(session.virtualenv.location), [], extra=["-e", f"{ROOT}[dev]"])
    if info.status is not InstallStatus.OK:
        session.error(f"installing .[dev] failed ({info.status.value}): {info.log_tail[-500:]}")
    session.run("pytest", *(session.posargs or ["-q"]))

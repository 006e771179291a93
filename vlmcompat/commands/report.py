"""``vlmcompat report``: merge the matrix's cell results into compat.md, compat.json (and JUnit XML)."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vlmcompat.errors import InputFileError, MatrixError
from vlmcompat.results import CellResult, load_merged, load_results

DEFAULT_CELLS = Path("reports") / "cells"
DEFAULT_MD = Path("reports") / "compat.md"
DEFAULT_JSON = Path("reports") / "compat.json"
DEFAULT_MATRIX = Path("matrix.toml")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="merge cell results into compat.md / compat.json / JUnit XML",
                       description="Read every cell result (reports/cells/*.json, written by `nox -s matrix`) "
                       "and write the compatibility table (markdown), the merged JSON and optionally JUnit XML.")
    p.add_argument("cells", nargs="?", default=str(DEFAULT_CELLS), metavar="CELLS_DIR",
                   help=f"directory of cell results, or one merged/cell JSON file (default {DEFAULT_CELLS})")
    p.add_argument("--md", default=str(DEFAULT_MD), metavar="PATH", help=f"markdown table (default {DEFAULT_MD})")
    p.add_argument("--json", default=str(DEFAULT_JSON), metavar="PATH", help=f"merged JSON (default {DEFAULT_JSON})")
    p.add_argument("--junit", default=None, metavar="PATH", help="also write JUnit XML here")
    p.add_argument("--matrix", default=None, metavar="PATH",
                   help="order rows as the cells of this matrix file (default: matrix.toml when present)")
    p.set_defaults(func=run)


def load_cells(source: str | os.PathLike[str]) -> list[CellResult]:
    source = Path(source)
    if source.is_file():
        return load_merged(source)
    if not source.is_dir():
        raise InputFileError(f"{source}: no such directory; run `nox -s matrix` first or pass the cells directory")
    return load_results(source)


def order(cells: list[CellResult], names: list[str]) -> list[CellResult]:
    """Cells in matrix order; cells the matrix does not name come last, by name."""
    rank = {name: i for i, name in enumerate(names)}
    return sorted(cells, key=lambda c: (rank.get(c.cell, len(rank)), c.cell))


def matrix_names(path: str | None) -> list[str]:
    from vlmcompat import matrix

    if path is None:
        if not DEFAULT_MATRIX.is_file():
            return []
        try:
            return matrix.load(DEFAULT_MATRIX).names
        except MatrixError as exc:
            print(f"vlmcompat report: rows not in matrix order: {exc}", file=sys.stderr)
            return []
    return matrix.load(path).names


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Serialise report writers (parallel matrix cells each refresh the report when they finish).

    The lock file lives in the temp directory, keyed by the cells directory, so that nothing
    appears next to the results.
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: writers are not concurrent there
        yield
        return
    key = hashlib.sha256(str(Path(directory).resolve()).encode()).hexdigest()[:12]
    with open(Path(tempfile.gettempdir()) / f"vlmcompat-report-{key}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write(path: str | os.PathLike[str], text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_reports(cells_dir: str | os.PathLike[str] = DEFAULT_CELLS, md: str | None = str(DEFAULT_MD),
                  json: str | None = str(DEFAULT_JSON), junit: str | None = None,
                  matrix_path: str | None = None) -> list[str]:
    """Read the cells and write the reports; returns the paths written."""
    from vlmcompat.report import jsonfmt, markdown
    from vlmcompat.report import junit as junit_fmt

    source = Path(cells_dir)
    lock_dir = source if source.is_dir() else source.parent
    with locked(lock_dir):
        cells = order(load_cells(source), matrix_names(matrix_path))
        written = []
        for path, renderer in ((md, markdown.render), (json, jsonfmt.render), (junit, junit_fmt.render)):
            if path:
                _write(path, renderer(cells))
                written.append(str(path))
    return written


def run(args: argparse.Namespace) -> int:
    written = write_reports(args.cells, args.md, args.json, args.junit, args.matrix)
    print(f"vlmcompat report: wrote {', '.join(written)}")
    return 0

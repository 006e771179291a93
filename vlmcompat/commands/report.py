"""``vlmcompat report``: merge the matrix's cell results into compat.md, compat.json, compat.svg
(and JUnit XML, and a GitHub job summary). The renderers are pure; this module reads and writes."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vlmcompat import known_issues, paths
from vlmcompat.errors import MatrixError, ResultsError, UsageError
from vlmcompat.results import CellResult, load_merged, load_results

DEFAULT_CELLS = paths.cells_dir(paths.REPORTS_DIR)
DEFAULT_MD = paths.REPORTS_DIR / paths.COMPAT_MD
DEFAULT_JSON = paths.REPORTS_DIR / paths.COMPAT_JSON
DEFAULT_MATRIX = paths.MATRIX_FILE
AUTO = "auto"  # --svg default: beside the markdown, when matplotlib is installed


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="merge cell results into compat.md / compat.json / JUnit XML",
                       description="Read every cell result (reports/cells/*.json, written by `nox -s matrix`) "
                       "and write the compatibility table (markdown), the merged JSON and optionally JUnit XML.")
    p.add_argument("cells", nargs="?", default=str(DEFAULT_CELLS), metavar="CELLS_DIR",
                   help=f"directory of cell results, or one merged/cell JSON file (default {DEFAULT_CELLS})")
    p.add_argument("--md", default=str(DEFAULT_MD), metavar="PATH", help=f"markdown table (default {DEFAULT_MD})")
    p.add_argument("--json", default=str(DEFAULT_JSON), metavar="PATH", help=f"merged JSON (default {DEFAULT_JSON})")
    p.add_argument("--svg", default=AUTO, metavar="PATH",
                   help="the picture (needs matplotlib: pip install 'vlmcompat[report]'); default: compat.svg beside "
                   "the markdown when matplotlib is installed; '' for none")
    p.add_argument("--junit", default=None, metavar="PATH", help="also write JUnit XML here")
    p.add_argument("--baseline", default=None, metavar="PATH",
                   help="a merged report to compare with (adds 'What changed'), e.g. reports/compat.json")
    p.add_argument("--baseline-ref", default=None, metavar="REV",
                   help="read --baseline as committed at this git revision (e.g. HEAD, origin/main)")
    p.add_argument("--step-summary", default=None, metavar="PATH",
                   help="append the summary table and what changed here (CI: \"$GITHUB_STEP_SUMMARY\")")
    p.add_argument("--matrix", default=None, metavar="PATH",
                   help="order rows as the cells of this matrix file (default: matrix.toml when present)")
    p.set_defaults(func=run)


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


def _svg_current(path: str | os.PathLike[str], cells: list[CellResult]) -> bool:
    from vlmcompat.report import svg as svg_fmt

    try:
        return svg_fmt.is_current(Path(path).read_text(encoding="utf-8"), cells)
    except (OSError, UnicodeDecodeError):
        return False


def _write(path: str | os.PathLike[str], text: str) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def read_baseline(path: str | None, ref: str | None) -> tuple[list[CellResult] | None, str]:
    """(baseline cells, label) from a file or from git; (None, reason) when a git revision lacks it."""
    if not path:
        if ref:
            raise UsageError("--baseline-ref needs --baseline PATH "
                             "(e.g. --baseline reports/compat.json --baseline-ref HEAD)")
        return None, ""
    if not ref:
        return load_merged(path), path
    from vlmcompat.commands.gate import committed_baseline

    with tempfile.TemporaryDirectory() as tmp:
        try:
            return load_merged(committed_baseline(path, ref, tmp)), f"{ref}:{path}"
        except ResultsError as exc:
            return None, str(exc)


def svg_path(svg: str | None, md: str | None) -> str | None:
    if svg != AUTO:
        return svg or None
    from vlmcompat.report import svg as svg_fmt

    return str(Path(md).with_suffix(".svg")) if md and svg_fmt.available() else None


def catalogue_from(md: str | os.PathLike[str]) -> str:
    """The catalogue page as a link from the folder ``md`` is written to (reports/ -> ../docs/...,
    reports/sweep/ -> ../../docs/...), when this repository has the page; else where it is published."""
    page = Path.cwd() / paths.CATALOGUE_DOC
    if not page.is_file():
        return known_issues.catalogue_location()
    return os.path.relpath(page, Path(md).resolve().parent).replace(os.sep, "/")


def catalogue_url() -> str:
    """The catalogue page on GitHub for a job summary (``$GITHUB_SERVER_URL/$GITHUB_REPOSITORY`` at the
    commit being built), else where the installed metadata says it is published."""
    server, repo, sha = (os.environ.get(k) for k in ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_SHA"))
    if server and repo and sha:
        return f"{server}/{repo}/blob/{sha}/{paths.CATALOGUE_DOC.as_posix()}"
    return known_issues.catalogue_location()


def write_reports(cells_dir: str | os.PathLike[str] = DEFAULT_CELLS, md: str | None = str(DEFAULT_MD),
                  json: str | None = str(DEFAULT_JSON), junit: str | None = None,
                  matrix_path: str | None = None, svg: str | None = AUTO,
                  baseline: list[CellResult] | None = None, baseline_label: str = "the baseline",
                  step_summary: str | None = None, announce: bool = True) -> list[str]:
    """Read the cells and write the reports; returns the paths written (the step summary is appended to).

    With ``announce`` it says on stdout what it wrote (the last thing a matrix run shows, also when
    nox runs cells in parallel and each refreshes the report itself).
    """
    from vlmcompat.report import jsonfmt, markdown
    from vlmcompat.report import junit as junit_fmt
    from vlmcompat.report import step_summary as summary_fmt
    from vlmcompat.report import svg as svg_fmt

    source = Path(cells_dir)
    lock_dir = source if source.is_dir() else source.parent
    svg = svg_path(svg, md)
    with locked(lock_dir):
        cells = order(load_results(source), matrix_names(matrix_path))
        written = []
        if svg:
            if not _svg_current(svg, cells):  # a matrix refreshes the report after every cell
                _write(svg, svg_fmt.render(cells))
            written.append(str(svg))
        picture = os.path.relpath(svg, Path(md).parent).replace(os.sep, "/") if svg and md else None
        outputs = ((md, lambda c: markdown.render(c, baseline, picture=picture, baseline_label=baseline_label,
                                                  catalogue=catalogue_from(md))),
                   (json, jsonfmt.render), (junit, junit_fmt.render))
        for path, renderer in outputs:
            if path:
                _write(path, renderer(cells))
                written.append(str(path))
        if step_summary:
            with open(step_summary, "a", encoding="utf-8") as fh:
                fh.write(summary_fmt.render(cells, baseline, baseline_label, catalogue=catalogue_url()))
    written.sort(key=lambda p: (not p.endswith(".md"), p))
    if announce:
        print(f"vlmcompat report: wrote {', '.join(written)} ({len(cells)} cells)", flush=True)
        committed = [p for p in written if Path(p).resolve() in {DEFAULT_MD.resolve(), DEFAULT_JSON.resolve()}]
        if committed:
            print(f"vlmcompat report: {', '.join(committed)}: committed in this repository; "
                  "`git diff reports/` shows what this run changed", flush=True)
    return written


def run(args: argparse.Namespace) -> int:
    from vlmcompat.report import svg as svg_fmt

    baseline, label = read_baseline(args.baseline, args.baseline_ref)
    if args.baseline and baseline is None:
        print(f"vlmcompat report: no 'What changed' section: {label}", file=sys.stderr)
    write_reports(args.cells, args.md, args.json, args.junit, args.matrix, args.svg, baseline, label,
                  args.step_summary)
    if args.svg == AUTO and args.md and not svg_fmt.available():
        print(f"vlmcompat report: no picture: {svg_fmt.INSTALL_HINT} draws compat.svg", file=sys.stderr)
    return 0

"""The marks, links and table format every markdown section shares."""

from __future__ import annotations

import tabulate as _tabulate

from vlmcompat import known_issues
from vlmcompat.paths import CATALOGUE_DOC
from vlmcompat.report import install_failed, pair
from vlmcompat.results import CellResult, ProbeResult, Status

MARKS = {
    Status.PASS: "✅",
    Status.FAIL: "❌",
    Status.ERROR: "💥",
    Status.SKIP: "⏭",
    Status.TIMEOUT: "⏱",
    Status.CRASH: "☠",
    Status.INTERRUPTED: "⏸",
}
INSTALL_FAILED = "🚫"
NOT_RUN = "—"
ARROW = " → "
STACK = ("transformers", "tokenizers", "peft")
# compat.md lives in reports/: the catalogue page of this repository, one folder up (the report
# command passes the right relative path for a report written elsewhere, e.g. reports/sweep/)
RELATIVE_CATALOGUE = f"../{CATALOGUE_DOC.as_posix()}"


def issue_link(issue_id: str) -> str:
    """A reference-style link (defined at the end of the document) for catalogued ids; new ids stay plain."""
    return f"[{issue_id}]" if issue_id in known_issues.IDS else issue_id


def link_definitions(ids: set[str], catalogue: str = RELATIVE_CATALOGUE) -> list[str]:
    """``[id]: <catalogue>#id`` for every catalogued id in ``ids``, in catalogue order."""
    return [f"[{issue.id}]: {catalogue}#{issue.id}" for issue in known_issues.all_issues() if issue.id in ids]


def seen_ids(cells: list[CellResult]) -> set[str]:
    return {r.issue for c in cells for r in c.results if r.issue}


def mark(result: ProbeResult | None) -> str:
    if result is None:
        return NOT_RUN
    text = MARKS[result.status]
    if result.status is Status.FAIL and result.issue:
        text += " " + issue_link(result.issue)
    elif result.status is Status.ERROR and result.error is not None:
        text += f" {result.error.type}"
    return text


def entry(cell: CellResult, probe: str, family: str | None) -> str:
    """``native → patched`` for one probe × family, as in ``❌ [inputs-embeds-unexpected] → ✅``."""
    if install_failed(cell):
        return INSTALL_FAILED
    native, patched = pair(cell, probe, family)
    return f"{mark(native)}{ARROW}{mark(patched)}"


def versions_text(cell: CellResult) -> str:
    """``4.44.0 · 0.19.1 · 0.16.0`` (transformers · tokenizers · peft); ``-`` where a package is absent."""
    return " · ".join(cell.versions.get(pkg) or "-" for pkg in STACK)


def versions_header() -> str:
    return " · ".join(STACK)


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A github-format table padded by code points, whether or not wcwidth is installed
    (tabulate pads emoji by display width when it is), so the text is the same everywhere."""
    saved = _tabulate.WIDE_CHARS_MODE
    _tabulate.WIDE_CHARS_MODE = False
    try:
        return _tabulate.tabulate(rows, headers, tablefmt="github", disable_numparse=True)
    finally:
        _tabulate.WIDE_CHARS_MODE = saved

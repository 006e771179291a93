"""``reports/compat.md``: one row per cell (with its versions), one column per probe × family.

Each entry reads *native → patched*: ``❌ inputs-embeds-duplicate → ✅`` means the stock
classes fail with that known issue and vlmcompat's patch makes the probe pass. Issue ids link
to the known-issue catalogue. Problems that are not incompatibilities (an install that failed,
a probe that crashed, timed out or raised something unexpected) are listed under the table.
"""

from __future__ import annotations

import tabulate as _tabulate

from vlmcompat import known_issues
from vlmcompat.paths import CATALOGUE_DOC
from vlmcompat.report import columns, install_failed, results_by_key
from vlmcompat.results import CellResult, Mode, ProbeResult, Status

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
LEGEND = (
    "Each entry is *native → patched* (stock classes → with `import vlmcompat.patch`). "
    "✅ pass · ❌ fail with a known issue (linked) · 💥 unexpected error · ⏭ skipped (not applicable) · "
    "⏱ timeout · ☠ crash (the probe process died) · ⏸ interrupted · 🚫 the cell could not be installed · "
    "— not run. Install *reused*: results from the result cache; *offline*: the package index was unreachable."
)
STACK = ("transformers", "tokenizers", "peft", "torch")


def issue_link(issue_id: str) -> str:
    """A reference-style link (defined under the table) for catalogued ids; new ids stay plain."""
    return f"[{issue_id}]" if issue_id in known_issues.IDS else issue_id


def mark(result: ProbeResult | None) -> str:
    if result is None:
        return NOT_RUN
    text = MARKS[result.status]
    if result.status is Status.FAIL and result.issue:
        text += " " + issue_link(result.issue)
    elif result.status is Status.ERROR and result.error is not None:
        text += f" {result.error.type}"
    return text


def entry(cell: CellResult, probe: str, family: str) -> str:
    if install_failed(cell):
        return INSTALL_FAILED
    found = results_by_key(cell)
    native = found.get((probe, family, Mode.NATIVE.value))
    patched = found.get((probe, family, Mode.PATCHED.value))
    return f"{mark(native)} → {mark(patched)}"


def install_text(cell: CellResult) -> str:
    status = cell.install.status.value
    if install_failed(cell):
        return f"{INSTALL_FAILED} {status}"
    text = f"{status} {cell.install.seconds:.1f}s" if cell.install.seconds else status
    notes = [word for word, on in (("offline", cell.install.offline), ("reused", cell.cache and cell.cache.reused))
             if on]
    return " · ".join([text, *notes])


def problems(cells: list[CellResult]) -> list[str]:
    lines = []
    for cell in cells:
        if install_failed(cell):
            tail = [ln.strip() for ln in cell.install.log_tail.strip().splitlines() if ln.strip()]
            last = f": `{tail[-1]}`" if tail else ""
            lines.append(f"- **{cell.cell}**: {INSTALL_FAILED} install {cell.install.status.value}{last}")
        if cell.later_run:
            later = cell.later_run
            lines.append(f"- **{cell.cell}**: a later run did not finish ({later.get('reason') or later.get('state')}"
                         f", {later.get('results', 0)} of {later.get('tasks', 0)} results, `{later.get('file')}`); "
                         "the row shows the run before it")
        for r in cell.results:
            if r.status in (Status.ERROR, Status.TIMEOUT, Status.CRASH, Status.INTERRUPTED):
                why = r.reason or (f"{r.error.type}: {r.error.message.splitlines()[0]}" if r.error else "")
                lines.append(f"- **{cell.cell}** {r.probe} · {r.family} ({r.mode.value}): "
                             f"{MARKS[r.status]} {r.status.value}" + (f" — {why}" if why else ""))
    return lines


def seen_issues(cells: list[CellResult]) -> tuple[list[str], list[str]]:
    """The catalogue entries the matrix shows (list lines) and their link definitions."""
    ids = {r.issue for c in cells for r in c.results if r.issue}
    lines, links = [], []
    for issue in known_issues.all_issues():
        if issue.id in ids:
            lines.append(f"- {issue_link(issue.id)} — {issue.title}")
            # compat.md lives in reports/: link the catalogue page of this repository
            links.append(f"[{issue.id}]: ../{CATALOGUE_DOC.as_posix()}#{issue.id}")
    lines.extend(f"- {i} — not in the catalogue yet" for i in sorted(ids - set(known_issues.IDS)))
    return lines, links


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A github-format table padded by code points, whether or not wcwidth is installed
    (tabulate pads emoji by display width when it is), so the text is the same everywhere."""
    saved = _tabulate.WIDE_CHARS_MODE
    _tabulate.WIDE_CHARS_MODE = False
    try:
        return _tabulate.tabulate(rows, headers, tablefmt="github", disable_numparse=True)
    finally:
        _tabulate.WIDE_CHARS_MODE = saved


def render(cells: list[CellResult]) -> str:
    cols = columns(cells)
    headers = ["cell", *STACK, "install", *(f"{probe}<br>{family}" for probe, family in cols)]
    rows = []
    for cell in cells:
        versions = [cell.versions.get(pkg) or "" for pkg in STACK]
        rows.append([cell.cell, *versions, install_text(cell), *(entry(cell, p, f) for p, f in cols)])
    parts = ["# Compatibility matrix", "", LEGEND, "", table(rows, headers), ""]
    issues, links = seen_issues(cells)
    if issues:
        parts += ["## Known issues in this matrix", "", *issues, ""]
    trouble = problems(cells)
    if trouble:
        parts += ["## Not incompatibilities", "",
                  "Install failures, crashes, timeouts and unexpected errors: "
                  "what went wrong around the probes, not a verdict on the libraries.", "", *trouble, ""]
    if links:
        parts += [*links, ""]
    return "\n".join(parts)

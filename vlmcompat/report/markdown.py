"""``reports/compat.md``: a list of sections, each a pure function of a :class:`Document`.

The picture, the summary (one row per cell, one column per family), what changed against a
baseline, supported ranges per family, then the details (cells × probes per family, in
``<details>`` blocks), the known issues seen and what is *not* an incompatibility. A new section
is one function added to :data:`SECTIONS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vlmcompat import known_issues
from vlmcompat.report import changes, crosscheck, details, install_failed, ranges, summary
from vlmcompat.report.marks import INSTALL_FAILED, MARKS, RELATIVE_CATALOGUE, issue_link, link_definitions, seen_ids
from vlmcompat.results import CellResult, Status

TITLE = "# Compatibility matrix"
LEGEND = (
    "Each entry sums up a family's probes as *native → patched* (stock classes → with "
    "`import vlmcompat.patch`): ✅ every probe passes stock · ❌ 3 → ✅ three fail stock, all pass patched · "
    "❌ 2 → ❌ 1 one still fails patched · ⏭ nothing applies (e.g. the class does not exist) · "
    "🚫 the cell could not be installed · — not run; 💥 unexpected error · ⏱ timeout · ☠ crash. "
    "The ids under the counts link to the known-issue catalogue."
)
DETAILS_LEGEND = (
    "One entry per probe, *native → patched*: ✅ pass · ❌ fail with a known issue (linked) · "
    "💥 unexpected error · ⏭ skipped (the reason is in compat.json) · ⏱ timeout · ☠ crash · ⏸ interrupted · "
    "🚫 not installed · — not run. Install *reused*: results from the result cache; *offline*: the package "
    "index was unreachable."
)
PICTURE_HINT = ("*The picture of this table (`compat.svg`) is drawn when matplotlib is installed: "
                "`pip install 'vlmcompat[report]'`, then run `vlmcompat report` again.*")


@dataclass(frozen=True)
class Document:
    cells: list[CellResult]
    baseline: list[CellResult] | None = None
    baseline_label: str = "the baseline"
    picture: str | None = None  # the svg's path relative to the markdown, when one was drawn
    catalogue: str = RELATIVE_CATALOGUE
    crosscheck: list[CellResult] | None = None  # reader cells of the cross-release check


Section = Callable[[Document], list[str]]


def title(doc: Document) -> list[str]:
    return [TITLE, ""]


def picture(doc: Document) -> list[str]:
    if not doc.cells:
        return []
    if doc.picture:
        return [f"![Every result: cells × (family, probe), coloured by outcome]({doc.picture})", ""]
    return [PICTURE_HINT, ""]


def summary_section(doc: Document) -> list[str]:
    if not doc.cells:
        return ["No cell results yet: run `nox -s matrix`.", ""]
    return ["## Summary", "", LEGEND, "", summary.render(doc.cells), ""]


def changes_section(doc: Document) -> list[str]:
    text = changes.render(doc.cells, doc.baseline, doc.baseline_label)
    return ["## What changed", "", text] if text else []


def ranges_section(doc: Document) -> list[str]:
    text = ranges.render(doc.cells)
    return ["## Supported ranges", "", text] if text else []


def details_section(doc: Document) -> list[str]:
    if not doc.cells:
        return []
    return ["## Details", "", DETAILS_LEGEND, "", details.render(doc.cells)]


def crosscheck_section(doc: Document) -> list[str]:
    text = crosscheck.render(doc.crosscheck or [])
    return ["## Saved on one release, loaded on another", "", text] if text else []


def issue_note(issue: known_issues.KnownIssue) -> str:
    if not issue.affected:
        return "not a pin problem"
    return "; ".join(f"`{r.text}`" for r in issue.affected)


def issues_section(doc: Document) -> list[str]:
    ids = seen_ids(doc.cells) | seen_ids(doc.crosscheck or [])
    if not ids:
        return []
    lines = [f"- {issue_link(i.id)} — {i.title} ({issue_note(i)})" for i in known_issues.all_issues() if i.id in ids]
    lines += [f"- {i} — not in the catalogue yet" for i in sorted(ids - set(known_issues.IDS))]
    return ["## Known issues in this matrix", "", *lines, ""]


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


def problems_section(doc: Document) -> list[str]:
    trouble = problems(doc.cells)
    if not trouble:
        return []
    return ["## Not incompatibilities", "",
            "Install failures, crashes, timeouts and unexpected errors: "
            "what went wrong around the probes, not a verdict on the libraries.", "", *trouble, ""]


def links_section(doc: Document) -> list[str]:
    links = link_definitions(seen_ids(doc.cells) | seen_ids(doc.baseline or []) | seen_ids(doc.crosscheck or []),
                             doc.catalogue)
    return [*links, ""] if links else []


SECTIONS: tuple[Section, ...] = (title, picture, summary_section, changes_section, ranges_section, details_section,
                                 crosscheck_section, issues_section, problems_section, links_section)


def render_document(doc: Document, sections: tuple[Section, ...] = SECTIONS) -> str:
    lines: list[str] = []
    for section in sections:
        lines += section(doc)
    return "\n".join(lines).rstrip("\n") + "\n"


def render(cells: list[CellResult], baseline: list[CellResult] | None = None, *, picture: str | None = None,
           baseline_label: str = "the baseline", catalogue: str = RELATIVE_CATALOGUE,
           crosscheck: list[CellResult] | None = None) -> str:
    """compat.md for ``cells`` (and what changed against ``baseline``, when given; the writer × reader
    tables of ``crosscheck`` reader cells); issue ids link to ``catalogue`` (the catalogue page as seen
    from where compat.md is written)."""
    return render_document(Document(cells, baseline, baseline_label, picture, catalogue, crosscheck))

"""What changed against a baseline (the committed report), as the gate sees it
(:func:`vlmcompat.gate.compare`): new failures, fixes, cells added and removed."""

from __future__ import annotations

from vlmcompat import gate
from vlmcompat.report.marks import table
from vlmcompat.results import CellResult

LIMIT = 40  # rows per kind of change; the full list is `vlmcompat gate --json`
KINDS = (
    ("regressions", "new failures (regressions)"),
    ("unexpected_passes", "unexpected passes"),
    ("improvements", "fixes"),
    ("missing", "results no longer there"),
    ("changed", "other changes"),
)


def added_cells(baseline: list[CellResult], cells: list[CellResult]) -> list[str]:
    before = {c.cell for c in baseline}
    return [c.cell for c in cells if c.cell not in before]


def removed_cells(report: gate.GateReport) -> list[str]:
    return [c.cell for c in report.missing if not c.probe]


def rows(changes: list[gate.Change]) -> list[list[str]]:
    return [[c.cell, c.probe or "(cell)", c.family, c.mode, c.baseline, c.now] for c in changes]


def render(cells: list[CellResult], baseline: list[CellResult] | None, label: str = "the baseline") -> str:
    """The section body (without its heading); empty when there is no baseline."""
    if baseline is None:
        return ""
    report = gate.compare(baseline, cells)
    added, removed = added_cells(baseline, cells), removed_cells(report)
    counts = [f"{len(getattr(report, key))} {title}" for key, title in KINDS]
    lines = [f"Against {label}: " + " · ".join(counts) + f" · {len(added)} cells added · {len(removed)} removed.", ""]
    if added:
        lines += ["Cells added: " + ", ".join(f"`{c}`" for c in added), ""]
    if removed:
        lines += ["Cells removed: " + ", ".join(f"`{c}`" for c in removed), ""]
    for key, title in KINDS:
        changes = [c for c in getattr(report, key) if c.probe or key != "missing"]
        if not changes:
            continue
        lines += [f"**{title.capitalize()}**", "",
                  table(rows(changes[:LIMIT]), ["cell", "probe", "family", "mode", "before", "now"]), ""]
        if len(changes) > LIMIT:
            lines += [f"… and {len(changes) - LIMIT} more (`vlmcompat gate --json` lists them all).", ""]
    if report.notes:
        lines += [f"- note: {note}" for note in report.notes] + [""]
    return "\n".join(lines).rstrip() + "\n"

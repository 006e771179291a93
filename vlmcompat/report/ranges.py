"""Supported ranges per family, from the evidence (:mod:`vlmcompat.pins`): one table of
specifiers (stock and with ``import vlmcompat.patch``), then per family a ``<details>`` block with
the cell behind every bound, the gaps to bisect, where each version-dependent issue shows, and the
failures no version avoids ("not a pin problem", with their fix)."""

from __future__ import annotations

from vlmcompat import known_issues, pins
from vlmcompat.report import families
from vlmcompat.report.details import block
from vlmcompat.report.marks import issue_link, table
from vlmcompat.results import CellResult

NONE_PASSES = "no release passes"
MODES = ((False, "stock"), (True, "with `import vlmcompat.patch`"))


def specifier_text(result: pins.Pins) -> str:
    parts = [f"`{pkg}{r.specifier}`" for pkg, r in result.ranges.items() if r.specifier]
    return " ".join(parts) if parts else NONE_PASSES


def bound_lines(result: pins.Pins) -> list[str]:
    lines = []
    for pkg, rng in result.ranges.items():
        for bound in rng.bounds:
            lines.append(f"- {pkg} `{bound.specifier}`: {bound.evidence}" if bound.specifier
                         else f"- {pkg}, no upper bound: {bound.evidence}")
        for gap in rng.gaps:
            lines.append(f"- gap: {gap.text(result.families)}")
        for also in rng.also:
            lines.append(f"- {pkg} also passes on {also}, left out of the specifier (failing lines between)")
    return lines


def issue_rows(result: pins.Pins) -> list[list[str]]:
    rows = []
    for span in result.by_issue:
        catalogue = "; ".join(f"`{r.text}`" for r in known_issues.get(span.issue).affected)
        rows.append([issue_link(span.issue), ", ".join(span.spans), str(len(span.cells)), catalogue])
    return rows


def not_pin_lines(stock: pins.Pins, patched: pins.Pins) -> list[str]:
    lines = []
    for issue, cells in {**patched.not_a_pin_problem, **stock.not_a_pin_problem}.items():
        known = known_issues.get(issue)
        lines.append(f"- {issue_link(issue)} ({len(cells)} cells) — {known.title}. Fix: {known.fix}")
    return lines


def family_block(cells: list[CellResult], family: str) -> tuple[list[str], list[str]]:
    """(summary row, details block) for one family."""
    stock = pins.compute(cells, [family], patched=False)
    patched = pins.compute(cells, [family], patched=True)
    body: list[str] = []
    for result, (_, label) in zip((stock, patched), MODES):
        bounds = bound_lines(result)
        body += [f"**{label.capitalize()}**: {specifier_text(result)}", "", *([*bounds, ""] if bounds else [])]
    rows = issue_rows(stock)
    if rows:
        body += ["Where each version-dependent failure shows (stock; transformers release lines):", "",
                 table(rows, ["issue", "seen on", "cells", "catalogue range"]), ""]
    not_pin = not_pin_lines(stock, patched)
    if not_pin:
        body += ["Not a pin problem (no release avoids it):", "", *not_pin, ""]
    return [family, specifier_text(stock), specifier_text(patched)], block(f"<b>{family}</b>: the evidence",
                                                                           "\n".join(body).rstrip())


def render(cells: list[CellResult]) -> str:
    """The supported-ranges section body (without its heading); empty when there is no family."""
    fams = families(cells)
    if not fams:
        return ""
    rows, blocks = [], []
    for family in fams:
        row, details = family_block(cells, family)
        rows.append(row)
        blocks += details
    intro = ("Release lines where every probe of the family passes (failures no version avoids aside), "
             "from the cells that ran; each bound names the cells that show it. "
             "`vlmcompat pins --family F [--patched]` prints the same as requirement lines.")
    return "\n".join([intro, "", table(rows, ["family", MODES[0][1], MODES[1][1]]), "", *blocks]).rstrip() + "\n"

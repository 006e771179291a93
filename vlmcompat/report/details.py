"""Details below the summary, each in a ``<details>`` block: cells × probes per family (entries read
*native → patched*, as ``❌ [inputs-embeds-unexpected] → ✅``), the environment-level probes in their
own table, and the cells themselves (versions, install)."""

from __future__ import annotations

from collections import Counter

from vlmcompat.report import ENVIRONMENT_LABEL, Outcome, families, family_probes, install_failed, outcome, pair
from vlmcompat.report.marks import INSTALL_FAILED, entry, table
from vlmcompat.results import CellResult

STACK = ("transformers", "tokenizers", "peft", "torch", "python")


def block(summary: str, body: str) -> list[str]:
    """A collapsed ``<details>`` block; the blank lines let GitHub render the markdown inside."""
    return ["<details>", f"<summary>{summary}</summary>", "", body, "", "</details>", ""]


def tally(cells: list[CellResult], probes: list[str], family: str | None) -> str:
    """``12 cells × 9 probes: 40 stock pass · 50 fixed by the patch · 18 skipped``."""
    counted = Counter(outcome(cell, *pair(cell, probe, family)) for cell in cells for probe in probes)
    parts = [f"{counted[o]} {o.value}" for o in Outcome if counted[o]]
    return f"{len(cells)} cells × {len(probes)} probes: " + " · ".join(parts)


def probe_table(cells: list[CellResult], probes: list[str], family: str | None) -> str:
    headers = ["cell", *probes]
    rows = [[cell.cell, *(entry(cell, probe, family) for probe in probes)] for cell in cells]
    return table(rows, headers)


def family_section(cells: list[CellResult], family: str) -> list[str]:
    probes = family_probes(cells, family)
    return block(f"<b>{family}</b> — {tally(cells, probes, family)}", probe_table(cells, probes, family))


def environment_section(cells: list[CellResult]) -> list[str]:
    probes = family_probes(cells, None)
    if not probes:
        return []
    return block(f"<b>{ENVIRONMENT_LABEL}</b> (not one model family) — {tally(cells, probes, None)}",
                 probe_table(cells, probes, None))


def install_text(cell: CellResult) -> str:
    status = cell.install.status.value
    if install_failed(cell):
        return f"{INSTALL_FAILED} {status}"
    text = f"{status} {cell.install.seconds:.1f}s" if cell.install.seconds else status
    notes = [word for word, on in (("offline", cell.install.offline), ("reused", cell.cache and cell.cache.reused))
             if on]
    return " · ".join([text, *notes])


def cells_section(cells: list[CellResult]) -> list[str]:
    if not cells:
        return []
    rows = [[cell.cell, *(cell.versions.get(pkg) or "" for pkg in STACK), install_text(cell)] for cell in cells]
    return block(f"<b>cells</b> — {len(cells)} environments: versions and install",
                 table(rows, ["cell", *STACK, "install"]))


def render(cells: list[CellResult]) -> str:
    """Every family's block, then the environment's, then the cells'."""
    lines: list[str] = []
    for family in families(cells):
        lines += family_section(cells, family)
    lines += environment_section(cells)
    lines += cells_section(cells)
    return "\n".join(lines)

"""The summary table: one row per cell (its versions), one column per family plus the environment
(with more than eight families, two or more tables of even size, each with every cell).

An entry sums up a family's probes as *native → patched*: ``✅`` (everything passes stock),
``❌ 3 → ✅`` (three probes fail stock, all pass with ``import vlmcompat.patch``), ``❌ 2 → ❌ 1``,
``⏭`` (nothing applies: the class does not exist here), ``🚫`` (the cell was not installed),
``—`` (not run). Unexpected errors, timeouts and crashes count with their own marks (``💥 1``).
Under the counts, the known-issue ids behind the failures, linked to the catalogue; under each
cell's name, its transformers · tokenizers · peft versions. A family probed on a user's checkpoint
(``probe --model``) names it under the family; the user's own command (probe ``run``) has its own
column beside the environment.
"""

from __future__ import annotations

from vlmcompat.report import BAD, ENVIRONMENT_LABEL, families, family_probes, install_failed, pair
from vlmcompat.report.marks import (
    ARROW,
    INSTALL_FAILED,
    MARKS,
    NOT_RUN,
    issue_link,
    table,
    versions_header,
    versions_text,
)
from vlmcompat.results import CellResult, Mode, ProbeResult, Status

RUN_PROBE = "run"  # the user's command (vlmcompat.usercommand)
RUN_COLUMN = "\0run"  # the column of the run probe (never a family name)
RUN_LABEL = "your command"
ALL_PASS = MARKS[Status.PASS]
NOT_APPLICABLE = MARKS[Status.SKIP]
MAX_FAMILIES = 8  # family columns a summary table holds before it is split (14 families: two tables of 7)


def counts(results: list[ProbeResult]) -> str:
    """``❌ 2 💥 1`` for the results that did not pass; ``✅`` when none failed."""
    parts = [f"{MARKS[status]} {n}" for status in BAD if (n := sum(r.status is status for r in results))]
    return " ".join(parts) or ALL_PASS


def issue_ids(results: list[ProbeResult]) -> list[str]:
    ids: list[str] = []
    for result in results:
        if result.status in BAD and result.issue and result.issue not in ids:
            ids.append(result.issue)
    return ids


def family_entry(cell: CellResult, family: str | None) -> str:
    """The entry of one family (``None``: the environment-level probes) in one cell."""
    if install_failed(cell):
        return INSTALL_FAILED
    if family == RUN_COLUMN:
        probes, family = [RUN_PROBE], None
    else:
        probes = [p for p in family_probes([cell], family) if family is not None or p != RUN_PROBE]
    mine = [r for probe in probes for r in pair(cell, probe, family) if r is not None]
    if not mine:
        return NOT_RUN
    native = [r for r in mine if r.mode is Mode.NATIVE]
    patched = [r for r in mine if r.mode is Mode.PATCHED]
    ids = issue_ids(native + patched)
    if not any(r.status is Status.PASS for r in mine) and not any(r.status in BAD for r in patched):
        text = NOT_APPLICABLE
    elif not any(r.status in BAD for r in mine):
        text = ALL_PASS
    elif patched:
        text = counts(native) + ARROW + counts(patched)
    else:
        text = counts(native)
    if ids:
        text += "<br><sub>" + ", ".join(issue_link(i) for i in ids) + "</sub>"
    return text


def cell_text(cell: CellResult) -> str:
    """The cell's name, its versions under it (transformers · tokenizers · peft)."""
    return f"{cell.cell}<br><sub>{versions_text(cell)}</sub>"


def columns(cells: list[CellResult]) -> list[tuple[str, str | None]]:
    """(header, family) per column: each model family, then the environment-level probes (if any)."""
    return [*family_columns(cells), *environment_columns(cells)]


def family_columns(cells: list[CellResult]) -> list[tuple[str, str | None]]:
    return [(family_header(cells, family), family) for family in families(cells)]


def environment_columns(cells: list[CellResult]) -> list[tuple[str, str | None]]:
    """The environment-level probes' column and the user's command's, where they ran."""
    cols: list[tuple[str, str | None]] = []
    environment = family_probes(cells, None)
    if [p for p in environment if p != RUN_PROBE]:
        cols.append((ENVIRONMENT_LABEL, None))
    if RUN_PROBE in environment:
        cols.append((RUN_LABEL, RUN_COLUMN))
    return cols


def column_groups(cells: list[CellResult]) -> list[list[tuple[str, str | None]]]:
    """The columns of each table: at most :data:`MAX_FAMILIES` families a table, in even groups (14 -> 7 + 7),
    the environment and the user's command beside the first group."""
    fams = family_columns(cells)
    count = max(1, -(-len(fams) // MAX_FAMILIES))
    size = -(-len(fams) // count) if fams else 0
    groups = [fams[i:i + size] for i in range(0, len(fams), size)] if fams else [[]]
    groups[0] = [*groups[0], *environment_columns(cells)]
    return [g for g in groups if g]


def family_header(cells: list[CellResult], family: str) -> str:
    """The family, with the user's checkpoints its probes ran on under it."""
    models = sorted({r.model for cell in cells for r in cell.results if r.family == family and r.model})
    return f"{family}<br><sub>{', '.join(models)}</sub>" if models else family


def render(cells: list[CellResult]) -> str:
    """The summary (markdown): one table, or several side by side in the text when there are more
    families than a readable table holds; an empty string when there are no cells."""
    if not cells:
        return ""
    tables = []
    for cols in column_groups(cells):
        headers = [f"cell<br><sub>{versions_header()}</sub>", *(header for header, _ in cols)]
        rows = [[cell_text(cell), *(family_entry(cell, family) for _, family in cols)] for cell in cells]
        tables.append(table(rows, headers))
    return "\n\n".join(tables)

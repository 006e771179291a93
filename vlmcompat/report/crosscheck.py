"""The writer × reader tables of the cross-release check: one per family and artifact kind (none where every
check was skipped), a row per
writer cell, a column per reader cell, each entry *native → patched* as in the summary
(``❌ [adapter-keys-newer-layout] → ✅``). Pure: reader cells in (``reports/crosscheck/*.json``),
markdown out."""

from __future__ import annotations

from packaging.version import InvalidVersion, Version

from vlmcompat.report.marks import ARROW, NOT_RUN, mark, table
from vlmcompat.results import CellResult, Mode, ProbeResult, Status

PREFIX = "crosscheck-"
LEGEND = (
    "Artifacts saved in the row's cell, loaded in the column's cell (`vlmcompat crosscheck`): the adapter "
    "must reproduce the writer's logits (and not the base model's), the checkpoint must load without missing "
    "or unexpected keys and reproduce the writer's logits, the processor must make the same inputs. "
    "*native → patched*; the diagonal is each release reading its own files."
)


def _index(readers: list[CellResult]) -> dict[tuple[str, str, str, str, str], ProbeResult]:
    return {(c.cell, r.writer or "", r.probe, r.family, r.mode.value): r
            for c in readers for r in c.results if r.probe.startswith(PREFIX)}


def _writers(readers: list[CellResult], index, probe: str, family: str) -> list[str]:
    """The writers of one table: in reader order first (the matrix order), then any other by name."""
    found = {key[1] for key in index if key[2] == probe and key[3] == family}
    names = [c.cell for c in readers]
    return [n for n in names if n in found] + sorted(found - set(names))


def render_table(readers: list[CellResult], probe: str, family: str, index=None) -> str:
    index = index if index is not None else _index(readers)
    rows = []
    for writer in _writers(readers, index, probe, family):
        row = [f"**{writer}**"]
        for reader in readers:
            native = index.get((reader.cell, writer, probe, family, Mode.NATIVE.value))
            patched = index.get((reader.cell, writer, probe, family, Mode.PATCHED.value))
            row.append(NOT_RUN if native is None and patched is None else f"{mark(native)}{ARROW}{mark(patched)}")
        rows.append(row)
    return table(rows, ["writer ↓ · reader →", *(c.cell for c in readers)])


def _release(cell: CellResult) -> tuple:
    try:
        return (0, Version(cell.versions.get("transformers") or ""), cell.cell)
    except InvalidVersion:
        return (1, Version("0"), cell.cell)


def render(readers: list[CellResult]) -> str:
    """Every family × kind table (readers, and so writers, oldest transformers first), or "" when no cell has
    cross-release results."""
    index = _index(readers)
    if not index:
        return ""
    readers = sorted((c for c in readers if any(key[0] == c.cell for key in index)), key=_release)
    parts = [LEGEND, ""]
    for family in sorted({key[3] for key in index}):
        for probe in sorted({key[2] for key in index if key[3] == family}):
            if all(r.status is Status.SKIP for key, r in index.items() if key[2] == probe and key[3] == family):
                continue  # nothing was checked (e.g. no processor check for the family): no table
            parts += [f"### {family} · {probe.removeprefix(PREFIX)}", "", render_table(readers, probe, family, index),
                      ""]
    return "\n".join(parts)

"""``reports/compat.json``: the merged, schema-versioned results (see :func:`vlmcompat.results.merge`)."""

from __future__ import annotations

import json

from vlmcompat.results import CellResult, merge


def render(cells: list[CellResult], generated: str | None = None) -> str:
    return json.dumps(merge(cells, generated=generated), indent=2, ensure_ascii=False) + "\n"

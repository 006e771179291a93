"""``reports/compat.svg``: every result at a glance — a heatmap of cells × (family, probe), coloured
by outcome (stock pass / fixed by the patch / still failing / skipped / not installed / not run).

Drawn with matplotlib (the ``[report]`` extra; :func:`available` says whether it is installed) on
a standalone ``Figure`` (no pyplot state). The bytes are deterministic: a fixed hash salt, no date,
a fixed creator, so the same results give the same file. Each square is its own element whose id
names it (``result:<cell>:<family>:<probe>:<OUTCOME>``), so tests can check that nothing is dropped.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import io
import json
import logging
import re
from collections.abc import Iterator

from vlmcompat.report import ENVIRONMENT_LABEL, Outcome, families, family_probes, outcome, pair
from vlmcompat.results import CellResult

COLOURS = {  # Okabe-Ito, readable with the common colour-vision deficiencies
    Outcome.PASS: "#009E73",
    Outcome.FIXED: "#56B4E9",
    Outcome.FAILING: "#D55E00",
    Outcome.SKIP: "#E3E3E3",
    Outcome.NOT_INSTALLED: "#6E6E6E",
    Outcome.NOT_RUN: "#FFFFFF",
}
SQUARE = 0.17  # inches
CHAR = 0.062  # inches per character of a 7-point label
BOLD = 0.068  # the same, bold
FONT = 7
RC = {"svg.hashsalt": "vlmcompat", "svg.fonttype": "path", "font.size": FONT, "font.family": "DejaVu Sans"}
METADATA = {"Date": None, "Creator": "vlmcompat report"}
INSTALL_HINT = "pip install 'vlmcompat[report]'"


def available() -> bool:
    """True when matplotlib can be imported (the picture needs it; the markdown does not)."""
    return importlib.util.find_spec("matplotlib") is not None


@contextlib.contextmanager
def quiet_matplotlib() -> Iterator[None]:
    """matplotlib logs font lookups at DEBUG; a host that logs DEBUG (nox does) would print them all."""
    logger = logging.getLogger("matplotlib")
    saved = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(saved)


def grid(cells: list[CellResult]) -> tuple[list[tuple[str, str, str | None]], list[list[Outcome]]]:
    """Columns as (group label, probe, family or None for the environment) and one row of outcomes per cell."""
    cols: list[tuple[str, str, str | None]] = [(family, probe, family) for family in families(cells)
                                               for probe in family_probes(cells, family)]
    cols += [(ENVIRONMENT_LABEL, probe, None) for probe in family_probes(cells, None)]
    rows = [[outcome(cell, *pair(cell, probe, rec)) for _, probe, rec in cols] for cell in cells]
    return cols, rows


def element_id(cell: str, group: str, probe: str, result: Outcome) -> str:
    return re.sub(r"[^A-Za-z0-9._:-]", "_", f"result:{cell}:{group}:{probe}:{result.name}")


def fingerprint(cells: list[CellResult]) -> str:
    """A hash of everything the picture shows (cell names, columns, outcomes): equal fingerprints, equal pictures."""
    cols, rows = grid(cells)
    shown = [[c.cell for c in cells], cols, [[o.name for o in row] for row in rows]]
    return hashlib.sha256(json.dumps(shown).encode()).hexdigest()[:16]


def stamp(cells: list[CellResult]) -> str:
    """The comment a picture of these cells carries (see :func:`is_current`)."""
    return f"<!-- vlmcompat grid {fingerprint(cells)} -->"


def is_current(svg_text: str, cells: list[CellResult]) -> bool:
    """Whether an existing picture already shows exactly these outcomes (drawing costs seconds)."""
    return stamp(cells) in svg_text


def render(cells: list[CellResult]) -> str:
    """The svg text, stamped with its fingerprint; raises ImportError (naming the extra) when matplotlib is missing."""
    if not available():
        raise ImportError(f"the picture needs matplotlib: {INSTALL_HINT}")
    with quiet_matplotlib():
        text = _draw(cells)
    head, sep, body = text.partition("?>")  # after the XML declaration, where a comment may go
    return f"{head}{sep}\n{stamp(cells)}{body}" if sep else f"{stamp(cells)}\n{text}"


def _draw(cells: list[CellResult]) -> str:
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch, Rectangle

    cols, rows = grid(cells)
    groups = list(dict.fromkeys(group for group, _, _ in cols))
    # each family gets at least the width of its label; its columns share it (units: squares)
    spans = {g: max(sum(c[0] == g for c in cols), BOLD * len(g) / SQUARE + 0.6) for g in groups}
    xs, at = [], 0.0
    for group in groups:
        count = sum(c[0] == group for c in cols)
        xs += [at + i * spans[group] / count for i in range(count)]
        at += spans[group]
    widths = {g: spans[g] / sum(c[0] == g for c in cols) for g in groups}
    ncols, nrows = max(at, 1.0), max(len(rows), 1)
    left = 0.2 + CHAR * max([len(c.cell) for c in cells] + [4])
    top = 0.25 + CHAR * max([len(probe) for _, probe, _ in cols] + [4])
    bottom = 0.9
    width, height = left + ncols * SQUARE + 0.3, top + nrows * SQUARE + bottom
    with matplotlib.rc_context(RC):
        fig = Figure(figsize=(width, height))
        ax = fig.add_axes((left / width, bottom / height, ncols * SQUARE / width, nrows * SQUARE / height))
        for y, (cell, row) in enumerate(zip(cells, rows)):
            for x, (group, probe, _), result in zip(xs, cols, row):
                ax.add_patch(Rectangle((x, y), widths[group], 1, facecolor=COLOURS[result], edgecolor="white",
                                       linewidth=0.6, gid=element_id(cell.cell, group, probe, result)))
        ax.set_xlim(0, ncols)
        ax.set_ylim(nrows, 0)
        ax.set_xticks([x + widths[g] / 2 for x, (g, _, _) in zip(xs, cols)], [probe for _, probe, _ in cols],
                      rotation=90)
        ax.set_yticks([y + 0.5 for y in range(len(cells))], [c.cell for c in cells])
        ax.xaxis.tick_top()
        ax.tick_params(length=0, pad=2)
        for spine in ax.spines.values():
            spine.set_visible(False)
        start = 0.0
        for group in groups:
            if start:
                ax.axvline(start, color="black", linewidth=1.2)
            ax.text(start + spans[group] / 2, nrows + 0.4, group, ha="center", va="top", fontweight="bold")
            start += spans[group]
        present = [o for o in Outcome if any(o in row for row in rows)]
        fig.legend(handles=[Patch(facecolor=COLOURS[o], edgecolor="#999999", label=o.value) for o in present],
                   loc="lower left", ncol=min(len(present), 3) or 1, frameon=False,
                   bbox_to_anchor=(0.2 / width, 0.02))
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata=METADATA)
    return buffer.getvalue()

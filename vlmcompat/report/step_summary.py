"""The GitHub Actions job summary: the summary table and what changed, under GitHub's 1 MiB limit
for a step summary; the full report (compat.md, compat.svg, compat.json) goes up as an artifact.
Links point at the catalogue's page on the web, since a job summary has no repository around it."""

from __future__ import annotations

from vlmcompat import known_issues
from vlmcompat.report import changes, summary
from vlmcompat.report.markdown import LEGEND
from vlmcompat.report.marks import link_definitions, seen_ids
from vlmcompat.results import CellResult

LIMIT = 1024 * 1024  # bytes GitHub accepts per step summary
ARTIFACT_NOTE = ("The full report (details per family, supported ranges, the picture) is in the `compat-report` "
                 "artifact.")
CUT = "\n\n… cut here: a step summary holds at most 1 MiB; the full report is in the `compat-report` artifact.\n"


def render(cells: list[CellResult], baseline: list[CellResult] | None = None, baseline_label: str = "the baseline",
           limit: int = LIMIT, catalogue: str | None = None) -> str:
    """The job summary; issue ids link to ``catalogue`` (a URL: the summary is read on GitHub)."""
    lines = ["## vlmcompat: compatibility matrix", "", f"{len(cells)} cells. {ARTIFACT_NOTE}", ""]
    if cells:
        lines += [LEGEND, "", summary.render(cells), ""]
    text = changes.render(cells, baseline, baseline_label)
    if text:
        lines += ["### What changed", "", text]
    lines += link_definitions(seen_ids(cells) | seen_ids(baseline or []),
                              catalogue or known_issues.catalogue_location())
    out = "\n".join(lines).rstrip("\n") + "\n"
    if len(out.encode("utf-8")) <= limit:
        return out
    room = limit - len(CUT.encode("utf-8"))
    return out.encode("utf-8")[:room].decode("utf-8", errors="ignore").rsplit("\n", 1)[0] + CUT

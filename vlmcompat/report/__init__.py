"""Report renderers: pure functions of ``list[CellResult]`` (plus an optional baseline) -> str.

One module per output:

- :mod:`~vlmcompat.report.markdown` — ``reports/compat.md``: the document, a list of sections;
- :mod:`~vlmcompat.report.summary` — its first table: one row per cell, one column per family;
- :mod:`~vlmcompat.report.details` — cells × probes per family, and the environment-level probes;
- :mod:`~vlmcompat.report.ranges` — supported ranges per family (computed by :mod:`vlmcompat.pins`);
- :mod:`~vlmcompat.report.changes` — what changed against a baseline (:func:`vlmcompat.gate.compare`);
- :mod:`~vlmcompat.report.step_summary` — the GitHub Actions job summary (summary + changes);
- :mod:`~vlmcompat.report.svg` — ``reports/compat.svg``, a heatmap (needs matplotlib: ``[report]``);
- :mod:`~vlmcompat.report.jsonfmt` — ``reports/compat.json``, the merged results CI reads;
- :mod:`~vlmcompat.report.junit` — JUnit XML, one testcase per probe × family × mode.

This module holds what they share: which results are about the environment, the families and
probes in first-seen order, and the outcome of one native/patched pair. No renderer imports
torch or touches the file system; ``vlmcompat report`` does the I/O.
"""

from __future__ import annotations

import enum

from vlmcompat.results import ENVIRONMENT, CellResult, InstallStatus, Mode, ProbeResult, Status

__all__ = ["Outcome", "columns", "families", "family_probes", "install_failed", "is_environment", "outcome",
           "pair"]

INSTALLED = (InstallStatus.OK, InstallStatus.EXISTING)
BAD = (Status.FAIL, Status.ERROR, Status.TIMEOUT, Status.CRASH)
# Families that older reports recorded for environment-level probes (peft-import, tokenizer-format).
LEGACY_ENVIRONMENT_FAMILIES = ("peft", "tokenizers", "-")
ENVIRONMENT_LABEL = "environment"


def is_environment(result: ProbeResult) -> bool:
    """True for a result about the environment (peft import, tokenizer format), not one model family."""
    return result.family == ENVIRONMENT or result.family in LEGACY_ENVIRONMENT_FAMILIES


def install_failed(cell: CellResult) -> bool:
    return cell.install.status not in INSTALLED


def columns(cells: list[CellResult]) -> list[tuple[str, str]]:
    """(probe, family) pairs in first-seen order: probes in run order, then families."""
    probes: list[str] = []
    seen: dict[str, list[str]] = {}
    for cell in cells:
        for result in cell.results:
            if result.probe not in seen:
                probes.append(result.probe)
                seen[result.probe] = []
            if result.family not in seen[result.probe]:
                seen[result.probe].append(result.family)
    return [(probe, family) for probe in probes for family in seen[probe]]


def families(cells: list[CellResult]) -> list[str]:
    """Model families in first-seen order (environment-level results excluded)."""
    found: list[str] = []
    for cell in cells:
        for result in cell.results:
            if not is_environment(result) and result.family not in found:
                found.append(result.family)
    return found


def _mine(result: ProbeResult, family: str | None) -> bool:
    return is_environment(result) if family is None else (result.family == family and not is_environment(result))


def family_probes(cells: list[CellResult], family: str | None) -> list[str]:
    """The probes of one family in first-seen order; ``family=None``: the environment-level probes."""
    found: list[str] = []
    for cell in cells:
        for result in cell.results:
            if _mine(result, family) and result.probe not in found:
                found.append(result.probe)
    return found


def pair(cell: CellResult, probe: str, family: str | None) -> tuple[ProbeResult | None, ProbeResult | None]:
    """The (native, patched) results of one probe × family in a cell (``family=None``: the environment)."""
    found: dict[Mode, ProbeResult] = {}
    for result in cell.results:
        if result.probe == probe and _mine(result, family):
            found.setdefault(result.mode, result)
    return found.get(Mode.NATIVE), found.get(Mode.PATCHED)


class Outcome(str, enum.Enum):
    """What one probe × family says in one cell, native and patched together (the picture's colours)."""

    PASS = "stock pass"
    FIXED = "fixed by the patch"
    FAILING = "still failing"
    SKIP = "skipped"
    NOT_INSTALLED = "not installed"
    NOT_RUN = "not run"

    def __str__(self) -> str:
        return self.value


def outcome(cell: CellResult, native: ProbeResult | None, patched: ProbeResult | None) -> Outcome:
    if install_failed(cell):
        return Outcome.NOT_INSTALLED
    if native is None and patched is None:
        return Outcome.NOT_RUN
    final = patched if patched is not None else native
    if final.status is Status.INTERRUPTED:
        return Outcome.NOT_RUN  # stopped by SIGINT/SIGTERM: no verdict
    if final.status in BAD:
        return Outcome.FAILING
    if native is not None and native.status is Status.PASS:
        return Outcome.PASS
    if final.status is Status.PASS:
        return Outcome.FIXED if patched is not None else Outcome.PASS
    return Outcome.SKIP

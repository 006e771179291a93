"""Report renderers: pure functions ``render(cells: list[CellResult]) -> str``, one per format.

- :mod:`~vlmcompat.report.markdown` — ``reports/compat.md``, the table people read;
- :mod:`~vlmcompat.report.jsonfmt` — ``reports/compat.json``, the merged results CI reads;
- :mod:`~vlmcompat.report.junit` — JUnit XML, one testcase per probe × family × mode.

No renderer imports torch or touches the file system; ``vlmcompat report`` does the I/O.
"""

from __future__ import annotations

from vlmcompat.results import CellResult, InstallStatus, ProbeResult

__all__ = ["columns", "install_failed"]

INSTALLED = (InstallStatus.OK, InstallStatus.EXISTING)


def install_failed(cell: CellResult) -> bool:
    return cell.install.status not in INSTALLED


def columns(cells: list[CellResult]) -> list[tuple[str, str]]:
    """(probe, family) pairs in first-seen order: probes in run order, then families."""
    probes: list[str] = []
    families: dict[str, list[str]] = {}
    for cell in cells:
        for result in cell.results:
            if result.probe not in families:
                probes.append(result.probe)
                families[result.probe] = []
            if result.family not in families[result.probe]:
                families[result.probe].append(result.family)
    return [(probe, family) for probe in probes for family in families[probe]]


def results_by_key(cell: CellResult) -> dict[tuple[str, str, str], ProbeResult]:
    return {r.key: r for r in cell.results}

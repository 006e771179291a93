"""JUnit XML for CI dashboards: one testsuite per cell, one testcase per probe × family × mode.

``fail`` (a known incompatibility) → ``<failure type="<issue id>">``; ``error``, ``timeout`` and
``crash`` → ``<error type="<status>">``; ``skip`` → ``<skipped>``. A cell whose install failed
has a single ``install`` testcase with an ``<error type="install-<status>">`` carrying the log tail.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from vlmcompat.report import install_failed
from vlmcompat.results import CellResult, ProbeResult, Status


def _testcase(suite: ET.Element, cell: str, result: ProbeResult) -> None:
    case = ET.SubElement(suite, "testcase", classname=f"{cell}.{result.probe}",
                         name=f"{result.family}[{result.mode.value}]", time=f"{result.seconds:.3f}")
    detail = result.error.message if result.error else (result.reason or "")
    if result.status is Status.FAIL:
        child = ET.SubElement(case, "failure", type=result.issue or "fail",
                              message=result.reason or result.issue or "check failed")
        child.text = detail
    elif result.status in (Status.ERROR, Status.TIMEOUT, Status.CRASH):
        kind = result.error.type if result.status is Status.ERROR and result.error else result.status.value
        child = ET.SubElement(case, "error", type=kind, message=(result.reason or detail)[:500])
        child.text = detail
    elif result.status is Status.SKIP:
        ET.SubElement(case, "skipped", message=result.reason or "not applicable")
    elif result.status is Status.INTERRUPTED:
        ET.SubElement(case, "skipped", message=result.reason or "interrupted")


def _suite(root: ET.Element, cell: CellResult) -> None:
    suite = ET.SubElement(root, "testsuite", name=cell.cell)
    if install_failed(cell):
        case = ET.SubElement(suite, "testcase", classname=f"{cell.cell}.install", name="install",
                             time=f"{cell.install.seconds:.3f}")
        child = ET.SubElement(case, "error", type=f"install-{cell.install.status.value}",
                              message=f"the cell could not be installed ({cell.install.status.value})")
        child.text = cell.install.log_tail
        counts = {"tests": 1, "failures": 0, "errors": 1, "skipped": 0}
    else:
        for result in cell.results:
            _testcase(suite, cell.cell, result)
        statuses = [r.status for r in cell.results]
        counts = {
            "tests": len(statuses),
            "failures": statuses.count(Status.FAIL),
            "errors": sum(statuses.count(s) for s in (Status.ERROR, Status.TIMEOUT, Status.CRASH)),
            "skipped": statuses.count(Status.SKIP),
        }
    for key, value in counts.items():
        suite.set(key, str(value))
    suite.set("time", f"{sum(r.seconds for r in cell.results):.3f}")


def render(cells: list[CellResult]) -> str:
    root = ET.Element("testsuites", name="vlmcompat")
    for cell in cells:
        _suite(root, cell)
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(sum(int(s.get(key, "0")) for s in root)))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"

"""The committed reports and the catalogue tell the same story.

Every native diagnosis in a committed report names a catalogued issue whose affected ranges hold
for that cell's installed versions (so a range that is too narrow, or a result the catalogue
cannot explain, fails here; an issue with no range is one no release avoids), and every patched
result passes, skips with a reason, or fails with a catalogued issue that vlmcompat's patches do not fix
in those versions (a documented limit: no ``fixed_by``, e.g. ``vision2seq-unmapped``, or an affected
entry measured ``unfixed``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vlmcompat import known_issues
from vlmcompat.results import Mode, Status, load_results

ROOT = Path(__file__).resolve().parents[2]
REPORTS = sorted((ROOT / "reports").rglob("compat.json"))


def test_there_are_committed_reports():
    assert {ROOT / "reports" / name / "compat.json" for name in ("", "sweep", "sweep-all")} <= set(REPORTS)


@pytest.mark.parametrize("report", REPORTS, ids=lambda p: str(p.relative_to(ROOT).parent))
def test_native_diagnoses_fall_in_the_catalogued_ranges(report):
    outside = []
    for cell in load_results(report):
        for result in cell.results:
            if result.mode is not Mode.NATIVE or not result.issue:
                continue
            assert result.issue in known_issues.ids(), f"{cell.cell}: {result.issue!r} is not catalogued"
            issue = known_issues.get(result.issue)
            if issue.affected and not issue.possible(cell.versions):
                outside.append(f"{cell.cell} {result.probe}/{result.family}: {result.issue} "
                               f"(catalogued for {[a.text for a in issue.affected]})")
    assert outside == []


@pytest.mark.parametrize("report", REPORTS, ids=lambda p: str(p.relative_to(ROOT).parent))
def test_patched_results_pass_skip_with_a_reason_or_fail_with_an_unfixable_id(report):
    left = []
    for cell in load_results(report):
        for result in cell.results:
            if result.mode is not Mode.PATCHED or result.status is Status.PASS:
                continue
            if result.status is Status.SKIP and result.reason:
                continue
            if result.status is Status.FAIL and result.issue in known_issues.ids() \
                    and known_issues.get(result.issue).unfixed_in(cell.versions):
                continue  # a known limit: the report shows it as still failing, with its id
            if result.probe == "run" and result.status is Status.FAIL and result.issue in known_issues.ids() \
                    and known_issues.get(result.issue).fallback_only:
                continue  # the user's own code imports the library the patches only route around (peft-import)
            left.append(f"{cell.cell} {result.probe}/{result.family}: {result.status.value} {result.issue or ''}")
    assert left == []

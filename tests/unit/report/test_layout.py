"""compat.md as people read it: summary first, details per family, nothing dropped, rendered by a
GitHub-flavoured renderer; checked on small fixtures (exact text) and on the committed reports."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from report_tables import renderer, tables

from vlmcompat.report import ENVIRONMENT_LABEL, families, is_environment, markdown, step_summary, summary
from vlmcompat.report.marks import entry
from vlmcompat.results import ENVIRONMENT, Mode, ProbeResult, Status, load_merged
from vlmcompat.results import load_results as load_cells

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "report"
COMMITTED = [ROOT / "reports" / "compat.json", ROOT / "reports" / "sweep" / "compat.json"]


@pytest.fixture
def cells():
    return load_cells(FIXTURES / "cells")


@pytest.fixture
def baseline():
    return load_merged(FIXTURES / "baseline.json")


def test_compat_md_exact_text(cells, baseline):
    text = markdown.render(cells, baseline, picture="compat.svg", baseline_label="baseline.json")
    assert text == (FIXTURES / "expected" / "compat.md").read_text(encoding="utf-8")


def test_step_summary_exact_text(cells, baseline):
    assert step_summary.render(cells, baseline, "baseline.json") == \
        (FIXTURES / "expected" / "step_summary.md").read_text(encoding="utf-8")


def test_step_summary_stays_under_the_limit(cells, baseline):
    text = step_summary.render(cells, baseline, "baseline.json", limit=2000)
    assert len(text.encode("utf-8")) <= 2000
    assert text.endswith("the full report is in the `compat-report` artifact.\n")
    assert text.startswith("## vlmcompat: compatibility matrix")


@pytest.mark.parametrize("family, expected", [
    ("instructblip-t5", ["❌ 2 → ✅<br><sub>[image-token-expansion], [nan-loss-all-masked]</sub>",
                         "❌ 1 → ✅<br><sub>[model-class-missing]</sub>",
                         "❌ 5 → ✅<br><sub>[inputs-embeds-unexpected], [image-token-expansion]</sub>"]),
    ("llava", ["❌ 2 → ✅<br><sub>[image-token-expansion], [nan-loss-all-masked]</sub>",
               "⏭<br><sub>[model-class-missing]</sub>",
               "❌ 3 → ✅<br><sub>[image-token-expansion], [nan-loss-all-masked], "
               "[reentrant-checkpoint-no-grad]</sub>"]),
    (None, ["✅", "❌ 1 → ✅<br><sub>[tokenizer-format]</sub>", "❌ 1 → ✅<br><sub>[tokenizer-format]</sub>"]),
])
def test_summary_entries_count_failing_probes_native_then_patched(cells, family, expected):
    assert [summary.family_entry(cell, family) for cell in cells[:3]] == expected


def test_summary_entries_show_unknown_failures_and_patched_failures(cells):
    newest = cells[0]
    result = newest.find("trainer", "instructblip-t5", Mode.PATCHED)
    result.status, result.issue = Status.CRASH, None
    newest.find("generate", "instructblip-t5", Mode.NATIVE).status = Status.TIMEOUT
    assert summary.family_entry(newest, "instructblip-t5") == \
        "❌ 2 ⏱ 1 → ☠ 1<br><sub>[image-token-expansion], [nan-loss-all-masked]</sub>"


def test_environment_results_are_recognised_in_both_spellings():
    made = [ProbeResult("peft-import", family, Mode.NATIVE, Status.PASS)
            for family in (ENVIRONMENT, "peft", "tokenizers", "-")]
    assert all(is_environment(r) for r in made)
    assert not is_environment(ProbeResult("peft-import", "llava", Mode.NATIVE, Status.PASS))


def test_environment_probes_get_one_column_whatever_their_recorded_family(cells):
    assert summary.columns(cells)[-1] == (ENVIRONMENT_LABEL, None)
    env = [t for t in tables(markdown.render(cells)) if t.heading.startswith(f"<b>{ENVIRONMENT_LABEL}</b>")]
    assert env[0].headers == ["cell", "peft-import", "tokenizer-format"]  # "*" and legacy "peft" merged


def test_rendered_document_resolves_every_link_and_balances_details(cells, baseline):
    text = markdown.render(cells, baseline, picture="compat.svg")
    html = renderer().render(text)
    assert html.count("<details>") == html.count("</details>") == text.count("<details>")
    assert '<img src="compat.svg"' in html
    visible = re.sub(r"<code>.*?</code>", "", html)
    assert not re.findall(r"\[[a-z0-9-]+\]", visible), "an issue id was left as an unresolved link"
    assert 'href="../docs/known-issues.md#inputs-embeds-unexpected"' in html


@pytest.mark.parametrize("path", COMMITTED, ids=["default", "sweep"])
def test_committed_report_opens_with_a_narrow_summary(path):
    cells = load_merged(path)
    text = (path.parent / "compat.md").read_text(encoding="utf-8")
    first = tables(text)[0]
    assert first.heading == "Summary"
    assert len(first.headers) <= 10
    assert [row[0].split("<br>")[0] for row in first.rows] == [c.cell for c in cells]
    assert "![" in text.split("## Summary")[0]  # the picture at the top
    assert (path.parent / "compat.svg").is_file()
    html = renderer().render(text)
    assert html.count("<details>") == html.count("</details>") > 0
    assert not re.findall(r"\[[a-z0-9-]+\]", re.sub(r"<code>.*?</code>", "", html)), "unresolved issue link"


def details_entries(text: str) -> dict[tuple[str, str | None, str], str]:
    """(cell, family or None for the environment, probe) -> entry, from the rendered details tables."""
    found = {}
    for table in tables(text):
        match = re.match(r"<b>([^<]+)</b>[^—]* — \d+ cells", table.heading)
        if not match:
            continue
        family = None if match.group(1) == ENVIRONMENT_LABEL else match.group(1)
        for row in table.rows:
            for probe, value in zip(table.headers[1:], row[1:]):
                found[(row[0], family, probe)] = value
    return found


@pytest.mark.parametrize("path", COMMITTED, ids=["default", "sweep"])
def test_committed_details_show_every_result(path):
    cells = load_merged(path)
    shown = details_entries((path.parent / "compat.md").read_text(encoding="utf-8"))
    count = 0
    for cell in cells:
        for result in cell.results:
            family = None if is_environment(result) else result.family
            key = (cell.cell, family, result.probe)
            assert key in shown, f"{key} is in compat.json but not in compat.md"
            native, patched = shown[key].split(" → ")
            marks = {"pass": "✅", "fail": "❌", "error": "💥", "skip": "⏭", "timeout": "⏱", "crash": "☠"}
            assert (native if result.mode is Mode.NATIVE else patched).startswith(marks[result.status.value])
            if result.issue:
                assert f"[{result.issue}]" in (native if result.mode is Mode.NATIVE else patched)
            count += 1
    assert shown == {k: entry(next(c for c in cells if c.cell == k[0]), k[2], k[1]) for k in shown}
    assert count == sum(len(c.results) for c in cells) > 0


@pytest.mark.parametrize("path", COMMITTED, ids=["default", "sweep"])
def test_committed_summary_has_a_column_per_family(path):
    """The summary's tables (one, or even groups of at most eight families) hold every family once, the
    environment beside the first group, every cell in each, and at most ten columns each."""
    from vlmcompat.report import summary

    cells = load_merged(path)
    summaries = [t for t in tables((path.parent / "compat.md").read_text(encoding="utf-8")) if t.heading == "Summary"]
    environment = [ENVIRONMENT_LABEL] if any(is_environment(r) for c in cells for r in c.results) else []
    columns = [h.split("<br>")[0] for t in summaries for h in t.headers[1:]]
    assert sorted(columns) == sorted([*families(cells), *environment])
    assert environment == [] or summaries[0].headers[-1] == ENVIRONMENT_LABEL
    assert all(len(t.headers) <= 2 + summary.MAX_FAMILIES for t in summaries)
    assert all(len(t.rows) == len(cells) for t in summaries)

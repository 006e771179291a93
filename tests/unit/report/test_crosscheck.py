"""The writer × reader tables: one per family and artifact kind, rows writers, columns readers,
*native → patched* per entry."""

from __future__ import annotations

from vlmcompat.report import crosscheck, markdown
from vlmcompat.results import CellResult, Mode, ProbeResult, Status


def result(writer, status, mode, issue=None, family="llava", probe="crosscheck-adapter"):
    return ProbeResult(probe, family, Mode(mode), Status(status), issue=issue, writer=writer)


def readers() -> list[CellResult]:
    old = CellResult("t4.51.3", results=[
        result("t4.51.3", "pass", "native"), result("t4.51.3", "pass", "patched"),
        result("t4.52.4", "fail", "native", "adapter-keys-newer-layout"), result("t4.52.4", "pass", "patched")])
    new = CellResult("t4.52.4", results=[
        result("t4.51.3", "pass", "native"), result("t4.51.3", "pass", "patched"),
        result("t4.52.4", "skip", "native", family="qwen2-vl", probe="crosscheck-processor")])
    return [old, new, CellResult("not-a-reader")]


def test_a_table_per_family_and_kind_rows_writers_columns_readers():
    assert crosscheck.render_table(readers()[:2], "crosscheck-processor", "qwen2-vl").splitlines()[-1] == \
        "| **t4.52.4**           | —         | ⏭ → —     |"
    assert crosscheck.render(readers()) == "\n".join([
        crosscheck.LEGEND, "",
        "### llava · adapter", "",
        "| writer ↓ · reader →   | t4.51.3                           | t4.52.4   |",
        "|-----------------------|-----------------------------------|-----------|",
        "| **t4.51.3**           | ✅ → ✅                             | ✅ → ✅     |",
        "| **t4.52.4**           | ❌ [adapter-keys-newer-layout] → ✅ | —         |",
        ""])  # qwen2-vl · processor: every check skipped, no table


def test_no_crosscheck_results_no_section():
    assert crosscheck.render([CellResult("a")]) == ""
    assert "Saved on one release" not in markdown.render([CellResult("a")])


def test_the_markdown_report_carries_the_tables_and_links_their_ids():
    text = markdown.render([CellResult("a")], crosscheck=readers())
    assert "## Saved on one release, loaded on another" in text
    assert "[adapter-keys-newer-layout]: ../docs/known-issues.md#adapter-keys-newer-layout" in text

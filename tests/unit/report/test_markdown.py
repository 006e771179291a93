import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from report_tables import tables

from vlmcompat import cli
from vlmcompat.commands import report as report_cmd
from vlmcompat.errors import InputFileError
from vlmcompat.report import columns, details, jsonfmt, junit, markdown, marks
from vlmcompat.results import SCHEMA_VERSION, CellResult, load_merged, load_results

FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "results"
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def cells() -> list[CellResult]:
    return load_results(FIXTURES)


def test_cells_load_sorted_by_file_name(cells):
    assert [c.cell for c in cells] == ["newest", "t4.44.0-tok0.19.1-peft0.16.0", "t4.99.0-peft0.16.0"]


def test_columns_are_probes_by_families_in_run_order(cells):
    assert columns(cells) == [("model-class", "instructblip-t5"), ("peft-wrapper", "instructblip-t5"),
                              ("peft-wrapper", "instructblip-llama")]


def test_markdown_exact_text(cells):
    assert markdown.render(cells) == (FIXTURES / "expected" / "compat.md").read_text(encoding="utf-8")


def test_markdown_entries(cells):
    newest, t444, t499 = cells
    assert marks.entry(t444, "peft-wrapper", "instructblip-t5") == "❌ [inputs-embeds-unexpected] → ✅"
    assert marks.entry(t444, "model-class", "instructblip-t5") == "✅ → ✅"
    assert marks.entry(t444, "peft-wrapper", "instructblip-llama") == "⏭ → ⏭"
    assert marks.entry(newest, "model-class", "instructblip-t5") == "💥 RuntimeError → ⏱"
    assert marks.entry(newest, "peft-wrapper", "instructblip-llama") == "— → —"
    assert marks.entry(t499, "model-class", "instructblip-t5") == "🚫"
    assert details.install_text(t499) == "🚫 not-found"


def test_markdown_of_no_cells_is_still_a_document():
    text = markdown.render([])
    assert text.startswith("# Compatibility matrix\n") and "## Known issues" not in text
    assert "nox -s matrix" in text


def test_json_is_the_merged_schema(cells, tmp_path):
    text = jsonfmt.render(cells, generated="2026-01-01T00:00:00+00:00")
    data = json.loads(text)
    assert data["schema_version"] == SCHEMA_VERSION and data["generated"] == "2026-01-01T00:00:00+00:00"
    path = tmp_path / "compat.json"
    path.write_text(text)
    assert [c.to_dict() for c in load_merged(path)] == [c.to_dict() for c in cells]


def test_junit_parses_back(cells):
    root = ET.fromstring(junit.render(cells).split("\n", 1)[1])
    assert root.tag == "testsuites"
    assert {k: root.get(k) for k in ("tests", "failures", "errors", "skipped")} == \
        {"tests": "11", "failures": "1", "errors": "4", "skipped": "2"}
    suites = {s.get("name"): s for s in root}
    t444 = suites["t4.44.0-tok0.19.1-peft0.16.0"]
    assert (t444.get("tests"), t444.get("failures"), t444.get("skipped")) == ("6", "1", "2")
    (failure,) = t444.iter("failure")
    assert failure.get("type") == "inputs-embeds-unexpected"
    assert "unexpected keyword argument 'inputs_embeds'" in failure.text
    case = t444.find("testcase[@name='instructblip-t5[native]']"
                     "[@classname='t4.44.0-tok0.19.1-peft0.16.0.peft-wrapper']")
    assert case is not None and case.get("time") == "2.000"
    (install,) = suites["t4.99.0-peft0.16.0"]
    assert install.get("name") == "install"
    assert install.find("error").get("type") == "install-not-found"
    assert "no version of transformers==4.99.0" in install.find("error").text
    errors = [e.get("type") for e in suites["newest"].iter("error")]
    assert errors == ["RuntimeError", "timeout", "crash"]


def test_order_follows_the_matrix(cells):
    ordered = report_cmd.order(cells, ["t4.99.0-peft0.16.0", "t4.44.0-tok0.19.1-peft0.16.0"])
    assert [c.cell for c in ordered] == ["t4.99.0-peft0.16.0", "t4.44.0-tok0.19.1-peft0.16.0", "newest"]


def _repository(tmp_path, monkeypatch):
    """A folder laid out like this repository: the catalogue page under docs/ (links point to it)."""
    monkeypatch.chdir(tmp_path)  # no matrix.toml here: rows by file name
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "known-issues.md").write_text("# Known issues\n")


def test_command_writes_all_three(tmp_path, capsys, monkeypatch):
    _repository(tmp_path, monkeypatch)
    md, js, xml = tmp_path / "reports" / "compat.md", tmp_path / "compat.json", tmp_path / "junit.xml"
    code = cli.main(["report", str(FIXTURES), "--md", str(md), "--json", str(js), "--junit", str(xml), "--svg", ""])
    assert code == 0
    assert md.read_text(encoding="utf-8") == (FIXTURES / "expected" / "compat.md").read_text(encoding="utf-8")
    assert len(load_merged(js)) == 3
    assert ET.parse(xml).getroot().get("tests") == "11"
    assert "wrote" in capsys.readouterr().out


def test_command_orders_rows_by_the_matrix(tmp_path):
    md = tmp_path / "compat.md"
    assert cli.main(["report", str(FIXTURES), "--md", str(md), "--json", "", "--svg", "", "--matrix",
                     str(ROOT / "matrix.toml")]) == 0
    rows = [row[0].split("<br>")[0] for row in tables(md.read_text(encoding="utf-8"))[0].rows]
    assert rows == ["t4.44.0-tok0.19.1-peft0.16.0", "newest", "t4.99.0-peft0.16.0"]
    assert not (tmp_path / "compat.json").exists()


def test_command_reads_a_merged_file(tmp_path, monkeypatch):
    _repository(tmp_path, monkeypatch)
    merged = tmp_path / "compat.json"
    merged.write_text(jsonfmt.render(load_results(FIXTURES)))
    md = tmp_path / "reports" / "again.md"
    assert cli.main(["report", str(merged), "--md", str(md), "--json", str(tmp_path / "j.json"), "--svg", ""]) == 0
    assert md.read_text(encoding="utf-8") == (FIXTURES / "expected" / "compat.md").read_text(encoding="utf-8")


def test_catalogue_links_follow_the_report_folder(tmp_path, monkeypatch):
    """reports/sweep/compat.md links the catalogue two folders up, not one."""
    _repository(tmp_path, monkeypatch)
    md = tmp_path / "reports" / "sweep" / "compat.md"
    assert cli.main(["report", str(FIXTURES), "--md", str(md), "--json", "", "--svg", ""]) == 0
    text = md.read_text(encoding="utf-8")
    assert "]: ../../docs/known-issues.md#" in text and "]: ../docs/known-issues.md#" not in text


def test_missing_or_empty_cells_dir_is_one_line(tmp_path, capsys):
    with pytest.raises(InputFileError, match="no cell results"):
        load_results(tmp_path)
    assert cli.main(["report", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vlmcompat: error: ") and "nox -s matrix" in err and err.count("\n") == 1


def test_report_does_not_import_torch(tmp_path):
    code = ("import sys; from vlmcompat.cli import main; "
            f"rc = main(['report', {str(FIXTURES)!r}, '--md', {str(tmp_path / 'a.md')!r}, "
            f"'--json', {str(tmp_path / 'a.json')!r}, '--junit', {str(tmp_path / 'a.xml')!r}]); "
            "heavy = [m for m in ('torch', 'transformers', 'peft', 'tokenizers') if m in sys.modules]; "
            "print(rc, heavy)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip().endswith("0 []")


REPORT_FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "report"


def test_command_adds_what_changed_and_the_step_summary(tmp_path, capsys):
    md, summary = tmp_path / "compat.md", tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    assert cli.main(["report", str(REPORT_FIXTURES / "cells"), "--md", str(md), "--json", "", "--svg", "",
                     "--baseline", str(REPORT_FIXTURES / "baseline.json"), "--step-summary", str(summary)]) == 0
    text = md.read_text(encoding="utf-8")
    assert "## What changed" in text and "1 new failures (regressions)" in text and "Cells added: `newest`" in text
    appended = summary.read_text(encoding="utf-8")
    assert appended.startswith("earlier step\n## vlmcompat: compatibility matrix")
    assert "### What changed" in appended and "## Details" not in appended


def test_baseline_from_a_revision_git_lacks_is_a_note_not_an_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not a git repository
    md = tmp_path / "compat.md"
    assert cli.main(["report", str(FIXTURES), "--md", str(md), "--json", "", "--svg", "",
                     "--baseline", "reports/compat.json", "--baseline-ref", "HEAD"]) == 0
    assert "no 'What changed' section" in capsys.readouterr().err
    assert "## What changed" not in md.read_text(encoding="utf-8")


def test_baseline_ref_needs_a_baseline(capsys):
    assert cli.main(["report", str(FIXTURES), "--baseline-ref", "HEAD"]) == 2
    assert "--baseline-ref needs --baseline" in capsys.readouterr().err

"""The gate: real cell results before/after a bump (tests/fixtures/gate), and its rules one by one."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from vlmcompat import cli, gate
from vlmcompat.matrix.spec import Expectation
from vlmcompat.results import CellResult, InstallInfo, InstallStatus, Mode, ProbeResult, Status, load_cell, merge

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "gate"
BEFORE = FIXTURES / "pins-t4.53.3-p0.16.0.json"  # transformers 4.53.3, peft 0.16.0
AFTER = FIXTURES / "pins-t4.55.4-p0.17.1.json"  # the bump: transformers 4.55.4, peft 0.17.1


def keys(changes):
    return [(c.probe, c.family, c.mode, c.baseline, c.now) for c in changes]


def test_real_bump_regresses_where_the_stock_path_breaks_undeclared():
    report = gate.compare([load_cell(BEFORE)], [load_cell(AFTER)])
    assert keys(report.regressions) == [
        ("image-tokens", "instructblip-t5", "native", "pass", "fail (image-token-expansion)")]
    assert report.exit_code == 1


def test_real_bump_reports_improvements():
    report = gate.compare([load_cell(BEFORE)], [load_cell(AFTER)])
    assert keys(report.improvements) == [
        ("peft-wrapper", "instructblip-t5", "native", "fail (inputs-embeds-duplicate)", "pass"),
        ("peft-wrapper", "instructblip-llama", "native", "fail (inputs-embeds-duplicate)", "pass"),
        ("image-tokens", "instructblip-llama", "native", "error", "fail (image-token-expansion)"),
    ]


def test_real_bump_passes_when_matrix_declares_the_breakage():
    declared = Expectation(probe="image-tokens", family="instructblip-*", mode="native", status="fail",
                               issue="image-token-expansion", reason="config without image_token_id")
    report = gate.compare([load_cell(BEFORE)], [load_cell(AFTER)], {"pins": [declared]})
    assert report.regressions == []
    assert report.exit_code == 0
    assert len(report.improvements) == 2  # the image-tokens llama change is now the declared outcome


def test_real_unchanged_run_passes_with_nothing_to_report():
    report = gate.compare([load_cell(BEFORE)], [load_cell(BEFORE)])
    assert (report.regressions, report.improvements, report.unexpected_passes, report.missing, report.changed) == \
        ([], [], [], [], [])
    assert report.exit_code == 0
    assert "passed: no changes" in gate.render_markdown(report)


def test_real_peft_bump_that_keeps_the_patched_path_is_not_a_regression():
    before, after = load_cell(FIXTURES / "pins-t4.44.0-p0.16.0.json"), load_cell(FIXTURES / "pins-t4.44.0-p0.18.0.json")
    report = gate.compare([before], [after])
    assert report.regressions == []
    assert keys(report.changed) == [("peft-wrapper", "instructblip-t5", "native", "fail (inputs-embeds-unexpected)",
                                     "fail (peft-import)")]


def _with(cell: CellResult, probe, family, mode, status, issue=None) -> CellResult:
    cell = copy.deepcopy(cell)
    result = cell.find(probe, family, mode)
    result.status, result.issue = Status(status), issue
    return cell


def test_patched_pass_becoming_anything_else_is_a_regression():
    before = load_cell(BEFORE)
    for status in ("fail", "error", "skip", "timeout", "crash"):
        after = _with(before, "peft-wrapper", "instructblip-t5", "patched", status)
        report = gate.compare([before], [after])
        assert keys(report.regressions) == [("peft-wrapper", "instructblip-t5", "patched", "pass", status)], status


def test_native_change_to_an_unknown_error_is_a_regression_but_known_to_known_is_not():
    before = load_cell(BEFORE)
    report = gate.compare([before], [_with(before, "peft-wrapper", "instructblip-t5", "native", "error")])
    assert [c.why for c in report.regressions] == ["the stock path now fails in a way no known issue explains"]
    report = gate.compare([before], [_with(before, "peft-wrapper", "instructblip-t5", "native", "fail",
                                           "inputs-embeds-unexpected")])
    assert report.regressions == [] and len(report.changed) == 1


def test_unexpected_pass_is_reported_and_fails_only_with_strict():
    declared = Expectation(probe="peft-wrapper", family="*", mode="native", status="fail",
                               issue="inputs-embeds-duplicate", reason="")
    report = gate.compare([load_cell(BEFORE)], [load_cell(BEFORE)], {"pins": [declared]})
    assert report.unexpected_passes == [] and report.exit_code == 0
    after = load_cell(AFTER)
    report = gate.compare([load_cell(BEFORE)], [after], {"pins": [declared]})
    assert [(c.probe, c.family) for c in report.unexpected_passes] == [
        ("peft-wrapper", "instructblip-t5"), ("peft-wrapper", "instructblip-llama")]
    strict = gate.compare([load_cell(BEFORE)], [after], {"pins": [declared]}, strict=True)
    assert strict.exit_code == 1 and len(strict.regressions) == 1  # the image-tokens one


def _installed_as(cell: CellResult, status: InstallStatus, log="") -> CellResult:
    return CellResult(cell.cell, cell.versions, InstallInfo(status, 1.0, log), [])


def test_install_failures_regress_except_for_the_network():
    before = load_cell(BEFORE)
    for status in (InstallStatus.NOT_FOUND, InstallStatus.UNRESOLVABLE, InstallStatus.BUILD_FAILED):
        report = gate.compare([before], [_installed_as(before, status, "x\nNo solution found when resolving")])
        assert [(c.baseline, c.now) for c in report.regressions] == [("install existing", f"install {status.value}")]
        assert "No solution found" in report.regressions[0].why
    report = gate.compare([before], [_installed_as(before, InstallStatus.NETWORK)])
    assert report.regressions == [] and report.exit_code == 0
    assert "could not be reached" in report.notes[0]


def test_missing_cell_is_reported_and_fails_only_with_strict():
    other = CellResult("other", results=[ProbeResult("model-class", "instructblip-t5", Mode.NATIVE, Status.PASS)])
    report = gate.compare([load_cell(BEFORE), other], [load_cell(BEFORE)])
    assert [(c.cell, c.now) for c in report.missing] == [("other", "absent")]
    assert report.exit_code == 0
    assert gate.compare([load_cell(BEFORE), other], [load_cell(BEFORE)], strict=True).exit_code == 1


def test_absolute_check_for_code_that_imports_the_patch_fails_on_a_patched_failure_only():
    after = load_cell(AFTER)
    report = gate.check_absolute([after], patched=True)
    assert report.regressions == []
    assert {c.now for c in report.changed} == {"fail (image-token-expansion)"}
    broken = _with(after, "image-tokens", "instructblip-t5", "patched", "error")
    assert keys(gate.check_absolute([broken], patched=True).regressions) == [
        ("image-tokens", "instructblip-t5", "patched", "", "error")]


def test_absolute_check_by_default_answers_for_code_without_the_patch():
    report = gate.check_absolute([load_cell(AFTER)])
    assert {(c.probe, c.mode, c.now, c.issue) for c in report.regressions} == {
        ("image-tokens", "native", "fail (image-token-expansion)", "image-token-expansion")}
    assert all(c.why.endswith("; `import vlmcompat.patch` makes it pass") for c in report.regressions)
    assert report.exit_code == 1


def test_markdown_is_a_short_diff():
    text = gate.render_markdown(gate.compare([load_cell(BEFORE)], [load_cell(AFTER)]), "baseline: b · results: r")
    assert text.splitlines()[0] == "## vlmcompat gate FAILED: regressions: 1, improvements: 3"
    assert "### Regressions" in text and "### Improvements" in text and "### Unexpected" not in text
    assert "| pins   | image-tokens | instructblip-t5 | native | pass       | fail (image-token-expansion) |" in text


# -- the command ---------------------------------------------------------------------------------

def test_cli_exit_codes_json_and_step_summary(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # no matrix.toml here
    baseline = tmp_path / "compat.json"
    baseline.write_text(json.dumps(merge([load_cell(BEFORE)])))
    cells = tmp_path / "reports" / "cells"
    cells.mkdir(parents=True)
    (cells / "pins.json").write_text(AFTER.read_text())
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))

    assert cli.main(["gate", "--baseline", str(baseline), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert set(data) >= {"regressions", "improvements", "unexpected_passes"}
    assert [r["probe"] for r in data["regressions"]] == ["image-tokens"]
    assert summary.read_text().startswith("## vlmcompat gate FAILED")

    (cells / "pins.json").write_text(BEFORE.read_text())
    assert cli.main(["gate", "--baseline", str(baseline)]) == 0
    assert "passed: no changes" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["gate"], "nothing to gate"),
    (["gate", "--baseline", "missing.json"], "missing.json: no such file"),
    (["gate", "--baseline", "{b}", "--results", "nowhere"], "nowhere: no such file or directory"),
    (["gate", "--baseline", "{b}", "--results", "{empty}"], "no cell results (*.json)"),
    (["gate", "--baseline", "{b}", "--requirements", "r.txt"], "pass one of them"),
    (["gate", "--requirements", "{bad}"], "bad.txt:2"),
])
def test_cli_usage_and_input_errors_exit_2(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty").mkdir()
    (tmp_path / "bad.txt").write_text("transformers==4.53.3\nnot a requirement!!\n")
    paths = {"b": str(BEFORE), "empty": str(tmp_path / "empty"), "bad": str(tmp_path / "bad.txt")}
    assert cli.main([a.format(**paths) for a in argv]) == 2
    assert message in capsys.readouterr().err


def test_cli_baseline_ref_reads_the_committed_baseline(tmp_path, monkeypatch, capsys):
    import subprocess

    monkeypatch.chdir(tmp_path)
    (tmp_path / "reports").mkdir()
    baseline = tmp_path / "reports" / "compat.json"
    baseline.write_text(json.dumps(merge([load_cell(BEFORE)])))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "-q"], check=True)
    subprocess.run([*git, "add", "reports/compat.json"], check=True)
    subprocess.run([*git, "commit", "-qm", "baseline"], check=True)
    baseline.write_text(json.dumps(merge([load_cell(AFTER)])))  # a matrix run rewrote it
    args = ["gate", "--baseline", "reports/compat.json", "--results", str(AFTER), "--json"]
    assert cli.main([*args, "--baseline-ref", "HEAD"]) == 1  # against the committed file
    assert json.loads(capsys.readouterr().out)["regressions"]
    assert cli.main(args) == 0  # against the work tree's file
    capsys.readouterr()
    assert cli.main(["gate", "--baseline", "reports/other.json", "--baseline-ref", "HEAD"]) == 2
    assert "no committed baseline at HEAD:reports/other.json" in capsys.readouterr().err


def _run_cell(state, results, not_run=(), reason=None):
    from vlmcompat.results import RunInfo, RunState, TaskRef

    run = RunInfo(RunState(state), "t0", "t1", len(results) + len(not_run), [TaskRef(*t) for t in not_run], reason)
    return CellResult("c", install=InstallInfo(InstallStatus.OK), results=results, run=run)


def _pass(probe, mode="patched"):
    return ProbeResult(probe, "*", Mode(mode), Status.PASS)


def test_an_interrupted_run_is_never_a_regression_even_strict():
    base = _run_cell("complete", [_pass("a"), _pass("b"), _pass("c")])
    now = _run_cell("interrupted", [_pass("a"), ProbeResult("b", "*", Mode.PATCHED, Status.INTERRUPTED)],
                    not_run=[("c", "*", "patched")], reason="interrupted by SIGTERM")
    report = gate.compare([base], [now], strict=True)
    assert not report.failed and report.regressions == report.missing == []
    assert report.notes == ["c: the run was interrupted by SIGTERM; 2 of 3 results have no verdict and were not "
                            "compared"]


def test_a_crashed_run_is_a_regression():
    base = _run_cell("complete", [_pass("a"), _pass("b")])
    crash = ProbeResult("probe-command", "*", Mode.NATIVE, Status.CRASH, reason="the probe command died")
    now = _run_cell("crashed", [_pass("a"), crash], not_run=[("b", "*", "patched")], reason="the probe command died")
    report = gate.compare([base], [now])
    assert [(c.now, c.why) for c in report.regressions] == [("crashed", "the probe command died")]
    assert keys(report.missing) == [("b", "*", "patched", "pass", "absent")]
    assert [(c.now, c.why) for c in gate.check_absolute([now]).regressions] == [("crashed", "the probe command died")]


def test_a_later_unfinished_run_is_a_note():
    base = _run_cell("complete", [_pass("a")])
    now = _run_cell("complete", [_pass("a")])
    now.later_run = {"state": "interrupted", "reason": "interrupted by SIGINT", "results": 0, "file": ".c.later.json"}
    report = gate.compare([base], [now])
    assert not report.failed and report.notes == [
        "c: a later run did not finish (interrupted by SIGINT); the results compared are those of the run before it"]

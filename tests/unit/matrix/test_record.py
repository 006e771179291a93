"""vlmcompat.matrix.record: the partial file while a run runs, and which record ends up where."""

import json

from vlmcompat.matrix import record
from vlmcompat.results import (
    CacheInfo,
    CellResult,
    InstallInfo,
    InstallStatus,
    Mode,
    ProbeResult,
    RunState,
    Status,
    load_cell,
)

PLAN = [("a", "*", "native"), ("b", "*", "native"), ("a", "*", "patched")]


def _record(out, **kwargs):
    return record.CellRecord(out, CellResult("c", install=InstallInfo(InstallStatus.OK), **kwargs), PLAN)


def test_results_go_to_the_partial_file_in_plan_order(tmp_path):
    out = tmp_path / "c.json"
    rec = _record(out)
    partial = tmp_path / ".c.json.partial"
    assert json.loads(partial.read_text())["run"]["state"] == "running"
    rec.add(ProbeResult("a", "*", Mode.PATCHED, Status.PASS))
    rec.add(ProbeResult("a", "*", Mode.NATIVE, Status.FAIL, issue="x"))
    data = json.loads(partial.read_text())
    assert [(r["probe"], r["mode"]) for r in data["results"]] == [("a", "native"), ("a", "patched")]
    assert data["run"]["not_run"] == [{"probe": "b", "family": "*", "mode": "native"}]
    assert not out.exists()


def test_a_complete_run_replaces_the_cell_file_and_clears_a_later_record(tmp_path):
    out = tmp_path / "c.json"
    out.write_text("{}")
    (tmp_path / ".c.later.json").write_text("{}")
    rec = _record(out, cache=CacheInfo("k"))
    for key in PLAN:
        rec.add(ProbeResult(key[0], key[1], Mode(key[2]), Status.PASS))
    rec.complete()
    back = load_cell(out)
    assert back.run.state is RunState.COMPLETE and back.run.ended and back.run.not_run == []
    assert back.cache.produced == back.run.ended
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"]


def test_an_interrupted_run_goes_beside_a_finished_one(tmp_path):
    out = tmp_path / "c.json"
    first = _record(out)
    first.complete()
    before = out.read_bytes()
    rec = _record(out)
    rec.add(ProbeResult("a", "*", Mode.NATIVE, Status.PASS))
    rec.add(ProbeResult("b", "*", Mode.NATIVE, Status.INTERRUPTED, reason="interrupted by SIGINT after 1.0 s"))
    rec.interrupted("interrupted by SIGINT")
    assert out.read_bytes() == before and rec.path == tmp_path / ".c.later.json"
    later = load_cell(rec.path)
    assert later.run.state is RunState.INTERRUPTED and [t.probe for t in later.run.not_run] == ["a"]


def test_an_interrupted_run_with_nothing_finished_to_keep_is_the_cell_file(tmp_path):
    out = tmp_path / "c.json"
    _record(out).interrupted("interrupted by SIGTERM")
    first = load_cell(out)
    rec = _record(out)
    rec.interrupted("interrupted by SIGINT")  # a newer interrupted record replaces an older one
    assert rec.path == out and load_cell(out).run.reason == "interrupted by SIGINT" != first.run.reason


def test_a_result_that_arrived_before_the_signal_is_kept(tmp_path):
    rec = _record(tmp_path / "c.json")
    rec.add(ProbeResult("a", "*", Mode.NATIVE, Status.PASS))
    rec.add(ProbeResult("a", "*", Mode.NATIVE, Status.INTERRUPTED))
    assert rec.result.results[0].status is Status.PASS


def test_a_network_failure_never_replaces_a_finished_run(tmp_path):
    out = tmp_path / "c.json"
    _record(out).complete()
    before = out.read_bytes()
    network = CellResult("c", install=InstallInfo(InstallStatus.NETWORK, 1.0, "dns error"))
    assert record.place(out, network) == tmp_path / ".c.later.json"
    assert out.read_bytes() == before
    not_found = CellResult("c", install=InstallInfo(InstallStatus.NOT_FOUND, 1.0, "no version"))
    assert record.place(out, not_found) == out and not (tmp_path / ".c.later.json").exists()


def test_close_crashed_without_a_partial_file_does_nothing(tmp_path):
    assert record.close_crashed(tmp_path / "c.json", -9) is None
    assert record.describe_exit(-11) == "killed by signal SIGSEGV" and record.describe_exit(3) == "exited with status 3"

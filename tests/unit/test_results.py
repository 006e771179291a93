import json

import pytest

from vlmcompat.errors import ResultsError
from vlmcompat.results import (
    SCHEMA_VERSION,
    CellResult,
    ErrorInfo,
    InstallInfo,
    InstallStatus,
    Mode,
    ProbeResult,
    Status,
    load_cell,
    load_merged,
    merge,
    write_json_atomic,
)


def _cell():
    return CellResult(
        cell="t4.44.0-tok0.19.1-peft0.16.0",
        versions={"python": "3.11.7", "transformers": "4.44.0"},
        install=InstallInfo(InstallStatus.OK, 1.25, ""),
        results=[
            ProbeResult("peft-wrapper", "instructblip-t5", Mode.NATIVE, Status.FAIL, "inputs-embeds-unexpected",
                        ErrorInfo("TypeError", "forward() got an unexpected keyword argument 'inputs_embeds'"),
                        {"none": "pass"}, 0.5),
            ProbeResult("peft-wrapper", "instructblip-t5", Mode.PATCHED, Status.PASS, seconds=0.25),
            ProbeResult("model-class", "instructblip-t5", Mode.PATCHED, Status.SKIP, reason="no backport"),
        ],
    )


def test_round_trip_is_exact():
    cell = _cell()
    data = cell.to_dict()
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["results"][0] == {
        "probe": "peft-wrapper", "family": "instructblip-t5", "mode": "native", "status": "fail",
        "issue": "inputs-embeds-unexpected",
        "error": {"type": "TypeError", "message": "forward() got an unexpected keyword argument 'inputs_embeds'"},
        "metrics": {"none": "pass"}, "seconds": 0.5, "reason": None,
    }
    assert CellResult.from_dict(json.loads(json.dumps(data))).to_dict() == data


def test_find_by_probe_family_mode():
    cell = _cell()
    assert cell.find("peft-wrapper", "instructblip-t5", "patched").status is Status.PASS
    assert cell.find("peft-wrapper", "instructblip-llama", Mode.NATIVE) is None


def test_wrong_schema_version_is_one_clear_line(tmp_path):
    path = tmp_path / "cell.json"
    path.write_text(json.dumps({**_cell().to_dict(), "schema_version": 99}))
    with pytest.raises(ResultsError, match=r"schema_version 99 is not supported .* regenerate"):
        load_cell(path)


def test_malformed_result_names_the_problem():
    data = _cell().to_dict()
    data["results"][0]["status"] = "exploded"
    with pytest.raises(ResultsError, match=r"^<cell>: results\[0\]\.status: expected one of pass, fail, .*"
                                           r"got \"exploded\"; regenerate it"):
        CellResult.from_dict(data)


def test_invalid_json_reports_line(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{\n "cell": \n')
    with pytest.raises(ResultsError, match=r"bad.json:\d+: not valid JSON"):
        load_cell(path)


def test_merge_and_load_merged(tmp_path):
    merged = merge([_cell()], generated="2026-11-21T00:00:00+00:00")
    assert merged["schema_version"] == SCHEMA_VERSION and merged["generated"].startswith("2026")
    path = tmp_path / "compat.json"
    write_json_atomic(path, merged)
    cells = load_merged(path)
    assert [c.cell for c in cells] == ["t4.44.0-tok0.19.1-peft0.16.0"]
    assert cells[0].results[0].issue == "inputs-embeds-unexpected"
    assert not list(tmp_path.glob(".compat.json.*")), "no temporary file left behind"


def test_cell_files_are_readable_by_everyone(tmp_path):
    import os
    import stat

    old = os.umask(0o022)
    try:
        write_json_atomic(tmp_path / "c.json", _cell().to_dict())
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "c.json").stat().st_mode) == 0o644


@pytest.mark.parametrize("change, message", [
    ({"cell": None}, "cell: expected a string, got null"),
    ({"cell": ""}, 'cell: expected a non-empty string, got ""'),
    ({"versions": [1]}, "versions: expected an object, got [1]"),
    ({"versions": {"torch": 2}}, "versions.torch: expected a version string or null, got 2"),
    ({"results": ["x"]}, 'results[0]: expected an object, got "x"'),
    ({"results": {"a": 1}}, 'results: expected a list, got {"a": 1}'),
    ({"install": {"status": "ok", "seconds": "fast"}}, 'install.seconds: expected a number, got "fast"'),
    ({"run": {"state": "paused"}}, 'run.state: expected one of running, complete, interrupted, crashed, got "paused"'),
    ({"cache": {"key": "k", "reused": "yes"}}, 'cache.reused: expected true or false, got "yes"'),
])
def test_every_field_is_checked_with_one_line_naming_it(change, message):
    data = {**_cell().to_dict(), **change}
    with pytest.raises(ResultsError) as info:
        CellResult.from_dict(data, source="x.json")
    assert str(info.value) == f"x.json: {message}; regenerate it with `vlmcompat probe --json`"


def test_new_fields_round_trip_and_old_files_still_read():
    from vlmcompat.results import CacheInfo, RunInfo, RunState, TaskRef

    cell = _cell()
    old = cell.to_dict()
    assert "run" not in old and "cache" not in old and "offline" not in old["install"]
    assert CellResult.from_dict(old).to_dict() == old
    cell.run = RunInfo(RunState.INTERRUPTED, "t0", "t1", 4, [TaskRef("p", "*", "native")], "interrupted by SIGINT")
    cell.cache = CacheInfo("k", True, "t1")
    cell.install.offline = True
    data = json.loads(json.dumps(cell.to_dict()))
    assert data["run"]["not_run"] == [{"probe": "p", "family": "*", "mode": "native"}]
    assert CellResult.from_dict(data).to_dict() == data
    assert not CellResult.from_dict(data).finished

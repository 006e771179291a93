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

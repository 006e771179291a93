"""vlmcompat.matrix.cell without building anything: the probe command, its environment, the
records written when a cell cannot be probed, and how vlmcompat is linked into a venv."""

import json
from pathlib import Path

from vlmcompat.matrix import cell as cells
from vlmcompat.matrix import record
from vlmcompat.matrix.spec import parse
from vlmcompat.results import (
    ENVIRONMENT,
    CellResult,
    InstallInfo,
    InstallStatus,
    Mode,
    ProbeResult,
    RunState,
    Status,
    load_cell,
)

ROOT = Path(__file__).resolve().parents[3]


def spec(text: str):
    return parse(text).cells[0]


def test_probe_command_passes_the_cell_and_posargs():
    cmd = cells.probe_command("python", "x", Path("reports/cells/x.json"), install_seconds=0.4567,
                              extra=["--probe", "model-class"])
    assert cmd == ["python", "-m", "vlmcompat", "probe", "--json", "reports/cells/x.json", "--cell", "x",
                   "--install-seconds", "0.457", "--probe", "model-class"]


def test_probe_command_for_gate_and_bisect():
    cmd = cells.probe_command(Path("/v/bin/python"), "c", Path("o.json"), ["blip2-t5"], ["peft-wrapper"], 30.0)
    assert cmd == ["/v/bin/python", "-m", "vlmcompat", "probe", "--json", "o.json", "--cell", "c",
                   "--family", "blip2-t5", "--probe", "peft-wrapper", "--timeout", "30"]


def test_probe_env_writes_bytecode_outside_every_tree(tmp_path, monkeypatch):
    monkeypatch.setenv("VLMCOMPAT_CACHE", str(tmp_path))
    assert cells.probe_env() == {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(tmp_path / "pycache")}


def test_install_failure_record_keeps_the_requested_versions(tmp_path):
    c = spec('[[cell]]\ntransformers = "4.99.0"\npeft = "0.16.0"\n')
    info = InstallInfo(InstallStatus.NOT_FOUND, 1.25,
                       "× No solution found\nthere is no version of transformers==4.99.0")
    out = tmp_path / "cells" / f"{c.name}.json"
    cells.record_install_failure(out, c.name, c.requirements, info)
    back = load_cell(out)
    assert back.cell == "t4.99.0-peft0.16.0" and back.results == []
    assert back.install.status is InstallStatus.NOT_FOUND and "4.99.0" in back.install.log_tail
    assert back.versions["transformers"] == "4.99.0" and back.versions["peft"] == "0.16.0"
    assert back.versions["tokenizers"] is None
    assert "install not-found after 1.2s" in cells.describe_failure(c.name, c.requirements, info)


def test_requested_versions_label_specifiers_and_newest():
    versions = cells.requested_versions(["transformers>=4.53,<4.54", "peft", "trl==0.19.1", "datasets"])
    assert versions["transformers"] == "ge4.53+lt4.54" and versions["peft"] == "newest"
    assert versions["trl"] == "0.19.1" and "datasets" not in versions


def test_a_command_that_died_before_running_becomes_a_crash_record(tmp_path):
    c = spec('[[cell]]\nname = "x"\ntransformers = "4.44.0"\n')
    out = tmp_path / "x.json"
    before = record.snapshot(out)
    recorded, problem = cells.settle(out, c.name, c.requirements, InstallInfo(InstallStatus.OK, 0.3, ""), 1, before)
    assert recorded is not None and problem == ("cell x: the probe command exited with status 1 before it ran any "
                                                "probe; see this cell's log; recorded as crashed")
    back = load_cell(out)
    (crash,) = back.results
    assert crash.status is Status.CRASH and crash.probe == cells.CRASH_PROBE and crash.family == ENVIRONMENT
    assert back.run.state is RunState.CRASHED


def test_a_record_the_command_placed_is_kept(tmp_path):
    out = tmp_path / "x.json"
    before = record.snapshot(out)
    data = {"schema_version": 1, "cell": "x", "versions": {}, "install": {"status": "ok"},
            "results": [{"probe": "model-class", "family": "instructblip-t5", "mode": "native", "status": "pass"}]}
    out.write_text(json.dumps(data))
    assert cells.settle(out, "x", [], InstallInfo(InstallStatus.OK), 0, before) == (None, None)
    assert json.loads(out.read_text()) == data


def test_a_command_that_died_mid_run_is_closed_as_crashed(tmp_path):
    out = tmp_path / "x.json"
    previous = {"schema_version": 1, "cell": "x", "versions": {}, "install": {"status": "ok"}, "results": []}
    out.write_text(json.dumps(previous))
    before = record.snapshot(out)
    cell = CellResult("x", install=InstallInfo(InstallStatus.OK))
    rec = record.CellRecord(out, cell, [("a", "*", "native"), ("b", "*", "native"), ("c", "*", "native")])
    rec.add(ProbeResult("a", "*", Mode.NATIVE, Status.PASS))
    _, problem = cells.settle(out, "x", [], InstallInfo(InstallStatus.OK), -9, before)
    assert problem == "cell x: the probe command killed by signal SIGKILL after 1 of 3 tasks; recorded as crashed"
    back = load_cell(out)
    assert [(r.probe, r.status.value) for r in back.results] == [("a", "pass"), ("probe-command", "crash")]
    assert [t.probe for t in back.run.not_run] == ["b", "c"] and back.run.state is RunState.CRASHED
    assert not record.partial_path(out).exists()


def test_interrupted_and_refused_commands_record_nothing(tmp_path):
    out = tmp_path / "x.json"
    before = record.snapshot(out)
    assert cells.settle(out, "x", [], InstallInfo(), 130, before)[1] == \
        "cell x: interrupted (the probe command exited with status 130)"
    assert cells.settle(out, "x", [], InstallInfo(), 2, before)[1].startswith("cell x: the probe command refused")
    assert not out.exists()


def test_link_self_makes_this_vlmcompat_importable(tmp_path):
    venv = tmp_path / "venv"
    (venv / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    link = cells.link_self(venv)
    assert link.is_symlink() and (link / "matrix" / "cell.py").is_file()
    assert link.resolve() == (ROOT / "vlmcompat").resolve()
    assert cells.link_self(venv) == link  # idempotent


def test_build_reuses_a_recorded_install(tmp_path, monkeypatch):
    venv = tmp_path / "venv"
    (venv / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    (venv / cells.INSTALL_RECORD).write_text(json.dumps({"status": "ok", "seconds": 2.5, "log_tail": ""}))
    monkeypatch.setattr(cells.venvs, "make", lambda *a, **k: (_ for _ in ()).throw(AssertionError("rebuilt")))
    path, info = cells.build(["transformers==4.44.0"], venv=venv)
    assert path == venv and info.status is InstallStatus.OK and info.seconds == 2.5
    assert (venv / "lib" / "python3.11" / "site-packages" / "vlmcompat").is_symlink()

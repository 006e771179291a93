"""Probes that crash, hang or kill the probe command: each recorded as what it is, the other
results kept, nothing left running; a probe command that dies leaves a record that says so."""

import json
import re
import signal

from vlmcompat.matrix import cell as cells
from vlmcompat.matrix import record
from vlmcompat.results import InstallInfo, InstallStatus, RunState, Status, load_cell


def test_segfault_hard_exit_and_hang_are_recorded_and_the_rest_kept(faults, tmp_path):
    out = tmp_path / "c.json"
    proc = faults.vlmcompat("probe", "--probe", "f-segv", "--probe", "f-exit", "--probe", "f-hang", "--probe", "f-ok",
                            "--json", str(out), "--cell", "c", "--timeout", "2")
    assert proc.returncode == 0, proc.stderr
    got = {(r.probe, r.mode.value): (r.status, r.reason) for r in load_cell(out).results}
    assert got[("f-ok", "native")] == (Status.PASS, None)
    assert got[("f-segv", "native")] == (Status.CRASH, "the probe process killed by signal SIGSEGV")
    assert got[("f-exit", "native")] == (Status.CRASH, "the probe process exited with status 3")
    assert got[("f-hang", "native")] == (Status.TIMEOUT, "ran past the 2 s time limit and was killed")
    lines = proc.stdout.splitlines()
    assert re.match(r"\[1/4\] ☠ +f-segv ", lines[1]) and re.match(r"\[4/4\] ✅ +f-ok ", lines[-1])
    assert faults.gone() == []


def test_a_probe_that_kills_the_probe_command_leaves_a_crashed_record(faults, tmp_path):
    out = tmp_path / "cells" / "c.json"
    proc = faults.vlmcompat("probe", "--probe", "f-ok", "--json", str(out), "--cell", "c")
    assert proc.returncode == 0
    before = record.snapshot(out)
    proc = faults.vlmcompat("probe", "--probe", "f-ok", "--probe", "f-kill", "--probe", "f-exit", "--json", str(out),
                            "--cell", "c", "--fresh")
    assert proc.returncode == -signal.SIGKILL
    assert faults.gone() == [], "the worker must die with the probe command"
    assert out.with_name(".c.json.partial").is_file()
    _, problem = cells.settle(out, "c", [], InstallInfo(InstallStatus.OK), proc.returncode, before)
    assert problem == "cell c: the probe command killed by signal SIGKILL after 1 of 3 tasks; recorded as crashed"
    back = load_cell(out)  # a crash is this environment's outcome: it replaces the previous result
    assert back.run.state is RunState.CRASHED
    assert [(r.probe, r.status.value) for r in back.results] == [("f-ok", "pass"), ("probe-command", "crash")]
    assert [(t.probe, t.mode) for t in back.run.not_run] == [("f-kill", "native"), ("f-exit", "native")]
    assert not out.with_name(".c.json.partial").exists()


def test_gate_fails_on_a_crashed_run(faults, tmp_path):
    cells_dir = tmp_path / "cells"
    out = cells_dir / "c.json"
    assert faults.vlmcompat("probe", "--probe", "f-ok", "--json", str(out), "--cell", "c").returncode == 0
    baseline = tmp_path / "baseline.json"
    assert faults.vlmcompat("report", str(cells_dir), "--md", str(tmp_path / "a.md"),
                            "--json", str(baseline)).returncode == 0
    before = record.snapshot(out)
    proc = faults.vlmcompat("probe", "--probe", "f-ok", "--probe", "f-kill", "--json", str(out), "--cell", "c",
                            "--fresh")
    cells.settle(out, "c", [], InstallInfo(InstallStatus.OK), proc.returncode, before)
    gate = faults.vlmcompat("gate", "--baseline", str(baseline), "--results", str(cells_dir), "--json")
    assert gate.returncode == 1
    (regression,) = json.loads(gate.stdout)["regressions"]
    assert regression["now"] == "crashed"
    assert regression["why"] == "the probe command killed by signal SIGKILL after 1 of 2 tasks"


def test_a_command_that_cannot_start_is_recorded_as_crashed(faults, tmp_path):
    out = tmp_path / "c.json"
    before = record.snapshot(out)
    proc = faults.vlmcompat("probe", "--json", str(out), env=faults.env(VLMCOMPAT_PROBES="no_such_module:X"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert "VLMCOMPAT_PROBES names 'no_such_module:X', which cannot be loaded" in proc.stderr
    assert cells.settle(out, "c", [], InstallInfo(), proc.returncode, before) == (
        None, "cell c: the probe command refused its arguments (exit 2); see its message above")
    _, problem = cells.settle(out, "c", [], InstallInfo(InstallStatus.OK), 1, before)
    assert problem.endswith("before it ran any probe; see this cell's log; recorded as crashed")
    assert load_cell(out).results[0].status is Status.CRASH

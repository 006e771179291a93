"""The matrix under nox, with real cells: an interrupted run (``nox -j 2`` and serial nox) keeps the
previous results byte for byte and leaves nothing running; a probe command that dies fails its
session and is recorded as crashed; an unchanged re-run reuses its results."""

import json
import re
import signal
import time

import pytest

from vlmcompat.results import RunState, Status, load_cell

pytestmark = [pytest.mark.cells, pytest.mark.slow]

MATRIX = """
[[cell]]
name = "a"
transformers = "4.44.0"
tokenizers = "0.19.1"
peft = "0.16.0"

[[cell]]
name = "b"
transformers = "4.53.3"
tokenizers = "0.21.1"
peft = "0.16.0"
"""


@pytest.fixture
def matrix(faults, tmp_path):
    (tmp_path / "matrix.toml").write_text(MATRIX)
    env = faults.env(VLMCOMPAT_MATRIX=str(tmp_path / "matrix.toml"), VLMCOMPAT_REPORTS=str(tmp_path / "reports"))
    return env, tmp_path / "reports" / "cells"


def nox(faults, env, tmp_path, *args):
    return faults.popen("-m", "nox", "--envdir", str(tmp_path / ".nox"), *args, env=env)


def finish(proc, timeout=900):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out + err


def complete_run(faults, env, tmp_path, cells, *select):
    code, log = finish(nox(faults, env, tmp_path, *select, "--", "--probe", "f-ok"))
    if "install network" in log:
        pytest.skip("the package index cannot be reached")
    assert code == 0, log[-3000:]
    return {p.name: p.read_bytes() for p in cells.glob("*.json") if not p.name.startswith(".")}


def started(cells, names):
    def check():
        for name in names:
            try:
                if not json.loads((cells / f".{name}.json.partial").read_text())["results"]:
                    return False
            except (OSError, ValueError):
                return False
        return True
    return check


@pytest.mark.parametrize("how", ["-j 2, SIGINT", "serial, SIGTERM"])
def test_interrupted_matrix_keeps_previous_results_and_leaves_nothing_running(faults, matrix, tmp_path, how):
    env, cells = matrix
    parallel = how.startswith("-j")
    select = ["-s", "matrix", "-j", "2"] if parallel else ["-s", "matrix(a)"]
    names = ["a", "b"] if parallel else ["a"]
    before = complete_run(faults, env, tmp_path, cells, *select)
    assert sorted(before) == [f"{n}.json" for n in names]
    proc = nox(faults, env, tmp_path, *select, "--", "--probe", "f-ok", "--probe", "f-hang", "--fresh")
    faults.wait_for(started(cells, names), timeout=600, what="every cell's first result")
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT if parallel else signal.SIGTERM)
    code, log = finish(proc, timeout=120)
    assert code != 0 and time.monotonic() - t0 < 60, log[-3000:]
    assert faults.gone(timeout=30) == [], "nothing may outlive an interrupted matrix"
    for name in names:
        assert (cells / f"{name}.json").read_bytes() == before[f"{name}.json"], name
        later = load_cell(cells / f".{name}.later.json")
        assert later.run.state is RunState.INTERRUPTED and later.run.reason.startswith("interrupted by SIG")
        assert [r.status for r in later.results] == [Status.PASS, Status.INTERRUPTED]
        assert not (cells / f".{name}.json.partial").exists()


def test_a_dead_probe_command_fails_its_session_and_is_recorded(faults, matrix, tmp_path):
    env, cells = matrix
    code, log = finish(nox(faults, env, tmp_path, "-s", "matrix(a)", "--", "--probe", "f-ok", "--probe", "f-kill"))
    assert code == 1
    assert "Session matrix(a) aborted: cell a: the probe command killed by signal SIGKILL after 1 of 2 tasks; " \
           "recorded as crashed" in log
    cell = load_cell(cells / "a.json")
    assert cell.run.state is RunState.CRASHED and [r.probe for r in cell.results] == ["f-ok", "probe-command"]
    assert faults.gone() == []


def test_an_unchanged_rerun_reuses_the_results(faults, matrix, tmp_path):
    env, cells = matrix
    complete_run(faults, env, tmp_path, cells, "-s", "matrix(a)")
    code, log = finish(nox(faults, env, tmp_path, "-s", "matrix(a)", "--", "--probe", "f-ok"))
    assert code == 0, log[-3000:]
    assert "vlmcompat probe: cell a: 1 results reused from " in log
    cell = load_cell(cells / "a.json")
    assert cell.cache.reused and cell.run.state is RunState.COMPLETE
    md = (tmp_path / "reports" / "compat.md").read_text(encoding="utf-8")
    assert re.search(r"^\| a .*\| ok [0-9.]+s · reused \|", md, re.M), md  # the install column of the cell's row

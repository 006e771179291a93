"""SIGINT/SIGTERM to `vlmcompat probe`: the worker's process group stops, the run is recorded as
interrupted, a previous complete result stays byte for byte, and a re-run picks up cleanly."""

import json
import signal
import stat

import pytest

from vlmcompat.results import RunState, Status, load_cell


def _complete(faults, out):
    proc = faults.vlmcompat("probe", "--probe", "f-ok", "--json", str(out), "--cell", "c")
    assert proc.returncode == 0, proc.stderr
    return out.read_bytes()


def _interrupt(faults, out, signum, *extra):
    """Start f-ok, f-hang, f-exit; once f-ok's result is in the partial file, send ``signum`` (f-hang runs)."""
    proc = faults.popen("-m", "vlmcompat", "probe", "--probe", "f-ok", "--probe", "f-hang", "--probe", "f-exit",
                        "--json", str(out), "--cell", "c", *extra)
    partial = out.with_name(f".{out.name}.partial")

    def one_result():
        try:
            return len(json.loads(partial.read_text())["results"]) == 1
        except (OSError, ValueError):
            return False

    faults.wait_for(one_result, what="the first result in the partial file")
    proc.send_signal(signum)
    stdout, stderr = proc.communicate(timeout=60)
    return proc.returncode, stdout, stderr


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_keeps_the_previous_result_and_records_the_run_beside_it(faults, tmp_path, signum):
    out = tmp_path / "cells" / "c.json"
    before = _complete(faults, out)
    code, _, stderr = _interrupt(faults, out, signum, "--fresh")
    name = signal.Signals(signum).name
    later = out.with_name(".c.later.json")
    assert code == 128 + signum
    assert stderr.strip() == f"vlmcompat probe: interrupted by {name} after 1 of 3 tasks; recorded in {later}"
    assert out.read_bytes() == before, "the previous complete result must stay byte for byte"
    record = load_cell(later)
    assert record.run.state is RunState.INTERRUPTED and record.run.reason == f"interrupted by {name}"
    assert [(r.probe, r.mode.value, r.status) for r in record.results] == [
        ("f-ok", "native", Status.PASS), ("f-hang", "native", Status.INTERRUPTED)]
    assert record.results[1].reason.startswith(f"interrupted by {name} after ")
    assert [(t.probe, t.mode) for t in record.run.not_run] == [("f-exit", "native")]
    assert not out.with_name(".c.json.partial").exists()
    assert faults.gone() == [], "no process may outlive an interrupted run"


def test_interrupted_first_run_is_the_cell_file(faults, tmp_path):
    out = tmp_path / "cells" / "c.json"
    code, _, _ = _interrupt(faults, out, signal.SIGINT)
    assert code == 130
    record = load_cell(out)
    assert record.run.state is RunState.INTERRUPTED
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert faults.gone() == []


def test_a_rerun_after_an_interruption_picks_up_cleanly(faults, tmp_path):
    out = tmp_path / "cells" / "c.json"
    _complete(faults, out)
    _interrupt(faults, out, signal.SIGINT, "--fresh")
    proc = faults.vlmcompat("probe", "--probe", "f-ok", "--json", str(out), "--cell", "c", "--fresh")
    assert proc.returncode == 0, proc.stderr
    assert load_cell(out).run.state is RunState.COMPLETE
    assert sorted(p.name for p in out.parent.iterdir()) == ["c.json"]


def test_report_and_gate_show_the_interruption_and_never_fail_on_it(faults, tmp_path):
    cells = tmp_path / "cells"
    out = cells / "c.json"
    _complete(faults, out)
    baseline = tmp_path / "baseline.json"
    assert faults.report(cells, tmp_path / "a.md", baseline).returncode == 0
    _interrupt(faults, out, signal.SIGINT, "--fresh")
    md, merged = tmp_path / "compat.md", tmp_path / "compat.json"
    proc = faults.vlmcompat("report", str(cells), "--md", str(md), "--json", str(merged))
    assert proc.returncode == 0, proc.stderr
    assert ("- **c**: a later run did not finish (interrupted by SIGINT, 2 of 3 results, `.c.later.json`); "
            "the row shows the run before it") in md.read_text(encoding="utf-8")
    gate = faults.vlmcompat("gate", "--baseline", str(baseline), "--results", str(cells), "--json")
    assert gate.returncode == 0, gate.stdout + gate.stderr
    notes = json.loads(gate.stdout)["notes"]
    assert notes == ["c: a later run did not finish (interrupted by SIGINT); the results compared are those of "
                     "the run before it"]


def test_gate_never_counts_an_interrupted_cell_as_a_regression(faults, tmp_path):
    cells = tmp_path / "cells"
    out = cells / "c.json"
    proc = faults.vlmcompat("probe", "--probe", "f-ok", "--probe", "f-hang", "--probe", "f-exit", "--json",
                            str(out), "--cell", "c", "--timeout", "1")
    assert proc.returncode == 0
    baseline = tmp_path / "baseline.json"
    assert faults.report(cells, tmp_path / "a.md", baseline).returncode == 0
    out.unlink()
    _interrupt(faults, out, signal.SIGINT, "--fresh")  # no finished run to keep: the record is c.json
    gate = faults.vlmcompat("gate", "--baseline", str(baseline), "--results", str(cells), "--json", "--strict")
    assert gate.returncode == 0, gate.stdout + gate.stderr
    report = json.loads(gate.stdout)
    assert report["regressions"] == [] and report["missing"] == []
    assert report["notes"] == ["c: the run was interrupted by SIGINT; 2 of 3 results have no verdict and were not "
                               "compared"]

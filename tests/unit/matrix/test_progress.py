"""vlmcompat.matrix.progress: cells done out of the total, and the time left from the last run."""

from vlmcompat.matrix import progress
from vlmcompat.results import CellResult, InstallInfo, InstallStatus, RunInfo, RunState, write_json_atomic


def _cell(cells, name, seconds):
    run = RunInfo(RunState.COMPLETE, "2026-01-01T00:00:00+00:00", f"2026-01-01T00:00:{seconds:02d}+00:00", 1)
    write_json_atomic(cells / f"{name}.json", CellResult(name, install=InstallInfo(InstallStatus.OK, 2.0),
                                                         run=run).to_dict())


def test_estimates_come_from_the_last_run(tmp_path):
    _cell(tmp_path, "a", 40)
    _cell(tmp_path, "b", 20)
    assert progress.estimates(["a", "b", "new"], tmp_path) == {"a": 42.0, "b": 22.0, "new": 32.0}


def test_lines_count_cells_and_estimate_the_rest(tmp_path, monkeypatch):
    _cell(tmp_path, "a", 40)
    _cell(tmp_path, "b", 20)
    clock = [1000.0]
    monkeypatch.setattr(progress.time, "time", lambda: clock[0])
    ledger = progress.Ledger(tmp_path, ["a", "b", "c"], "run-1")
    assert ledger.started("a") == "matrix: 0/3 cells done, 1 running, about 2 min left (a started)"
    assert ledger.started("b") == "matrix: 0/3 cells done, 2 running, about 48 s left (b started)"
    clock[0] += 30
    assert ledger.ended("b") == "matrix: 1/3 cells done, 1 running, about 22 s left (b done after 30 s)"
    clock[0] += 40
    assert ledger.ended("a", "cell a: interrupted") == \
        "matrix: 2/3 cells done, 0 running, about 16 s left (a ended: interrupted after 70 s)"
    other = progress.Ledger(tmp_path, ["a", "b", "c"], "run-2")  # a new matrix run starts a new ledger
    assert other.started("c") == "matrix: 0/3 cells done, 1 running, about 2 min left (c started)"


def test_run_id_names_the_process_that_drives_the_matrix():
    import os

    assert progress.run_id(parallel=False).startswith(f"{os.getpid()}:")
    assert progress.run_id(parallel=True).startswith(f"{os.getppid()}:")

"""--timeout counts from the start of each probe, after the worker has imported its libraries
(which have their own, generous start-up limit)."""

import pytest

from vlmcompat.results import Status, load_cell


@pytest.fixture
def slow_import(faults):
    (faults.tmp / "plugins" / "slow_import.py").write_text("import time\ntime.sleep(4)\n")
    return faults.env(VLMCOMPAT_PRELOAD="slow_import")


def test_a_slow_start_up_does_not_count_against_the_probe(faults, tmp_path, slow_import):
    out = tmp_path / "c.json"
    proc = faults.vlmcompat("probe", "--probe", "f-ok", "--json", str(out), "--timeout", "1", env=slow_import)
    assert proc.returncode == 0, proc.stderr
    assert [r.status for r in load_cell(out).results] == [Status.PASS]


def test_the_start_up_limit_is_separate(faults, tmp_path, slow_import):
    out = tmp_path / "c.json"
    proc = faults.vlmcompat("probe", "--probe", "f-ok", "--probe", "f-hang", "--json", str(out), "--timeout", "1",
                            "--startup-timeout", "1", env=slow_import)
    assert proc.returncode == 0, proc.stderr
    results = load_cell(out).results
    assert [r.status for r in results] == [Status.TIMEOUT, Status.TIMEOUT]
    assert {r.reason for r in results} == {
        "the probe worker did not finish importing its libraries within the 1 s start-up limit"}
    assert faults.gone() == []


@pytest.mark.slow
def test_model_class_passes_with_a_five_second_limit_on_a_fresh_worker(faults, tmp_path):
    """The real stack: importing torch and transformers takes longer than 5 s here, the probe does not."""
    out = tmp_path / "c.json"
    env = faults.env()
    del env["VLMCOMPAT_PRELOAD"]
    proc = faults.vlmcompat("probe", "--probe", "model-class", "--family", "instructblip-t5", "--json", str(out),
                            "--timeout", "5", env=env)
    assert proc.returncode == 0, proc.stderr
    assert [(r.mode.value, r.status) for r in load_cell(out).results] == [("native", Status.PASS),
                                                                         ("patched", Status.PASS)]

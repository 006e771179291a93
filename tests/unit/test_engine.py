"""The supervised worker: crashes and hangs are recorded as what they are, the other results
are kept, and the JSON file holds every result as soon as it arrives. The failures are real:
a probe that kills its own process with SIGSEGV, one that exits hard, and one that sleeps."""

import json
import textwrap

import pytest

from vlmcompat import engine, probes
from vlmcompat.engine import Task
from vlmcompat.results import Mode, Status

PLUGIN = textwrap.dedent('''
    import os, signal, time
    from vlmcompat.probes.base import Probe, ProbeFailed, ProbeSkipped

    def _ok(family, mode):
        return {"answer": 42}

    def _segv(family, mode):
        os.kill(os.getpid(), signal.SIGSEGV)

    def _exit(family, mode):
        os._exit(3)

    def _hang(family, mode):
        time.sleep(60)

    def _known(family, mode):
        raise TypeError("Blip2ForConditionalGeneration.forward() got an unexpected keyword argument 'inputs_embeds'")

    def _unknown(family, mode):
        raise RuntimeError("something nobody has seen")

    def _skip(family, mode):
        raise ProbeSkipped("not here")

    OK = Probe("t-ok", "passes", _ok, families=("env",))
    SEGV = Probe("t-segv", "segfaults", _segv, families=("env",))
    EXIT = Probe("t-exit", "exits", _exit, families=("env",))
    HANG = Probe("t-hang", "hangs", _hang, families=("env",))
    KNOWN = Probe("t-known", "known error", _known, families=("env",))
    UNKNOWN = Probe("t-unknown", "unknown error", _unknown, families=("env",))
    SKIP = Probe("t-skip", "skips", _skip, families=("env",))
''')


@pytest.fixture
def plugin(tmp_path, monkeypatch):
    (tmp_path / "vlm_test_probes.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    refs = ",".join(f"vlm_test_probes:{n}" for n in ("OK", "SEGV", "EXIT", "HANG", "KNOWN", "UNKNOWN", "SKIP"))
    monkeypatch.setenv(probes.EXTRA_ENV, refs)
    probes.reset()
    return tmp_path


def _tasks(*names):
    """Native tasks; a probe named again runs for another family (a plan never repeats a task)."""
    return [Task(n, "env" if n not in names[:i] else f"env{i}", Mode.NATIVE) for i, n in enumerate(names)]


def test_crash_timeout_and_the_rest_kept(plugin, tmp_path):
    out = tmp_path / "cell.json"
    seen = []
    cell = engine.run_cell("test-cell", str(out),
                           _tasks("t-ok", "t-segv", "t-ok", "t-hang", "t-exit", "t-known", "t-unknown", "t-skip"),
                           timeout=3, on_result=seen.append, preload=())
    statuses = [r.status for r in cell.results]
    assert statuses == [Status.PASS, Status.CRASH, Status.PASS, Status.TIMEOUT, Status.CRASH, Status.FAIL,
                        Status.ERROR, Status.SKIP]
    assert "SIGSEGV" in cell.results[1].reason
    assert "status 3" in cell.results[4].reason
    assert cell.results[3].reason.startswith("ran past the 3 s time limit")
    assert cell.results[5].issue == "inputs-embeds-unexpected"
    assert cell.results[6].issue is None and cell.results[6].error.type == "RuntimeError"
    assert cell.results[7].reason == "not here"
    assert cell.results[0].metrics == {"answer": 42}
    written = json.loads(out.read_text())
    assert [r["status"] for r in written["results"]] == [s.value for s in statuses]
    assert len(seen) == 8


def test_results_are_flushed_as_they_arrive(plugin, tmp_path):
    out = tmp_path / "cell.json"
    partial = tmp_path / ".cell.json.partial"
    sizes = []
    tasks = [Task(name, "env", Mode.NATIVE) for name in ("t-ok", "t-skip", "t-unknown")]
    engine.run_cell("c", str(out), tasks, timeout=30, preload=(),
                    on_result=lambda r: sizes.append(len(json.loads(partial.read_text())["results"])))
    assert sizes == [1, 2, 3]
    assert not partial.exists() and len(json.loads(out.read_text())["results"]) == 3


def test_plan_covers_probes_families_and_modes():
    tasks = engine.plan(["peft-wrapper"], ["instructblip-t5"])
    assert [(t.probe, t.family, t.mode.value) for t in tasks] == [
        ("peft-wrapper", "instructblip-t5", "native"), ("peft-wrapper", "instructblip-t5", "patched")]


def test_bad_plugin_is_rejected_with_its_name(monkeypatch):
    monkeypatch.setenv(probes.EXTRA_ENV, "json:dumps")
    probes.reset()
    with pytest.raises(ValueError, match="VLMCOMPAT_PROBES 'json:dumps' is a function, not a vlmcompat.probes.Probe"):
        probes.all_probes()

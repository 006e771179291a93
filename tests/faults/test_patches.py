"""The patch lifecycle under faults: revert after other code changed a patched attribute, apply
and revert twice, and patched state that must never reach a native result."""

import json
import logging
import subprocess
import sys
import textwrap

import pytest

from vlmcompat import patches
from vlmcompat.matrix import cell as cells
from vlmcompat.results import InstallStatus, Status, load_cell

MODULE = textwrap.dedent('''
    from vlmcompat.patches import Patch, Plan, Replacement

    class Target:
        def forward(self):
            return "stock forward"

        def generate(self):
            return "stock generate"

    def _plan():
        return Plan([Replacement(Target, "forward", lambda original: lambda self: "patched forward"),
                     Replacement(Target, "generate", lambda original: lambda self: "patched generate")])

    PATCH = Patch("test_target", "a patch on a test class", _plan)
''')


@pytest.fixture
def target(tmp_path, monkeypatch):
    (tmp_path / "fault_patch.py").write_text(MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(patches, "BUILTIN", ("fault_patch:PATCH",))
    import fault_patch

    yield fault_patch.Target
    patches.reset()
    sys.modules.pop("fault_patch", None)


def test_revert_after_a_foreign_change_restores_what_it_can_and_names_the_rest(target, caplog):
    stock_generate = target.__dict__["generate"]
    patches.apply()
    assert target().forward() == "patched forward"

    def foreign(self):
        return "someone else's forward"

    target.forward = foreign
    with caplog.at_level(logging.WARNING, logger="vlmcompat.patch"):
        status = patches.revert()
    left = ("reverted except Target.forward: changed by other code after vlmcompat patched it, left as that code "
            "set it")
    assert status == {"test_target": left}
    assert caplog.messages == [f"vlmcompat: patch test_target {left}"]
    assert target.__dict__["generate"] is stock_generate and target.forward is foreign
    assert patches.revert() == {"test_target": left} and target.forward is foreign, "a second revert is a no-op"
    assert not patches.is_applied("test_target")


def test_undoing_the_foreign_change_lets_the_next_revert_finish(target):
    stock_forward = target.__dict__["forward"]
    patches.apply()
    ours = target.__dict__["forward"]
    target.forward = lambda self: "foreign"
    patches.revert()
    target.forward = ours  # the other code puts vlmcompat's version back
    assert patches.revert() == {"test_target": "not applied"}
    assert target.__dict__["forward"] is stock_forward


def test_apply_and_revert_twice(target):
    stock = dict(target.__dict__)
    first = patches.apply()
    assert patches.apply() == first == {"test_target": "applied: Target.forward, Target.generate"}
    patches.revert()
    assert patches.revert() == {"test_target": "not applied"}
    assert {k: target.__dict__[k] for k in ("forward", "generate")} == {k: stock[k] for k in ("forward", "generate")}


@pytest.mark.slow
def test_revert_after_a_foreign_change_on_the_real_patches():
    transformers = pytest.importorskip("transformers")
    cls = transformers.InstructBlipForConditionalGeneration
    stock = {name: cls.__dict__.get(name) for name in ("forward", "generate")}
    status = patches.apply(["instructblip_forward"])
    if not status["instructblip_forward"].startswith("applied"):
        pytest.skip(f"instructblip_forward does not apply here: {status['instructblip_forward']}")

    def foreign(self, *args, **kwargs):  # what another library's own patch looks like
        return stock["forward"](self, *args, **kwargs)

    try:
        cls.forward = foreign
        status = patches.revert()
        assert status["instructblip_forward"].startswith("reverted except InstructBlipForConditionalGeneration.forward")
        assert cls.__dict__.get("generate") is stock["generate"] and cls.forward is foreign
        assert patches.revert() == status
    finally:
        cls.forward = stock["forward"]
        patches.reset()


def _state_in(venv, env, code):
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, env=env,
                         timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


LEAK = '''
import json, vlmcompat.patches as p
from fault_probes import _state
p.apply()
_state("*", None)
p.revert()
print(json.dumps(_state("*", None)))
'''
STOCK = "import json; from fault_probes import _state; print(json.dumps(_state('*', None)))"


@pytest.mark.cells
@pytest.mark.slow
@pytest.mark.parametrize("requirements, leaked", [
    (["transformers==4.28.0", "tokenizers==0.13.2", "peft==0.8.2"], "instructblip_in_config_mapping"),
    (["transformers==4.37.0", "tokenizers==0.15.2", "peft==0.16.0"], "trainer_imports"),
], ids=["t4.28-config-mapping", "t4.37-trainer"])
def test_native_results_never_see_patched_state(faults, tmp_path, requirements, leaked):
    """The leak is real (revert() cannot take back a registration or an imported module); the
    product's run still gives native tasks the stock state, even when a patched task comes first
    in the plan."""
    venv, info = cells.build(requirements)
    if info.status is not InstallStatus.OK:
        pytest.skip(f"cannot build the cell: install {info.status.value}")
    env = faults.env(PYTHONPATH=str(faults.tmp / "plugins"), VLMCOMPAT_NO_AUTOPATCH="1")
    stock = _state_in(venv, env, STOCK)
    assert stock[leaked] is False
    assert _state_in(venv, env, LEAK)[leaked] is True, "apply + revert leaves this behind"
    out = tmp_path / "c.json"
    proc = faults.vlmcompat("probe", "--probe", "f-state-first", "--probe", "f-state", "--json", str(out), "--fresh",
                            env=env, python=str(venv / "bin" / "python"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = {(r.probe, r.mode.value): r for r in load_cell(out).results}
    assert all(r.status is Status.PASS for r in got.values()), got
    assert got[("f-state-first", "patched")].metrics[leaked] is True  # the worker did apply the patches
    assert got[("f-state", "native")].metrics == got[("f-state-first", "native")].metrics
    assert got[("f-state", "native")].metrics[leaked] == stock[leaked] is False

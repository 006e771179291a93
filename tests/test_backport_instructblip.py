"""The InstructBLIP backport: installed as transformers attributes only where transformers lacks the
class, reverted exactly, and on transformers 4.28 a model that saves, loads, trains and generates
(and turns the model-class probe's native ``model-class-missing`` into a patched pass)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FAMILIES = ("instructblip-t5", "instructblip-llama")
OLD_STACK = ["transformers==4.28.0", "tokenizers==0.13.2", "peft==0.8.2", "safetensors", "packaging", "tabulate"]


def test_backports_package_imports_nothing_heavy():
    code = ("import sys, vlmcompat.backports, vlmcompat.patches.backport_classes; "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_plan_replaces_nothing_where_transformers_has_instructblip():
    transformers = pytest.importorskip("transformers")
    if not hasattr(transformers, "InstructBlipForConditionalGeneration"):
        pytest.skip(f"transformers {transformers.__version__} has no InstructBLIP; the cells test covers it")
    from vlmcompat.patches import backport_classes

    stock = transformers.InstructBlipForConditionalGeneration
    plan = backport_classes.PATCH.plan()
    assert plan.replacements == []
    assert "has every class vlmcompat backports" in plan.reason
    assert transformers.InstructBlipForConditionalGeneration is stock


ON_OLD_TRANSFORMERS = r"""
import json, sys, tempfile, torch, transformers
from vlmcompat import patches
from vlmcompat.tiny import instructblip as tb
out = {"transformers": transformers.__version__}
NAMES = ("InstructBlipConfig", "InstructBlipForConditionalGeneration")

def importable():
    found = {}
    for name in NAMES:
        try:
            exec(f"from transformers import {name} as cls", {}, found)
            found[name] = found.pop("cls").__module__
        except ImportError:
            found[name] = None
    return found

out["before"] = importable()
out["status"] = patches.apply()["backport_classes"]
out["patched"] = importable()
from transformers import AutoConfig, InstructBlipForConditionalGeneration as Model
for lm in ("t5", "llama"):
    res = out[lm] = {}
    model = tb.build(lm)
    batch = tb.make_batch(lm, expanded=False)
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        res["config_model_type"] = json.load(open(f"{tmp}/config.json"))["model_type"]
        res["auto_config"] = type(AutoConfig.from_pretrained(tmp)).__module__
        loaded = Model.from_pretrained(tmp).eval()
    with torch.no_grad():
        res["reload_max_abs_diff"] = float((model(**batch).logits - loaded(**batch).logits).abs().max())
    loaded.train()
    loaded.gradient_checkpointing_enable()
    loss = loaded(**batch).loss
    loss.backward()
    res["loss"] = float(loss)
    res["grads"] = sum(p.grad is not None for p in loaded.parameters())
    res["params"] = sum(1 for _ in loaded.parameters())
    gen = {k: v for k, v in batch.items() if k != "labels"}
    res["generated_shape"] = list(loaded.eval().generate(**gen, max_new_tokens=3).shape)
    res["prompt_len"] = batch["input_ids"].shape[1]
out["reverted_status"] = patches.revert(["backport_classes"])["backport_classes"]
out["reverted"] = importable()
out["reverted_attrs"] = [n for n in NAMES if n in vars(transformers)]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def old_python(tmp_path_factory):
    if shutil.which("uv") is None:
        pytest.skip("uv is not installed; cells need it to build environments")
    from vlmcompat import cells
    from vlmcompat.results import InstallStatus

    venv = tmp_path_factory.mktemp("backport") / "t4.28"
    info = cells.create(venv, OLD_STACK)
    if info.status != InstallStatus.OK:
        pytest.skip(f"could not build a transformers 4.28 environment ({info.status}): {info.log_tail[-300:]}")
    return venv / "bin" / "python"


def _env(autopatch: bool) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("VLMCOMPAT_NO_AUTOPATCH", None)
    if not autopatch:
        env["VLMCOMPAT_NO_AUTOPATCH"] = "1"
    return env


@pytest.mark.cells
@pytest.mark.slow
def test_backport_on_transformers_428_installs_trains_and_reverts(old_python):
    proc = subprocess.run([str(old_python), "-c", ON_OLD_TRANSFORMERS], capture_output=True, text=True,
                          env=_env(autopatch=False), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["transformers"] == "4.28.0"
    assert out["before"] == {"InstructBlipConfig": None, "InstructBlipForConditionalGeneration": None}
    assert out["status"].startswith("applied: ")
    assert out["patched"] == {"InstructBlipConfig": "vlmcompat.backports.instructblip_config",
                              "InstructBlipForConditionalGeneration": "vlmcompat.backports.instructblip"}
    for lm in ("t5", "llama"):
        res = out[lm]
        assert res["config_model_type"] == "instructblip"
        assert res["auto_config"] == "vlmcompat.backports.instructblip_config"
        assert res["reload_max_abs_diff"] == 0.0
        assert res["loss"] == res["loss"] and res["loss"] > 0  # finite, not NaN
        assert res["grads"] > 0.9 * res["params"]  # the whole model is trainable without LoRA
        assert res["generated_shape"][0] == 2 and res["generated_shape"][1] > (3 if lm == "t5" else res["prompt_len"])
    assert out["reverted_status"] == "not applied"
    assert out["reverted"] == out["before"]
    assert out["reverted_attrs"] == []


@pytest.mark.cells
@pytest.mark.slow
def test_model_class_probe_missing_natively_passes_patched_on_428(old_python, tmp_path):
    report = tmp_path / "probe.json"
    args = [str(old_python), "-m", "vlmcompat", "probe", "--probe", "model-class", "--json", str(report)]
    for family in FAMILIES:
        args += ["--family", family]
    proc = subprocess.run(args, capture_output=True, text=True, env=_env(autopatch=False), cwd=REPO, timeout=600)
    results = {(r["family"], r["mode"]): r for r in json.loads(report.read_text())["results"]}
    for family in FAMILIES:
        native, patched = results[(family, "native")], results[(family, "patched")]
        assert (native["status"], native["issue"]) == ("fail", "model-class-missing"), proc.stdout
        assert patched["status"] == "pass", patched
        metrics = patched["metrics"]
        assert metrics["class"] == "vlmcompat.backports.instructblip.InstructBlipForConditionalGeneration"
        assert metrics["backend"] == "peft" and metrics["eval_loss_after"] < metrics["eval_loss_before"]
        assert metrics["round_trip_max_abs_diff"] <= 1e-5

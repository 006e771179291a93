"""The InstructBLIP backport on transformers 4.28: installed as transformers attributes where the
release lacks the class, a model that saves, loads, trains and generates, reverted exactly; and
the model-class probe's native ``model-class-missing`` turned into a patched pass."""

import pytest

pytestmark = [pytest.mark.cells, pytest.mark.slow]
FAMILIES = ("instructblip-t5", "instructblip-llama")


@pytest.fixture(scope="module")
def old(cell):
    return cell("transformers==4.28.0", "tokenizers==0.13.2", "peft==0.8.2", "safetensors")


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


def test_backport_on_transformers_428_installs_trains_and_reverts(old):
    out = old.run_json("-c", ON_OLD_TRANSFORMERS, env=old.env(VLMCOMPAT_NO_AUTOPATCH="1"))
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


def test_model_class_probe_missing_natively_passes_patched_on_428(old, tmp_path):
    results = old.probe(tmp_path, ["model-class"], list(FAMILIES))
    for family in FAMILIES:
        native, patched = results[("model-class", family, "native")], results[("model-class", family, "patched")]
        assert (native.status.value, native.issue) == ("fail", "model-class-missing"), native
        assert patched.status.value == "pass", patched
        metrics = patched.metrics
        assert metrics["class"] == "vlmcompat.backports.instructblip.InstructBlipForConditionalGeneration"
        assert metrics["backend"] == "peft" and metrics["eval_loss_after"] < metrics["eval_loss_before"]
        assert metrics["round_trip_max_abs_diff"] <= 1e-5

"""peft_seq2seq_wrapper: the old generation-kwargs method name, only where transformers lacks it.

On the host (transformers >= 5.18) the patch's three states are checked directly and the
training step is shown to be unchanged by it. In a transformers 5.18 + peft 0.20 cell the stock
SEQ_2_SEQ_LM wrapper cannot be built (peft-seq2seq-generation-kwargs); patched, it builds and
trains exactly like the stock task_type=None path, which works there."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from vlmcompat import patches, tiny, versions
from vlmcompat.patches import peft_seq2seq_wrapper as patch_module
from vlmcompat.train import LoraSpec, add_lora, training_step

ROOT = Path(__file__).resolve().parent.parent
OLD = patch_module.OLD_NAME

needs_518 = pytest.mark.skipif(not versions.transformers_at_least("5.18"),
                               reason="transformers < 5.18 still ships the old method name; nothing to patch")


@needs_518
def test_three_states():
    import transformers

    classes = [getattr(transformers, name) for name in patch_module.CLASS_NAMES]
    assert not any(OLD in cls.__dict__ or hasattr(cls, OLD) for cls in classes)
    patches.apply(["peft_seq2seq_wrapper"])
    assert patches.is_applied("peft_seq2seq_wrapper")
    assert all(hasattr(cls, OLD) for cls in classes)
    patches.revert(["peft_seq2seq_wrapper"])
    assert not any(hasattr(cls, OLD) for cls in classes)
    assert "not applied" in patches.status()["peft_seq2seq_wrapper"]


@needs_518
def test_old_name_delegates_to_the_new_method():
    from transformers import GenerationConfig

    patches.apply(["peft_seq2seq_wrapper"])
    model = tiny.build("blip2-t5").eval()
    calls = []
    model._prepare_text_encoder_decoder_kwargs_for_generation = lambda **kw: calls.append(kw) or kw["model_kwargs"]
    config = GenerationConfig()
    kwargs = {"attention_mask": torch.ones(1, 3)}
    assert getattr(model, OLD)(torch.ones(1, 3, dtype=torch.long), kwargs, "input_ids", config) is kwargs
    assert calls == [dict(inputs_tensor=calls[0]["inputs_tensor"], model_kwargs=kwargs, model_input_name="input_ids",
                          generation_config=config)]


def _losses(family: str) -> list[float]:
    fam = tiny.get(family)
    model = tiny.build(family, image_token=True)
    batch = tiny.make_batch(family, expanded=True)
    lora_model, _ = add_lora(model, LoraSpec(fam.lora_targets, task_type="SEQ_2_SEQ_LM", dropout=0.0))
    optimizer = torch.optim.AdamW([p for p in lora_model.parameters() if p.requires_grad], lr=5e-3)
    return [training_step(lora_model, batch, optimizer).loss for _ in range(2)]


@pytest.mark.parametrize("family", ["blip2-t5", "instructblip-t5"])
def test_training_step_identical_with_the_patch(family):
    """Where the stock wrapper builds (peft >= 0.21 here), the patch changes nothing in training."""
    patches.apply(["instructblip_forward", "blip2_forward"])
    stock = _losses(family)
    patches.apply(["peft_seq2seq_wrapper"])
    assert _losses(family) == stock


CELL_SCRIPT = textwrap.dedent("""
    import json, sys, torch
    from vlmcompat import known_issues, patches, tiny
    from vlmcompat.train import LoraSpec, add_lora, training_step
    out = {}
    for family in ("blip2-t5", "instructblip-t5"):
        fam = tiny.get(family)
        def losses(task_type):
            model = tiny.build(family, image_token=True)
            batch = tiny.make_batch(family, expanded=True)
            lora, _ = add_lora(model, LoraSpec(fam.lora_targets, task_type=task_type, dropout=0.0))
            opt = torch.optim.AdamW([p for p in lora.parameters() if p.requires_grad], lr=5e-3)
            return type(lora).__name__, [training_step(lora, batch, opt).loss for _ in range(2)]
        patches.apply(["instructblip_forward", "blip2_forward"])
        try:
            losses("SEQ_2_SEQ_LM")
            out[family + ":native"] = "built"
        except Exception as exc:
            out[family + ":native"] = known_issues.classify_exception(exc)
        out[family + ":none"] = losses(None)
        patches.apply(["peft_seq2seq_wrapper"])
        out[family + ":patched"] = losses("SEQ_2_SEQ_LM")
        patches.revert()
    print(json.dumps(out))
""")


@pytest.mark.cells
@pytest.mark.slow
def test_stock_wrapper_fails_and_patched_trains_like_task_type_none(tmp_path, need_uv):
    from vlmcompat import cells

    venv = tmp_path / "t5.18-p0.20"
    info = cells.create(venv, ["transformers==5.18.0", "peft==0.20.0"], extra=["-e", str(ROOT)])
    assert info.status.value == "ok", info.log_tail
    proc = subprocess.run([str(venv / "bin" / "python"), "-c", CELL_SCRIPT], capture_output=True, text=True,
                          cwd=tmp_path, env={"VLMCOMPAT_NO_AUTOPATCH": "1", "PATH": "/usr/bin:/bin",
                                             "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    for family in ("blip2-t5", "instructblip-t5"):
        assert out[family + ":native"] == "peft-seq2seq-generation-kwargs"
        name, patched = out[family + ":patched"]
        assert name == "PeftModelForSeq2SeqLM"
        assert patched == out[family + ":none"][1]

"""peft_seq2seq_wrapper: the old generation-kwargs method name, only where transformers lacks it.

On the host (transformers >= 5.18) the patch's three states are checked directly and the
training step is shown to be unchanged by it. In a transformers 5.18 + peft 0.20 cell the stock
SEQ_2_SEQ_LM wrapper cannot be built (peft-seq2seq-generation-kwargs); patched, it builds and
trains exactly like the stock task_type=None path, which works there."""

from pathlib import Path

import pytest
import torch

from vlmcompat import patches, tiny, versions
from vlmcompat.patches import peft_seq2seq_wrapper as patch_module
from vlmcompat.train import LoraSpec, add_lora, training_step

ROOT = Path(__file__).resolve().parents[3]
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

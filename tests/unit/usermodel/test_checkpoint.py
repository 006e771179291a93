"""The user's checkpoint as its family's model: the shrunk architecture and batches made with its own
tokenizer and processor settings (real fixture folders, the installed transformers)."""

from __future__ import annotations

import pytest

from vlmcompat import tiny, usermodel
from vlmcompat.results import Mode, ProbeResult, Status
from vlmcompat.usermodel import checkpoint

torch = pytest.importorskip("torch")
FIXTURES = checkpoint.Path(__file__).parents[2] / "fixtures" / "checkpoints"


@pytest.fixture
def activate():
    return lambda name: usermodel.activate(FIXTURES / name)


def test_blip2_opt_checkpoint_batches_use_its_tokenizer_and_image_token(activate):
    active = activate("blip2-opt-2.7b")
    assert active.name == "blip2-opt-2.7b" and tiny.get("blip2-opt") is active.family
    expanded = tiny.make_batch("blip2-opt", expanded=True)
    legacy = tiny.make_batch("blip2-opt", expanded=False)
    assert (expanded["input_ids"][:, :32] == 50265).all()  # num_query_tokens <image> tokens first
    assert not (legacy["input_ids"] == 50265).any()
    assert expanded["input_ids"][0, 32] == 2  # then OPT's BOS (</s>, id 2), as the processor writes it
    assert tuple(expanded["pixel_values"].shape) == (2, 3, 224, 224)
    model = tiny.model("blip2-opt", image_token=True)
    assert model.config.text_config.vocab_size == 50304 and model.config.text_config.hidden_size == 32
    assert model.config.image_token_index == 50265
    assert torch.isfinite(model(**expanded).loss)


def test_a_checkpoint_saved_before_445_gets_the_id_the_conversion_adds(activate):
    activate("blip2-flan-t5-xl-pre445")
    legacy = tiny.config("blip2-t5", image_token=False)
    assert getattr(legacy, "image_token_index", None) is None
    assert tiny.config("blip2-t5", image_token=True).image_token_index == 32100  # len(tokenizer): a new <image>
    batch = tiny.make_batch("blip2-t5", expanded=True)
    assert (batch["input_ids"][:, :32] == 32100).all() and batch["labels"].shape[0] == 2


def test_llava_expanded_inputs_hold_one_image_token_per_patch(activate):
    activate("llava-1.5-7b-hf")
    expanded, legacy = tiny.make_batch("llava", expanded=True), tiny.make_batch("llava", expanded=False)
    assert int((expanded["input_ids"][0] == 32000).sum()) == 576  # (336 / 14) ** 2
    assert int((legacy["input_ids"][0] == 32000).sum()) == 1
    assert (expanded["labels"][expanded["input_ids"] == 32000] == -100).all()


def test_results_name_the_model_and_read_back():
    result = ProbeResult("peft-wrapper", "blip2-opt", Mode.NATIVE, Status.PASS, model="blip2-opt-2.7b")
    assert ProbeResult.from_dict(result.to_dict()) == result
    assert "model" not in ProbeResult("p", "f", Mode.NATIVE, Status.PASS).to_dict()

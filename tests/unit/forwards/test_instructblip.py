"""The patched InstructBLIP forward: three patch states, and numerical equality with the stock
forward wherever the stock forward works (here: the installed transformers, expanded inputs;
the legacy format is compared in tests/test_probe_cells.py on a transformers that supports it).

Tolerances: loss and logits within 1e-5 absolute (same weights, same batch, float32, CPU; the
two paths run the same kernels, so the differences seen are 0.0).
"""

import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from vlmcompat import patches, tiny
from vlmcompat.errors import ForwardInputError
from vlmcompat.forwards import qformer
from vlmcompat.forwards.merge import causal_lm_loss

FAMILIES = ["instructblip-t5", "instructblip-llama"]
ATOL = 1e-5
CLS = transformers.InstructBlipForConditionalGeneration


def _run(model, batch):
    with torch.no_grad():
        return model(**batch)


@pytest.mark.parametrize("family", FAMILIES)
def test_patched_equals_stock_on_expanded_inputs(family):
    model = tiny.build(family, image_token=True)
    batch = tiny.make_batch(family, expanded=True)
    stock = _run(model, batch)
    patches.apply(["instructblip_forward"])
    patched = _run(model, batch)
    assert abs(float(stock.loss) - float(patched.loss)) <= ATOL
    assert stock.logits.shape == patched.logits.shape
    assert float((stock.logits - patched.logits).abs().max()) <= ATOL


@pytest.mark.parametrize("family", FAMILIES)
def test_legacy_inputs_equal_expanded_inputs_when_patched(family):
    """Same weights: a legacy checkpoint's batch and the expanded batch describe the same sequence."""
    patches.apply(["instructblip_forward"])
    legacy = _run(tiny.build(family, image_token=False), tiny.make_batch(family, expanded=False))
    expanded = _run(tiny.build(family, image_token=True), tiny.make_batch(family, expanded=True))
    assert abs(float(legacy.loss) - float(expanded.loss)) <= ATOL


def test_three_states_unpatched_patched_reverted():
    original_forward = CLS.__dict__["forward"]
    original_generate = CLS.__dict__["generate"]
    model = tiny.build("instructblip-llama", image_token=False)
    batch = tiny.make_batch("instructblip-llama", expanded=False)
    if hasattr(CLS, "get_placeholder_mask"):  # transformers >= 4.55: the legacy path is gone
        with pytest.raises(AttributeError, match="'bool' object has no attribute 'unsqueeze'"):
            _run(model, batch)
    status = patches.apply(["instructblip_forward"])
    assert status["instructblip_forward"].startswith("applied")
    assert CLS.__dict__["forward"] is qformer.instructblip_forward
    assert torch.isfinite(_run(model, batch).loss)
    patches.apply(["instructblip_forward"])  # idempotent: nothing re-wrapped
    assert CLS.__dict__["forward"] is qformer.instructblip_forward
    patches.revert(["instructblip_forward"])
    assert CLS.__dict__["forward"] is original_forward
    assert CLS.__dict__["generate"] is original_generate
    assert patches.status()["instructblip_forward"] == "not applied"


def test_unknown_models_are_left_untouched():
    t5_forward = transformers.T5ForConditionalGeneration.__dict__["forward"]
    llama_forward = transformers.LlamaForCausalLM.__dict__["forward"]
    patches.apply()
    assert transformers.T5ForConditionalGeneration.__dict__["forward"] is t5_forward
    assert transformers.LlamaForCausalLM.__dict__["forward"] is llama_forward


def test_peft_injected_none_arguments_are_dropped():
    patches.apply(["instructblip_forward"])
    model = tiny.build("instructblip-t5", image_token=True)
    batch = tiny.make_batch("instructblip-t5", expanded=True)
    out = _run(model, {**batch, "inputs_embeds": None, "decoder_inputs_embeds": None})
    assert torch.isfinite(out.loss)


def test_input_ids_and_inputs_embeds_together_is_a_clear_error():
    patches.apply(["instructblip_forward"])
    model = tiny.build("instructblip-llama", image_token=True)
    batch = tiny.make_batch("instructblip-llama", expanded=True)
    embeds = model.get_input_embeddings()(batch["input_ids"])
    with pytest.raises(ForwardInputError, match="both input_ids and inputs_embeds"):
        _run(model, {**batch, "inputs_embeds": embeds})


def test_wrong_number_of_image_tokens_is_a_clear_error():
    patches.apply(["instructblip_forward"])
    model = tiny.build("instructblip-llama", image_token=True)
    batch = tiny.make_batch("instructblip-llama", expanded=True)
    batch["input_ids"] = batch["input_ids"][:, 1:]  # one image token short
    batch["attention_mask"] = batch["attention_mask"][:, 1:]
    batch["labels"] = batch["labels"][:, 1:]
    with pytest.raises(ForwardInputError, match=r"image token count per example is \[3, 3\]"):
        _run(model, batch)


@pytest.mark.parametrize("family", FAMILIES)
def test_num_items_in_batch_gives_sum_over_label_tokens_divided_by_count(family):
    patches.apply(["instructblip_forward"])
    model = tiny.build(family, image_token=True)
    batch = tiny.make_batch(family, expanded=True)
    mean_loss = float(_run(model, batch).loss)
    labels = batch["labels"]
    n_tokens = int((labels[:, 1:] != -100).sum()) if family.endswith("llama") else int((labels != -100).sum())
    scaled = float(_run(model, {**batch, "num_items_in_batch": 100}).loss)
    assert scaled == pytest.approx(mean_loss * n_tokens / 100, rel=1e-5)


def test_causal_loss_matches_stock_slicing():
    logits = torch.randn(2, 7, 11)
    labels = torch.tensor([[-100, 3, 4, 5], [-100, -100, 2, -100]])
    tail = logits[:, -4:, :]
    expected = torch.nn.functional.cross_entropy(tail[:, :-1].reshape(-1, 11), labels[:, 1:].reshape(-1))
    assert float(causal_lm_loss(logits, labels)) == pytest.approx(float(expected), rel=1e-6)
    assert torch.isnan(causal_lm_loss(logits, torch.full((2, 4), -100)))  # as stock: 0/0


def test_autopatch_on_import_and_env_switch():
    code = ("import vlmcompat.patch, transformers; from vlmcompat.forwards import qformer as f; "
            "print(transformers.InstructBlipForConditionalGeneration.__dict__['forward'] is f.instructblip_forward)")
    on = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                        env={"PATH": "", "HF_HUB_OFFLINE": "1"})
    off = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PATH": "", "HF_HUB_OFFLINE": "1", "VLMCOMPAT_NO_AUTOPATCH": "1"})
    assert on.stdout.strip() == "True", on.stderr[-500:]
    assert off.stdout.strip() == "False", off.stderr[-500:]

"""The patched BLIP-2 forward equals the stock one wherever the stock one works.

Tolerance: loss and logits within 1e-5 absolute (same weights and batch, float32, CPU; the
paths run the same kernels and the differences measured are 0.0). Both input formats are
compared where the installed transformers supports them (legacy up to 4.54, expanded from
4.45); the other format must still run patched and give the same loss as the supported one.
"""

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from vlmcompat import patches, tiny, versions
from vlmcompat.forwards import qformer

FAMILIES = ["blip2-opt", "blip2-t5"]
ATOL = 1e-5
CLS = transformers.Blip2ForConditionalGeneration


def _outputs(family, model, batch):
    no_labels = {k: v for k, v in batch.items() if k != "labels"}
    if tiny.get(family).is_seq2seq:
        no_labels["decoder_input_ids"] = torch.zeros((batch["input_ids"].shape[0], 1), dtype=torch.long)
    with torch.no_grad():
        return float(model(**batch).loss), model(**no_labels).logits


def _stock_reads(expanded: bool) -> bool:
    """Expanded inputs from 4.45 (before, image tokens are read as text); legacy ones until 4.54."""
    if expanded:
        return versions.transformers_at_least("4.45")
    return not hasattr(CLS, "get_placeholder_mask")


@pytest.mark.parametrize("expanded", [False, True], ids=["legacy", "expanded"])
@pytest.mark.parametrize("family", FAMILIES)
def test_patched_equals_stock_where_stock_works(family, expanded):
    model = tiny.build(family, image_token=expanded)
    batch = tiny.make_batch(family, expanded=expanded)
    if _stock_reads(expanded):
        stock_loss, stock_logits = _outputs(family, model, batch)
    patches.apply(["blip2_forward"])
    patched_loss, patched_logits = _outputs(family, model, batch)
    if _stock_reads(expanded):
        assert abs(stock_loss - patched_loss) <= ATOL
        assert stock_logits.shape == patched_logits.shape
        assert float((stock_logits - patched_logits).abs().max()) <= ATOL
    # same weights, the other format: the same sequence, so the same loss
    other_loss, _ = _outputs(family, tiny.build(family, image_token=not expanded),
                             tiny.make_batch(family, expanded=not expanded))
    assert abs(patched_loss - other_loss) <= ATOL


def test_peft_task_type_wrapper_runs_patched():
    peft = pytest.importorskip("peft")
    patches.apply(["blip2_forward"])
    model = tiny.build("blip2-opt", image_token=True)
    config = peft.LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"],
                             task_type=peft.TaskType.CAUSAL_LM)
    lora = peft.get_peft_model(model, config)
    with torch.no_grad():
        assert torch.isfinite(lora(**tiny.make_batch("blip2-opt", expanded=True)).loss)


def test_apply_and_revert_restore_the_original():
    original = CLS.__dict__["forward"]
    assert patches.apply(["blip2_forward"])["blip2_forward"].startswith("applied")
    assert CLS.__dict__["forward"] is qformer.blip2_forward
    patches.revert(["blip2_forward"])
    assert CLS.__dict__["forward"] is original

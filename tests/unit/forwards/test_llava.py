"""The patched LLaVA forward equals the stock one wherever the stock one works.

Tolerance: loss and logits within 1e-5 absolute on attended positions (same weights and batch,
float32, CPU; measured differences are 0.0). Padded positions are excluded: the stock legacy
path (4.36-4.47) gives them position id 1, later releases and the patch count on. Legacy inputs
(one <image> token) are compared where the stock model expands them (4.37-4.47), expanded ones
where it reads them (>= 4.45); the other format must give the same loss patched.
"""

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
if not hasattr(transformers, "LlavaForConditionalGeneration"):
    pytest.skip(f"transformers {transformers.__version__} has no LlavaForConditionalGeneration (first in 4.36)",
                allow_module_level=True)

from vlmcompat import patches, tiny, versions
from vlmcompat.patches import llava_forward

ATOL = 1e-5
CLS = transformers.LlavaForConditionalGeneration


def _stock_reads(expanded: bool) -> bool:
    if expanded:
        return versions.transformers_at_least("4.45")
    return not versions.transformers_at_least("4.48")


def _outputs(model, batch):
    with torch.no_grad():
        loss = float(model(**batch).loss)
        logits = model(**{k: v for k, v in batch.items() if k != "labels"}).logits
    return loss, logits


@pytest.mark.parametrize("expanded", [False, True], ids=["legacy", "expanded"])
def test_patched_equals_stock_where_stock_works(expanded):
    model = tiny.build("llava")
    batch = tiny.make_batch("llava", expanded=expanded)
    if _stock_reads(expanded):
        stock_loss, stock_logits = _outputs(model, batch)
    patches.apply(["llava_forward"])
    loss, logits = _outputs(model, batch)
    if _stock_reads(expanded):
        attended = torch.ones(logits.shape[:2], dtype=torch.bool)
        attended[1, -2:] = False  # example 1 is padded right by two tokens
        assert abs(stock_loss - loss) <= ATOL
        assert stock_logits.shape == logits.shape
        assert float((stock_logits - logits)[attended].abs().max()) <= ATOL
    other_loss, other_logits = _outputs(model, tiny.make_batch("llava", expanded=not expanded))
    assert abs(loss - other_loss) <= ATOL
    assert other_logits.shape == logits.shape


def test_a_wrong_image_token_count_is_a_clear_error():
    patches.apply(["llava_forward"])
    batch = tiny.make_batch("llava", expanded=True)
    batch["input_ids"][0, 2] = 5  # one image token short
    with pytest.raises(ValueError, match="one <image> token"):
        tiny.build("llava")(**batch)


def test_generate_after_patching_produces_new_tokens():
    patches.apply(["llava_forward"])
    batch = tiny.make_batch("llava", expanded=versions.transformers_at_least("4.45"))
    batch.pop("labels")
    with torch.no_grad():
        out = tiny.build("llava").generate(**batch, max_new_tokens=3, do_sample=False)
    assert out.shape[0] == 2 and out.shape[1] >= 3


def test_apply_and_revert_restore_the_original():
    original = CLS.__dict__["forward"]
    patches.apply(["llava_forward"])
    assert CLS.__dict__["forward"] is llava_forward.forward
    patches.revert(["llava_forward"])
    assert CLS.__dict__["forward"] is original

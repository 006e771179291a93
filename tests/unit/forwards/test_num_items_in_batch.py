"""Trainer's ``num_items_in_batch``: with vlmcompat's patched forward the loss is the sum over
label tokens divided by that count (what gradient accumulation needs), for a T5 family and a
causal family. Where the stock forward accepts the argument, the causal families' stock loss equals
the patched one; the stock T5 path (transformers 5.x) accepts it but ignores it (T5's mean)."""

import pytest

torch = pytest.importorskip("torch")

from vlmcompat import patches, tiny
from vlmcompat.forwards.merge import IGNORE_INDEX
from vlmcompat.probes.common import processor_expands

FAMILIES = ["blip2-t5", "instructblip-t5", "blip2-opt", "instructblip-llama"]
NUM_ITEMS = 11  # e.g. label tokens across two accumulated micro-batches; not this batch's count


def _summed_token_loss(family, logits, labels):
    flat = torch.nn.functional.cross_entropy
    if tiny.get(family).is_seq2seq:
        return flat(logits.float().reshape(-1, logits.size(-1)), labels.reshape(-1), ignore_index=IGNORE_INDEX,
                    reduction="sum")
    logits = logits[:, -labels.size(1):, :]
    return flat(logits[:, :-1].float().reshape(-1, logits.size(-1)), labels[:, 1:].reshape(-1),
                ignore_index=IGNORE_INDEX, reduction="sum")


def _loss_and_logits(family, **extra):
    expanded = processor_expands()
    model = tiny.build(family, seed=0, image_token=expanded)
    batch = tiny.make_batch(family, expanded)
    with torch.no_grad():
        out = model(**batch, **extra)
    return out.loss, out.logits, batch["labels"]


@pytest.mark.parametrize("family", FAMILIES)
def test_patched_loss_is_sum_over_label_tokens_divided_by_num_items(family):
    patches.apply()
    loss, logits, labels = _loss_and_logits(family, num_items_in_batch=NUM_ITEMS)
    expected = _summed_token_loss(family, logits, labels) / NUM_ITEMS
    assert torch.allclose(loss, expected, rtol=1e-5, atol=1e-6), (float(loss), float(expected))
    mean, _, _ = _loss_and_logits(family)
    n_tokens = int((labels[:, 1:] != IGNORE_INDEX).sum()) if not tiny.get(family).is_seq2seq else \
        int((labels != IGNORE_INDEX).sum())
    assert torch.allclose(mean, expected * NUM_ITEMS / n_tokens, rtol=1e-5), "without it: the mean over tokens"


@pytest.mark.parametrize("family", FAMILIES)
def test_patched_equals_stock_where_stock_accepts_num_items_in_batch(family):
    try:
        stock, _, _ = _loss_and_logits(family, num_items_in_batch=NUM_ITEMS)
    except TypeError as exc:
        assert "num_items_in_batch" in str(exc) or "inputs_embeds" in str(exc) or "unexpected keyword" in str(exc)
        pytest.skip(f"the stock forward here rejects num_items_in_batch: {exc}")
    patches.apply()
    patched, _, _ = _loss_and_logits(family, num_items_in_batch=NUM_ITEMS)
    if tiny.get(family).is_seq2seq and not torch.allclose(stock, patched, rtol=1e-5, atol=1e-6):
        # the stock BLIP-2/InstructBLIP T5 path accepts the argument but returns T5's own mean:
        # Trainer then skips its gradient-accumulation scaling, so the patched loss is the right one
        patches.revert()
        mean, _, _ = _loss_and_logits(family)
        assert torch.allclose(stock, mean, rtol=1e-6), "stock T5 path: num_items_in_batch ignored"
        return
    assert torch.allclose(stock, patched, rtol=1e-5, atol=1e-6), (float(stock), float(patched))

"""``nan-loss``: a batch whose labels are all ``-100`` must not poison the weights.

Truncation that cuts off the answer, or a collator that masks everything, leaves a batch with
no label to learn from. The stock losses average over zero tokens: the loss is NaN, its
gradients are NaN, and one optimizer step turns the LoRA weights into NaN.

- native: a plain loop (``loss.backward(); optimizer.step()``) on such a batch; the probe
  confirms the loss is NaN and the LoRA weights became non-finite (or changed) →
  ``nan-loss-all-masked``;
- patched: :func:`vlmcompat.train.training_step` must return a finite, zero-weight loss,
  skip the update, warn, and leave every parameter bit-identical.
"""

from __future__ import annotations

import math
import warnings

from vlmcompat import tiny
from vlmcompat.forwards.merge import IGNORE_INDEX
from vlmcompat.probes.base import Metrics, Probe, ProbeFailed
from vlmcompat.probes.common import lora_model, processor_expands, require_class
from vlmcompat.results import Mode
from vlmcompat.train import training_step

LR = 1e-2


def all_masked_batch(family: str, expanded: bool) -> dict:
    batch = tiny.make_batch(family, expanded)
    batch["labels"] = batch["labels"].clone().fill_(IGNORE_INDEX)
    return batch


def run(family: str, mode: Mode) -> Metrics:
    import torch

    require_class(family)
    expanded = processor_expands()
    model, backend = lora_model(family, mode, expanded, dropout=0.0)
    # a trained adapter (lora_B is zero at init, which would hide a NaN gradient in lora_A)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.02, generator=torch.Generator().manual_seed(7))
    model.train()
    trainable = {n: p for n, p in model.named_parameters() if p.requires_grad}
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    optimizer = torch.optim.AdamW(list(trainable.values()), lr=LR)
    batch = all_masked_batch(family, expanded)
    metrics: Metrics = {"backend": backend, "label_tokens": 0}
    if mode is Mode.NATIVE:
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        non_finite = [n for n, p in trainable.items() if not bool(torch.isfinite(p).all())]
        changed = [n for n, p in trainable.items() if not torch.equal(p.detach(), before[n])]
        metrics.update(loss=_number(loss), nonfinite_params=len(non_finite), changed_params=len(changed))
        if math.isnan(float(loss)) and (non_finite or changed):
            raise ProbeFailed("nan-loss-all-masked",
                              f"an all-masked batch gives loss {float(loss)}; one optimizer step makes "
                              f"{len(non_finite)} of {len(trainable)} trainable tensors non-finite and changes "
                              f"{len(changed)}", metrics)
        return metrics
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = training_step(model, batch, optimizer)
    changed = [n for n, p in model.named_parameters() if not torch.equal(p.detach(), before[n])]
    warned = any("-100" in str(w.message) for w in caught)
    metrics.update(loss=result.loss, skipped=result.skipped, changed_params=len(changed), warned=warned)
    if not math.isfinite(result.loss) or not result.skipped or changed:
        raise ProbeFailed("nan-loss-all-masked",
                          f"training_step on an all-masked batch: loss {result.loss}, skipped={result.skipped}, "
                          f"{len(changed)} parameters changed", metrics)
    return metrics


def _number(loss) -> float | str:
    value = float(loss)
    return value if math.isfinite(value) else str(value)


PROBE = Probe(
    name="nan-loss",
    summary="all labels -100: the stock loss is NaN and poisons the weights; training_step skips the update",
    run=run,
    families=tuple(tiny.FAMILIES),
)

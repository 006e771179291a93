"""``token-type-ids``: does the family train on a batch without its token type ids?

Processors return ``token_type_ids`` (Gemma 3, PaliGemma: 1 on image tokens) and, for Qwen from
5.x, ``mm_token_type_ids``; collators that rebuild batches from ``input_ids`` drop them. Gemma 3
then refuses to train on transformers 5.0-5.5, PaliGemma on 5.0-5.8 (``token_type_ids is required
as a model input when training``: ``token-type-ids-required``), Qwen2-VL and Qwen3-VL from 5.4
(``... but `mm_token_type_ids` is missing``: ``mm-token-type-ids-required``).

- native: a training forward with labels on the family's batch without them;
- patched: the same passes (the ``token_type_ids`` patch computes them from ``input_ids``), and
  :class:`~vlmcompat.collators.VisionLanguageCollator` with ``token_type_ids="image"`` / ``"labels"`` writes the
  processor's ``token_type_ids`` from examples that lack them (Gemma 3, PaliGemma).
"""

from __future__ import annotations

from vlmcompat import known_issues, tiny
from vlmcompat.collators import VisionLanguageCollator, examples_from_batch
from vlmcompat.forwards.language_model import image_token_id
from vlmcompat.probes.base import Metrics, Probe, ProbeFailed, ProbeSkipped
from vlmcompat.probes.common import require_class, without
from vlmcompat.results import Mode

ARGUMENT = {"gemma3": "token_type_ids", "paligemma2": "token_type_ids", "qwen2-vl": "mm_token_type_ids",
            "qwen2.5-vl": "mm_token_type_ids", "qwen3-vl": "mm_token_type_ids"}
MARKS = {"gemma3": "image", "paligemma2": "labels"}  # what the processor's token_type_ids mark


def collator_check(family: str, batch) -> str:
    """The collator's token_type_ids from examples without them equal the processor's."""
    import torch

    config = tiny.config(family)
    examples = [without(e, "token_type_ids") for e in examples_from_batch(batch)]
    collated = VisionLanguageCollator(pad_token_id=0, image_token_id=image_token_id(config),
                                      token_type_ids=MARKS[family])(examples)
    if not torch.equal(collated["token_type_ids"], batch["token_type_ids"]):
        raise ProbeFailed(None, "VisionLanguageCollator(token_type_ids=...) wrote other token_type_ids than the "
                          "processor's")
    return "the processor's"


def run(family: str, mode: Mode) -> Metrics:
    require_class(family)
    argument = ARGUMENT[family]
    batch = tiny.make_batch(family, True)
    if argument not in batch:
        raise ProbeSkipped(f"this release's {tiny.get(family).model_class} takes no {argument} (its processor "
                           "returns none)")
    model = tiny.model(family, seed=0, image_token=True)
    model.train()
    metrics: Metrics = {"argument": argument}
    try:
        metrics["loss_without"] = round(float(model(**without(batch, argument)).loss), 5)
    except ValueError as exc:
        issue = known_issues.classify_exception(exc)
        if issue is None:
            raise
        raise ProbeFailed(issue, f"training without {argument}: {exc}", metrics) from exc
    finally:
        model.eval()
    if mode is Mode.PATCHED and argument == "token_type_ids":
        metrics["collator_token_type_ids"] = collator_check(family, batch)
    return metrics


PROBE = Probe(
    name="token-type-ids",
    summary="training on a batch without token_type_ids / mm_token_type_ids (patched: computed from input_ids)",
    run=run,
    families=tuple(ARGUMENT),
)

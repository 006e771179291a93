"""What the model probes share: the family's class, the installed processor's input format, a
LoRA-wrapped tiny model, the eval-mode loss, the adapter round trip, and comparisons."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from typing import Any

from vlmcompat import known_issues, tiny, versions
from vlmcompat.probes.base import ProbeFailed, ProbeSkipped
from vlmcompat.results import Mode
from vlmcompat.train import FALLBACK, LoraSpec, add_lora

# First release whose processors expand image tokens into input_ids (BLIP-2/InstructBLIP).
PROCESSOR_EXPANDS_SINCE = "4.45"
ROUND_TRIP_ATOL = 1e-5
ROUND_TRIP_RTOL = 1e-5  # float32 rounding grows with the logits' size: torch.allclose's rule (T5 reaches 1.3e-5)
FAMILY_TASK_TYPE = "family"  # lora_model(task_type=...): the family's PEFT task type
NATIVE_PLAIN = "native-plain"  # ...: task_type=None natively (what every release accepts), the family's patched


def require_class(family: str) -> tiny.Family:
    """The family, or skip when the installed transformers lacks its class or a class its tiny model is
    built from (``Family.requires``), or ships it but is older than the family's first working release
    (PaliGemma with a Gemma 2 LM: 4.41-4.44 cannot generate)."""
    import transformers

    fam = tiny.get(family)
    if not tiny.class_available(family):
        raise ProbeSkipped(
            f"{versions.describe('transformers')} has no {fam.model_class} (first in {fam.since}); "
            "see the model-class probe"
        )
    for part, since in fam.requires:
        if not hasattr(transformers, part):
            raise ProbeSkipped(f"{versions.describe('transformers')} has no {part} (first in {since}), which "
                               f"{family}'s language model is; the family needs transformers>={since}")
    stock = getattr(transformers, fam.model_class).__module__.startswith("transformers.")
    if stock and not versions.transformers_at_least(fam.since):
        raise ProbeSkipped(f"{versions.describe('transformers')} ships {fam.model_class}, but {family}'s tiny model "
                           f"builds, trains and generates from {fam.since} on")
    return fam


def processor_expands() -> bool:
    """Whether the installed transformers' processor writes image tokens into input_ids."""
    return versions.transformers_at_least(PROCESSOR_EXPANDS_SINCE)


def input_format(expanded: bool) -> str:
    return "expanded" if expanded else "legacy"


def lora_model(family: str, mode: Mode, expanded: bool, task_type: str | None = FAMILY_TASK_TYPE,
               dropout: float = 0.05, train_extra: bool = False, prepare: Callable[[Any], None] | None = None):
    """``(lora_model, backend)``: the tiny model of ``family`` with LoRA on its language model.

    ``task_type``: :data:`FAMILY_TASK_TYPE`, :data:`NATIVE_PLAIN`, or a PEFT task type (None: none).
    ``train_extra``: also train (and save) the family's extra modules (TinyLLaVA's connector).
    ``prepare(model)`` runs before LoRA is added (e.g. to enable gradient checkpointing). Patched
    mode falls back to vlmcompat's own LoRA when peft cannot be imported here.
    """
    fam = tiny.get(family)
    if task_type == FAMILY_TASK_TYPE:
        task_type = fam.peft_task_type
    elif task_type == NATIVE_PLAIN:
        task_type = fam.peft_task_type if mode is Mode.PATCHED else None
    model = tiny.model(family, seed=0, image_token=expanded)
    if prepare is not None:
        prepare(model)
    spec = LoraSpec(fam.lora_targets, task_type=task_type, dropout=dropout,
                    modules_to_save=fam.extra_trainable if train_extra else ())
    return add_lora(model, spec, allow_fallback=mode is Mode.PATCHED)


def eval_loss(model, batch) -> float:
    """The loss on a fixed batch without dropout (training losses are noisy by design)."""
    import torch

    was_training = model.training
    model.eval()
    with torch.no_grad():
        loss = float(model(**batch).loss)
    model.train(was_training)
    return loss


def adapter_round_trip(family: str, expanded: bool, trained, backend: str, batch,
                       save: Callable[[str], Any] | None = None, who: str = "adapter save/load") -> float:
    """Save the adapter (with ``save(dir)``, e.g. the trainer's way, else the model's own), load it into
    a fresh model and compare logits; the max abs difference, or :class:`ProbeFailed` past the tolerance.

    A model that returns no logits when given labels is compared without them: TRL 1.7-1.14's SFTTrainer
    (default ``loss_type="chunked_nll"``) replaces the forward of the model it trains with one that
    computes only the loss when labels are given and runs the original forward otherwise, by design."""
    import torch

    trained.eval()
    with torch.no_grad():
        reference = trained(**batch).logits
        if reference is None and "labels" in batch:
            batch = without(batch, "labels")
            reference = trained(**batch).logits
    with tempfile.TemporaryDirectory() as tmp:
        fresh = tiny.model(family, seed=0, image_token=expanded)
        if backend == FALLBACK:
            from vlmcompat import lora_fallback

            lora_fallback.save_adapter(trained, tmp, base_model_name_or_path=f"vlmcompat-tiny/{family}",
                                       task_type=tiny.get(family).peft_task_type)
            loaded = lora_fallback.load_adapter(fresh, tmp)
        else:
            from peft import PeftModel

            (save or trained.save_pretrained)(tmp)
            loaded = PeftModel.from_pretrained(fresh, tmp)
        loaded.eval()
        with torch.no_grad():
            reloaded = loaded(**batch).logits
    diff = max_abs_diff(reference, reloaded)
    if not same_logits(reference, reloaded):
        message = f"{who} changed the logits (max abs diff {diff:.2e})" + _kept_state(family, expanded, batch)
        found = known_issues.classify(message)
        raise ProbeFailed(found[0] if found else None, message, {"round_trip_max_abs_diff": diff})
    return diff


def _kept_state(family: str, expanded: bool, batch) -> str:
    """Why a round trip can differ without the adapter being at fault: a fresh model whose second
    identical forward differs from its first keeps state between calls (Qwen2-VL's rope_deltas on 4.47-4.48)."""
    import torch

    model = tiny.model(family, seed=0, image_token=expanded).eval()
    with torch.no_grad():
        first, second = model(**batch).logits, model(**batch).logits
    if same_logits(first, second):
        return ""
    diff = max_abs_diff(first, second)
    what = "it kept rope_deltas from an earlier call" if getattr(model, "rope_deltas", None) is not None \
        else "it keeps state between calls"
    return f"; a fresh model's second identical forward differs from its first by {diff:.2e}: {what}"


def first_failure(failures: list[tuple[str | None, str, BaseException | None]], metrics: dict[str, Any]) -> None:
    """Raise the first of several attempts' failures: an unexpected exception as itself (its type
    kept), a known or checked one as :class:`ProbeFailed`."""
    if not failures:
        return
    issue, message, exc = failures[0]
    if exc is not None and issue is None:
        raise exc
    raise ProbeFailed(issue, message, metrics)


def without(batch: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in batch.items() if k not in keys}


def generation_inputs(batch: dict[str, Any]) -> dict[str, Any]:
    """The prompt part of a batch, as users pass it to generate()."""
    return without(batch, "labels")


def same_logits(a, b) -> bool:
    """Equal up to float32 rounding: ``|a - b| <= ROUND_TRIP_ATOL + ROUND_TRIP_RTOL * |b|`` everywhere."""
    import torch

    return torch.allclose(a.float(), b.float(), rtol=ROUND_TRIP_RTOL, atol=ROUND_TRIP_ATOL)


def max_abs_diff(a, b) -> float:
    return float((a.detach().float() - b.detach().float()).abs().max())

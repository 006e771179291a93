"""The LoRA training step, for users and for the probes.

``training_step(model, batch, optimizer)`` is one optimizer step that never lets a bad batch
poison the weights: a batch whose labels are all ``-100`` (truncation cut off the answer, a
collator masked everything) gives the stock models a NaN loss (mean over zero tokens); here it
returns a finite zero-weight loss, skips the update and warns once.

``add_lora(model, LoraSpec(target_modules, ...), allow_fallback=False)`` puts LoRA on the language
model through peft, or through vlmcompat's own LoRA (same semantics and on-disk format) when peft
cannot be imported and ``allow_fallback`` is set.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

from vlmcompat.forwards.merge import IGNORE_INDEX

PEFT = "peft"
FALLBACK = "vlmcompat-lora"


@dataclass
class LoraSpec:
    target_modules: tuple[str, ...]
    r: int = 4
    alpha: int = 8
    dropout: float = 0.05
    task_type: str | None = None  # SEQ_2_SEQ_LM | CAUSAL_LM | None
    modules_to_save: tuple[str, ...] = ()  # non-LoRA modules trained and saved in full (peft's modules_to_save)


@dataclass
class StepResult:
    loss: float
    skipped: bool = False
    reason: str = ""


@dataclass
class _WarnOnce:
    seen: set[str] = field(default_factory=set)

    def __call__(self, key: str, message: str) -> None:
        if key not in self.seen:
            self.seen.add(key)
            warnings.warn(message, RuntimeWarning, stacklevel=3)


_warn_once = _WarnOnce()


def peft_error() -> BaseException | None:
    """Why peft cannot be used here (the import error), or None when it can."""
    try:
        import peft  # noqa: F401
        from peft import LoraConfig, get_peft_model  # noqa: F401
    except Exception as exc:  # ImportError, AttributeError on half-compatible stacks
        return exc
    return None


def add_lora(model, spec: LoraSpec, allow_fallback: bool = False):
    """``(lora_model, backend)``; backend is ``"peft"`` or ``"vlmcompat-lora"``.

    With ``allow_fallback`` the fallback is used when peft cannot be imported; otherwise the
    import error propagates (that is the native diagnosis).
    """
    error = peft_error()
    if error is None:
        from peft import LoraConfig, TaskType, get_peft_model

        task_type = getattr(TaskType, spec.task_type) if spec.task_type else None
        config = LoraConfig(r=spec.r, lora_alpha=spec.alpha, lora_dropout=spec.dropout,
                            target_modules=list(spec.target_modules), task_type=task_type, bias="none",
                            modules_to_save=list(spec.modules_to_save) or None)
        return get_peft_model(model, config), PEFT
    if not allow_fallback:
        raise error
    from vlmcompat import lora_fallback

    lora_model = lora_fallback.inject(model, list(spec.target_modules), spec.r, spec.alpha, spec.dropout,
                                      modules_to_save=list(spec.modules_to_save))
    return lora_model, FALLBACK


def _labels_all_masked(batch: dict[str, Any]) -> bool:
    labels = batch.get("labels")
    return labels is not None and not bool((labels != IGNORE_INDEX).any())


def training_step(model, batch: dict[str, Any], optimizer, max_grad_norm: float | None = None) -> StepResult:
    """Forward, backward and one optimizer step; skips (and warns once about) unusable batches."""
    import torch

    model.train()
    if _labels_all_masked(batch):
        _warn_once("all-masked", "vlmcompat: a batch has every label set to -100 (nothing to learn); "
                   "its update is skipped instead of applying a NaN loss. Check truncation and the collator.")
        optimizer.zero_grad(set_to_none=True)
        return StepResult(0.0, skipped=True, reason="all labels are -100")
    outputs = model(**batch)
    loss = outputs.loss if hasattr(outputs, "loss") else outputs[0]
    if not bool(torch.isfinite(loss)):
        _warn_once("non-finite", f"vlmcompat: the loss is {float(loss)}; the update is skipped")
        optimizer.zero_grad(set_to_none=True)
        return StepResult(float(loss), skipped=True, reason=f"loss is {float(loss)}")
    loss.backward()
    if max_grad_norm is not None:
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad], max_grad_norm)
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return StepResult(float(loss.detach()))

"""``gradient-checkpointing``: the LoRA training step with gradient checkpointing on.

As people set it up for memory-bound fine-tuning: ``model.gradient_checkpointing_enable()``
(the release's default ``use_reentrant``), and, where the API takes
``gradient_checkpointing_kwargs`` (transformers >= 4.35), also with ``use_reentrant=False``;
then ``enable_input_require_grads()`` (what peft's preparation does so that reentrant
checkpoints see a grad-requiring input) and LoRA through peft: natively with ``task_type=None``
(accepted by every release, so the result is about checkpointing, not the wrapper; see the
peft-wrapper probe), patched with the family's task type.

Each variant runs :data:`STEPS` steps of :func:`vlmcompat.train.training_step` without dropout
and is compared with the same steps without checkpointing: the losses and the trained LoRA
weights must agree (checkpointing recomputes, it must not change the result), the loss must be
finite and every frozen parameter bit-identical.

Native failure: InstructBLIP 4.45-4.53 writes the query embeddings into the (grad-requiring,
leaf) input embeddings in place on image-token-expanded inputs → ``inplace-image-scatter``.
LLaVA with LoRA in the vision tower (``q_proj``/``v_proj`` match CLIP too) under reentrant
checkpointing (the default in 4.38-4.57): the vision tower's input needs no grad, so its LoRA
weights get no gradient and silently stay untrained → ``reentrant-checkpoint-no-grad``.
"""

from __future__ import annotations

import functools
import inspect
import warnings

from vlmcompat import known_issues, tiny
from vlmcompat.probes.base import Metrics, Probe, ProbeSkipped
from vlmcompat.probes.common import (
    NATIVE_PLAIN,
    first_failure,
    input_format,
    lora_model,
    max_abs_diff,
    processor_expands,
    require_class,
)
from vlmcompat.results import Mode
from vlmcompat.train import training_step

STEPS = 2
LR = 5e-3
ATOL = 1e-4
# torch.utils.checkpoint (reentrant) when no input of a checkpointed block requires grad
NO_GRAD_WARNING = "None of the inputs have requires_grad=True"


def variants(model) -> list[tuple[str, dict | None]]:
    """``[(label, gradient_checkpointing_kwargs or None)]`` the installed API supports (``model``: a
    model or its class)."""
    out: list[tuple[str, dict | None]] = [("default", None)]
    params = inspect.signature(model.gradient_checkpointing_enable).parameters
    if "gradient_checkpointing_kwargs" in params:
        out.append(("use_reentrant=False", {"use_reentrant": False}))
    return out


def _checkpointing(kwargs: dict | None):
    """``prepare`` for :func:`lora_model`: checkpointing on, then what peft's preparation does."""

    def prepare(model) -> None:
        if kwargs is None:
            model.gradient_checkpointing_enable()
        else:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs=kwargs)
        model.enable_input_require_grads()

    return prepare


def train(family: str, mode: Mode, expanded: bool, checkpointing: dict | bool | None):
    """``(losses, lora weights, frozen parameters changed, backend)``; ``checkpointing=False`` for none."""
    import torch

    prepare = None if checkpointing is False else _checkpointing(checkpointing)
    model, backend = lora_model(family, mode, expanded, task_type=NATIVE_PLAIN, dropout=0.0, prepare=prepare)
    batch = tiny.make_batch(family, expanded)
    before = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" not in n}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LR)
    losses = [training_step(model, batch, optimizer).loss for _ in range(STEPS)]
    lora = {n: p.detach().clone() for n, p in model.named_parameters() if "lora_" in n}
    frozen_changed = [n for n, p in model.named_parameters() if n in before and not torch.equal(p.detach(), before[n])]
    return losses, lora, frozen_changed, backend


def _compare(label: str, run_variant, ref_losses, ref_lora, metrics: Metrics) -> tuple | None:
    """One variant against the run without checkpointing; a failure tuple, or None when it agrees."""
    import math

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            losses, lora, frozen_changed, _ = run_variant()
    except Exception as exc:
        issue = known_issues.classify_exception(exc)
        metrics[label] = f"{issue or type(exc).__name__}: {str(exc)[:200]}"
        return issue, f"{label}: {type(exc).__name__}: {exc}", exc
    lora_diff = max(max_abs_diff(lora[n], ref_lora[n]) for n in ref_lora)
    loss_diff = max(abs(a - b) for a, b in zip(losses, ref_losses))
    metrics[label] = {"losses": [round(x, 5) for x in losses], "loss_max_abs_diff": loss_diff,
                      "lora_max_abs_diff": lora_diff}
    if not all(math.isfinite(x) for x in losses):
        return None, f"{label}: non-finite loss {losses}", None
    if frozen_changed:
        return None, f"{label}: {len(frozen_changed)} frozen parameters changed, e.g. {frozen_changed[0]}", None
    if loss_diff > ATOL or lora_diff > ATOL:
        no_grad = [str(w.message) for w in caught if NO_GRAD_WARNING in str(w.message)]
        metrics[label]["torch_warning"] = no_grad[0] if no_grad else None
        return ("reentrant-checkpoint-no-grad" if no_grad else None,
                f"{label}: differs from training without checkpointing (loss {loss_diff:.2e}, LoRA weights "
                f"{lora_diff:.2e}; tolerance {ATOL})" + (f"; torch warned: {no_grad[0]}" if no_grad else ""), None)
    return None


def run(family: str, mode: Mode) -> Metrics:
    require_class(family)
    expanded = processor_expands()
    model_type = tiny.model_type(family, image_token=expanded)
    if not getattr(model_type, "supports_gradient_checkpointing", False):
        raise ProbeSkipped(f"{model_type.__name__} does not support gradient checkpointing here")
    chosen = variants(model_type)
    ref_losses, ref_lora, _, backend = train(family, mode, expanded, False)
    metrics: Metrics = {"backend": backend, "input_format": input_format(expanded),
                        "variants": [label for label, _ in chosen],
                        "reference_losses": [round(x, 5) for x in ref_losses]}
    failures = []
    for label, kwargs in chosen:
        failure = _compare(label, functools.partial(train, family, mode, expanded, kwargs), ref_losses, ref_lora,
                           metrics)
        if failure is not None:
            failures.append(failure)
    first_failure(failures, metrics)
    return metrics


PROBE = Probe(
    name="gradient-checkpointing",
    summary="LoRA training with gradient checkpointing (default and use_reentrant=False) + enable_input_require_grads",
    run=run,
    families=tuple(tiny.FAMILIES),
)

"""``training-step``: the full LoRA fine-tuning step, checked end to end.

On the input format the installed processor produces, with LoRA on the language model (the
family's PEFT task type; vlmcompat's own LoRA in patched mode when peft cannot be imported):
K optimizer steps on a fixed batch; the loss is finite and decreases; only LoRA parameters
(and the family's extra trained modules) change and every frozen parameter is bit-identical;
``generate()`` produces new tokens; and the adapter saved and loaded into a fresh model
reproduces the logits. The model-class probe runs the same check on vlmcompat's backports.
"""

from __future__ import annotations

from vlmcompat import tiny
from vlmcompat.probes.base import Metrics, Probe, ProbeFailed
from vlmcompat.probes.common import (
    adapter_round_trip,
    eval_loss,
    generation_inputs,
    input_format,
    lora_model,
    processor_expands,
    require_class,
)
from vlmcompat.results import Mode
from vlmcompat.train import FALLBACK, training_step

STEPS = 4
LR = 5e-3


def _train(model, batch, metrics: Metrics) -> None:
    """STEPS optimizer steps; finite, decreasing loss."""
    import torch

    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LR)
    start_loss = eval_loss(model, batch)
    losses = [training_step(model, batch, optimizer).loss for _ in range(STEPS)]
    end_loss = eval_loss(model, batch)
    metrics.update(train_losses=[round(x, 5) for x in losses], eval_loss_before=round(start_loss, 5),
                   eval_loss_after=round(end_loss, 5))
    if not all(torch.isfinite(torch.tensor(losses + [end_loss]))):
        raise ProbeFailed(None, f"non-finite loss during training: {losses}", metrics)
    if not end_loss < start_loss:
        raise ProbeFailed(None, f"loss did not decrease over {STEPS} steps (eval loss {start_loss:.5f} -> "
                          f"{end_loss:.5f})", metrics)


def _check_changes(fam: tiny.Family, model, before: dict, metrics: Metrics) -> None:
    """Only LoRA parameters (and the family's extra trained modules) changed."""
    import torch

    changed = [n for n, p in model.named_parameters() if not torch.equal(p.detach(), before[n])]
    extra_changed = [n for n in changed if "lora_" not in n and any(part in n for part in fam.extra_trainable)]
    frozen_changed = [n for n in changed if "lora_" not in n and n not in extra_changed]
    metrics["lora_params_changed"] = len(changed) - len(frozen_changed) - len(extra_changed)
    if fam.extra_trainable:
        metrics["extra_params_changed"] = len(extra_changed)
    if frozen_changed:
        raise ProbeFailed(None, f"{len(frozen_changed)} frozen parameters changed, e.g. {frozen_changed[0]}", metrics)
    if not metrics["lora_params_changed"]:
        raise ProbeFailed(None, "no LoRA parameter changed after training", metrics)
    if fam.extra_trainable and not extra_changed:
        raise ProbeFailed(None, f"no parameter of {', '.join(fam.extra_trainable)} changed after training "
                          "(the recipe trains them too)", metrics)


def _check_generate(fam: tiny.Family, model, backend: str, mode: Mode, batch, metrics: Metrics) -> None:
    import torch

    model.eval()
    inputs = generation_inputs(batch)
    generator = model if mode is Mode.NATIVE or backend == FALLBACK else model.get_base_model()
    with torch.no_grad():
        generated = generator.generate(**inputs, max_new_tokens=3, do_sample=False)
    prompt_len = inputs["input_ids"].shape[1]
    includes_prompt = (not fam.is_seq2seq and generated.shape[1] > prompt_len
                       and bool(torch.equal(generated[:, :prompt_len], inputs["input_ids"])))
    new_tokens = generated.shape[1] - (prompt_len if includes_prompt else 0)
    metrics.update(generate_tokens=int(new_tokens), generate_includes_prompt=includes_prompt)
    if new_tokens < 1:
        raise ProbeFailed(None, f"generate() returned no new tokens (shape {tuple(generated.shape)})", metrics)


def check_training(family: str, mode: Mode, expanded: bool | None = None) -> Metrics:
    """The check itself; also used by the model-class probe on backported classes."""
    fam = tiny.get(family)
    expanded = processor_expands() if expanded is None else expanded
    model, backend = lora_model(family, mode, expanded, train_extra=True)
    batch = tiny.make_batch(family, expanded)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    metrics: Metrics = {"backend": backend, "input_format": input_format(expanded)}
    _train(model, batch, metrics)
    _check_changes(fam, model, before, metrics)
    _check_generate(fam, model, backend, mode, batch, metrics)
    try:
        metrics["round_trip_max_abs_diff"] = adapter_round_trip(family, expanded, model, backend, batch)
    except ProbeFailed as exc:
        raise ProbeFailed(exc.issue, str(exc), {**metrics, **exc.metrics}) from None
    return metrics


def run(family: str, mode: Mode) -> Metrics:
    require_class(family)
    return check_training(family, mode)


PROBE = Probe(
    name="training-step",
    summary="LoRA training steps: finite decreasing loss, only LoRA changes, generate, adapter round trip",
    run=run,
    families=tuple(tiny.FAMILIES),
)

"""``training-step``: the full LoRA fine-tuning step, checked end to end.

On the input format the installed processor produces, with LoRA on the language model (the
family's PEFT task type; vlmcompat's own LoRA in patched mode when peft cannot be imported):
K optimizer steps on a fixed batch; the loss is finite and decreases; only LoRA parameters
change and every frozen parameter is bit-identical; ``generate()`` produces new tokens; and
the adapter saved and loaded into a fresh model reproduces the logits.
"""

from __future__ import annotations

import tempfile

from vlmcompat import tiny
from vlmcompat.probes.base import Metrics, Probe, ProbeFailed
from vlmcompat.probes.common import generation_inputs, max_abs_diff, processor_expands, require_class
from vlmcompat.results import Mode
from vlmcompat.train import FALLBACK, LoraSpec, add_lora, training_step

STEPS = 4
LR = 5e-3
ROUND_TRIP_ATOL = 1e-5


def check_training(family: str, mode: Mode, expanded: bool | None = None) -> Metrics:
    """The check itself; also used by the model-class probe on backported classes."""
    import torch

    fam = tiny.get(family)
    expanded = processor_expands() if expanded is None else expanded
    model = tiny.build(family, seed=0, image_token=expanded)
    batch = tiny.make_batch(family, expanded)
    spec = LoraSpec(fam.lora_targets, task_type=fam.peft_task_type, modules_to_save=fam.extra_trainable)
    lora_model, backend = add_lora(model, spec, allow_fallback=mode is Mode.PATCHED)
    before = {name: p.detach().clone() for name, p in lora_model.named_parameters()}
    trainable = [p for p in lora_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=LR)
    start_loss = _eval_loss(lora_model, batch)
    losses = [training_step(lora_model, batch, optimizer).loss for _ in range(STEPS)]
    end_loss = _eval_loss(lora_model, batch)
    metrics: Metrics = {"backend": backend, "input_format": "expanded" if expanded else "legacy",
                        "train_losses": [round(x, 5) for x in losses],
                        "eval_loss_before": round(start_loss, 5), "eval_loss_after": round(end_loss, 5)}
    if not all(torch.isfinite(torch.tensor(losses + [end_loss]))):
        raise ProbeFailed(None, f"non-finite loss during training: {losses}", metrics)
    if not end_loss < start_loss:
        raise ProbeFailed(None, f"loss did not decrease over {STEPS} steps (eval loss {start_loss:.5f} -> "
                          f"{end_loss:.5f})", metrics)
    changed = [n for n, p in lora_model.named_parameters() if not torch.equal(p.detach(), before[n])]
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

    lora_model.eval()
    gen_inputs = generation_inputs(family, batch)
    generator = lora_model if mode is Mode.NATIVE or backend == FALLBACK else lora_model.get_base_model()
    with torch.no_grad():
        generated = generator.generate(**gen_inputs, max_new_tokens=3, do_sample=False)
    prompt_len = gen_inputs["input_ids"].shape[1]
    includes_prompt = (not fam.is_seq2seq and generated.shape[1] > prompt_len
                       and bool(torch.equal(generated[:, :prompt_len], gen_inputs["input_ids"])))
    new_tokens = generated.shape[1] - (prompt_len if includes_prompt else 0)
    metrics.update(generate_tokens=int(new_tokens), generate_includes_prompt=includes_prompt)
    if new_tokens < 1:
        raise ProbeFailed(None, f"generate() returned no new tokens (shape {tuple(generated.shape)})", metrics)

    with torch.no_grad():
        reference = lora_model(**batch).logits
    with tempfile.TemporaryDirectory() as tmp:
        fresh = tiny.build(family, seed=0, image_token=expanded)
        if backend == FALLBACK:
            from vlmcompat import lora_fallback

            lora_fallback.save_adapter(lora_model, tmp, base_model_name_or_path=f"vlmcompat-tiny/{family}",
                                       task_type=fam.peft_task_type)
            loaded = lora_fallback.load_adapter(fresh, tmp)
        else:
            from peft import PeftModel

            lora_model.save_pretrained(tmp)
            loaded = PeftModel.from_pretrained(fresh, tmp)
        loaded.eval()
        with torch.no_grad():
            reloaded = loaded(**batch).logits
    diff = max_abs_diff(reference, reloaded)
    metrics["round_trip_max_abs_diff"] = diff
    if diff > ROUND_TRIP_ATOL:
        raise ProbeFailed(None, f"adapter save/load changed the logits (max abs diff {diff:.2e})", metrics)
    return metrics


def _eval_loss(model, batch) -> float:
    """The loss on the fixed batch without dropout (training losses are noisy by design)."""
    import torch

    was_training = model.training
    model.eval()
    with torch.no_grad():
        loss = float(model(**batch).loss)
    model.train(was_training)
    return loss


def run(family: str, mode: Mode) -> Metrics:
    require_class(family)
    return check_training(family, mode)


PROBE = Probe(
    name="training-step",
    summary="LoRA training steps: finite decreasing loss, only LoRA changes, generate, adapter round trip",
    run=run,
    families=tuple(tiny.FAMILIES),
)

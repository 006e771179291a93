"""``trainer``: a few steps of ``transformers.Trainer``, the loop most people really run.

A tiny in-memory dataset (per-example dicts, padding stripped) goes through
:class:`~vlmcompat.collators.VisionLanguageCollator` (labels ``-100`` on padding and image
positions) into ``Trainer`` (``Seq2SeqTrainer`` for T5 language models) with LoRA through peft
(the family's task type), ``report_to=[]``, no checkpoints, ``max_steps=4``,
``logging_steps=1``. Passes when the run finishes with finite logged losses, the eval-mode loss
on a fixed batch decreases (logged losses carry dropout noise), and the adapter saved by the
trainer reloads into a fresh model with equal logits.

Trainer's arguments moved between releases (``use_cpu``/``no_cuda``,
``eval_strategy``/``evaluation_strategy``, ``processing_class``/``tokenizer``): they are chosen
by ``inspect.signature``, never by version strings. From 4.46 Trainer passes
``num_items_in_batch`` to a forward with ``**kwargs``; BLIP-2/InstructBLIP hand it on to a T5
that does not take it (``num-items-in-batch-unexpected``).
"""

from __future__ import annotations

import contextlib
import inspect
import io
import math
import tempfile
from typing import Any

from vlmcompat import tiny
from vlmcompat.collators import VisionLanguageCollator, examples_from_batch
from vlmcompat.multimodal import image_token_id
from vlmcompat.probes.base import Metrics, Probe, ProbeFailed
from vlmcompat.probes.common import max_abs_diff, processor_expands, require_class
from vlmcompat.results import Mode
from vlmcompat.train import FALLBACK, LoraSpec, add_lora

MAX_STEPS = 4
BATCH_SIZE = 2
LR = 5e-3
DATASET_SEEDS = (0, 1)  # two tiny batches -> four examples
ROUND_TRIP_ATOL = 1e-5


def supported_kwargs(fn, wanted: dict[str, Any], **alternatives: tuple[str, ...]) -> dict[str, Any]:
    """The entries of ``wanted`` that ``fn`` accepts; ``alternatives`` maps a key to the names it
    has had across releases (the first one ``fn`` takes is used)."""
    params = inspect.signature(fn).parameters
    out = {}
    for key, value in wanted.items():
        for name in alternatives.get(key, (key,)):
            if name in params:
                out[name] = value
                break
    return out


def training_arguments(cls, output_dir: str, **overrides: Any):
    """``TrainingArguments`` (or a subclass, e.g. ``Seq2SeqTrainingArguments``/``SFTConfig``) for a
    short CPU run that saves nothing and reports nowhere, whatever the installed release calls things."""
    wanted: dict[str, Any] = dict(
        output_dir=output_dir, max_steps=MAX_STEPS, per_device_train_batch_size=BATCH_SIZE, learning_rate=LR,
        lr_scheduler_type="constant", warmup_steps=0, weight_decay=0.0, logging_steps=1, report_to=[],
        save_strategy="no", eval_strategy="no", remove_unused_columns=False, seed=0, disable_tqdm=True,
        dataloader_num_workers=0, optim="adamw_torch", label_names=["labels"], use_cpu=True,
        bf16=False, fp16=False,  # float32: TRL's configs default to bf16 where the hardware has it
    )
    wanted.update(overrides)
    kwargs = supported_kwargs(cls, wanted, eval_strategy=("eval_strategy", "evaluation_strategy"),
                              use_cpu=("use_cpu", "no_cuda"))
    return cls(**kwargs)


def dataset_and_collator(family: str, expanded: bool):
    """``(examples, collator, fixed_batch)``: the tiny dataset, the collator people write, and the
    batch the eval-mode loss is measured on (the first two examples, collated)."""
    fam = tiny.get(family)
    model_config = tiny.build(family, seed=0, image_token=expanded).config
    examples = [e for seed in DATASET_SEEDS for e in examples_from_batch(tiny.make_batch(family, expanded, seed))]
    pad = getattr(model_config.text_config, "pad_token_id", None) or 0
    collator = VisionLanguageCollator(pad_token_id=pad, image_token_id=image_token_id(model_config),
                                      causal=not fam.is_seq2seq)
    return examples, collator, collator(examples[:BATCH_SIZE])


def lora_model(family: str, mode: Mode, expanded: bool):
    fam = tiny.get(family)
    model = tiny.build(family, seed=0, image_token=expanded)
    spec = LoraSpec(fam.lora_targets, task_type=fam.peft_task_type)
    return add_lora(model, spec, allow_fallback=mode is Mode.PATCHED)


def eval_loss(model, batch) -> float:
    """The loss on a fixed batch without dropout."""
    import torch

    was_training = model.training
    model.eval()
    with torch.no_grad():
        loss = float(model(**batch).loss)
    model.train(was_training)
    return loss


def logged_losses(trainer) -> list[float]:
    return [round(float(e["loss"]), 5) for e in trainer.state.log_history if "loss" in e]


def check_progress(metrics: Metrics, losses: list[float], before: float, after: float) -> None:
    """Finite logged losses and a lower eval-mode loss after training, or :class:`ProbeFailed`."""
    metrics.update(logged_losses=losses, eval_loss_before=round(before, 5), eval_loss_after=round(after, 5))
    if not losses:
        raise ProbeFailed(None, "the trainer logged no loss (logging_steps=1)", metrics)
    if not all(math.isfinite(x) for x in losses + [before, after]):
        raise ProbeFailed("nan-loss-all-masked" if any(math.isnan(x) for x in losses) else None,
                          f"non-finite loss during training: logged {losses}, eval {before} -> {after}", metrics)
    if not after < before:
        raise ProbeFailed(None, f"loss did not decrease over {len(losses)} steps (eval loss {before:.5f} -> "
                          f"{after:.5f})", metrics)


def check_round_trip(family: str, expanded: bool, trained, backend: str, batch, save) -> float:
    """Save the adapter with ``save(dir)`` (the trainer's way), load it into a fresh model and
    compare logits; returns the max abs difference or raises :class:`ProbeFailed`."""
    import torch

    trained.eval()
    with torch.no_grad():
        reference = trained(**batch).logits
    with tempfile.TemporaryDirectory() as tmp:
        fresh = tiny.build(family, seed=0, image_token=expanded)
        if backend == FALLBACK:
            from vlmcompat import lora_fallback

            lora_fallback.save_adapter(trained, tmp, base_model_name_or_path=f"vlmcompat-tiny/{family}",
                                       task_type=tiny.get(family).peft_task_type)
            loaded = lora_fallback.load_adapter(fresh, tmp)
        else:
            from peft import PeftModel

            save(tmp)
            loaded = PeftModel.from_pretrained(fresh, tmp)
        loaded.eval()
        with torch.no_grad():
            reloaded = loaded(**batch).logits
    diff = max_abs_diff(reference, reloaded)
    if diff > ROUND_TRIP_ATOL:
        raise ProbeFailed(None, f"adapter saved by the trainer changed the logits on reload (max abs diff "
                          f"{diff:.2e})", {"round_trip_max_abs_diff": diff})
    return diff


def train_and_check(trainer, metrics: Metrics, family: str, expanded: bool, model, backend: str, fixed,
                    before: float) -> Metrics:
    """Train quietly, then the checks both trainer probes make: progress and the adapter round trip."""
    with contextlib.redirect_stdout(io.StringIO()):  # Trainer prints its logs when tqdm is off
        trainer.train()
    check_progress(metrics, logged_losses(trainer), before, eval_loss(model, fixed))
    metrics["round_trip_max_abs_diff"] = check_round_trip(family, expanded, model, backend, fixed,
                                                          trainer.save_model)
    return metrics


def run(family: str, mode: Mode) -> Metrics:
    import transformers

    fam = require_class(family)
    expanded = processor_expands()
    examples, collator, fixed = dataset_and_collator(family, expanded)
    model, backend = lora_model(family, mode, expanded)
    if fam.is_seq2seq:
        trainer_cls, args_cls = transformers.Seq2SeqTrainer, transformers.Seq2SeqTrainingArguments
    else:
        trainer_cls, args_cls = transformers.Trainer, transformers.TrainingArguments
    metrics: Metrics = {"backend": backend, "input_format": "expanded" if expanded else "legacy",
                        "trainer": trainer_cls.__name__}
    before = eval_loss(model, fixed)
    with tempfile.TemporaryDirectory() as out:
        args = training_arguments(args_cls, out)
        trainer = trainer_cls(model=model, args=args, train_dataset=examples, data_collator=collator)
        metrics["passes_num_items_in_batch"] = bool(getattr(trainer, "model_accepts_loss_kwargs", False))
        return train_and_check(trainer, metrics, family, expanded, model, backend, fixed, before)


PROBE = Probe(
    name="trainer",
    summary="transformers Trainer (Seq2SeqTrainer for T5) with LoRA and a padding/image-masking collator: "
    "finite decreasing loss, adapter saves and reloads",
    run=run,
    families=tuple(tiny.FAMILIES),
)

"""Running a transformers ``Trainer`` (or a subclass: ``Seq2SeqTrainer``, TRL's ``SFTTrainer``) for a
few CPU steps, and the checks the trainer probes make: finite logged losses, a lower eval-mode loss
on a fixed batch (logged losses carry dropout noise), and the adapter the trainer saves reloading
into a fresh model with equal logits.

Trainer's arguments moved between releases (``use_cpu``/``no_cuda``,
``eval_strategy``/``evaluation_strategy``, ``processing_class``/``tokenizer``): they are chosen
by ``inspect.signature``, never by version strings.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import io
import math
from typing import Any

from vlmcompat.probes.base import Metrics, ProbeFailed
from vlmcompat.probes.common import adapter_round_trip, eval_loss

MAX_STEPS = 4
BATCH_SIZE = 2
LR = 5e-3


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


@contextlib.contextmanager
def collecting_only_new_objects():
    """``gc.collect()`` inside the block walks only objects made inside it.

    Trainer frees memory through accelerate (``free_memory``/``release_memory``: ``gc.collect()``)
    when a run starts and ends; with torch, transformers and peft loaded a full collection walks
    every object they made (0.5-0.9 s each time here). Objects that existed before the run are
    frozen for its duration (``gc.freeze``) and handed back to the collector afterwards, so
    nothing is kept that would otherwise be freed. Left alone when something else froze objects.
    """
    mine = gc.get_freeze_count() == 0
    if mine:
        gc.freeze()
    try:
        yield
    finally:
        if mine:
            gc.unfreeze()


def train_and_check(trainer, metrics: Metrics, family: str, expanded: bool, model, backend: str, fixed,
                    before: float) -> Metrics:
    """Train quietly, then the checks both trainer probes make: progress and the adapter round trip."""
    # Trainer prints its logs when tqdm is off
    with contextlib.redirect_stdout(io.StringIO()), collecting_only_new_objects():
        trainer.train()
    check_progress(metrics, logged_losses(trainer), before, eval_loss(model, fixed))
    try:
        metrics["round_trip_max_abs_diff"] = adapter_round_trip(family, expanded, model, backend, fixed,
                                                                trainer.save_model, "the adapter saved by the trainer")
    except ProbeFailed as exc:
        raise ProbeFailed(exc.issue, str(exc), {**metrics, **exc.metrics}) from None
    return metrics

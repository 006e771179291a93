"""``trainer``: a few steps of ``transformers.Trainer``, the loop most people really run.

A tiny in-memory dataset (per-example dicts, padding stripped) goes through
:class:`~vlmcompat.collators.VisionLanguageCollator` (labels ``-100`` on padding and image
positions) into ``Trainer`` (``Seq2SeqTrainer`` for T5 language models) with LoRA through peft
(the family's task type), ``report_to=[]``, no checkpoints, ``max_steps=4``,
``logging_steps=1``. Passes when the run finishes with finite logged losses, the eval-mode loss
on a fixed batch decreases (logged losses carry dropout noise), and the adapter saved by the
trainer reloads into a fresh model with equal logits.

Trainer's arguments are chosen by signature (:mod:`vlmcompat.probes.hf_trainer`). From 4.46 Trainer passes
``num_items_in_batch`` to a forward with ``**kwargs``; BLIP-2/InstructBLIP hand it on to a T5
that does not take it (``num-items-in-batch-unexpected``).
"""

from __future__ import annotations

import tempfile

from vlmcompat import tiny
from vlmcompat.collators import VisionLanguageCollator, examples_from_batch
from vlmcompat.forwards.language_model import image_token_id
from vlmcompat.parts import text_config
from vlmcompat.probes.base import Metrics, Probe
from vlmcompat.probes.common import eval_loss, input_format, lora_model, processor_expands, require_class
from vlmcompat.probes.hf_trainer import BATCH_SIZE, train_and_check, training_arguments
from vlmcompat.results import Mode

DATASET_SEEDS = (0, 1)  # two tiny batches -> four examples


def dataset_and_collator(family: str, expanded: bool):
    """``(examples, collator, fixed_batch)``: the tiny dataset, the collator people write, and the
    batch the eval-mode loss is measured on (the first two examples, collated)."""
    fam = tiny.get(family)
    model_config = tiny.config(family, image_token=expanded)
    examples = [e for seed in DATASET_SEEDS for e in examples_from_batch(tiny.make_batch(family, expanded, seed))]
    pad = getattr(text_config(model_config), "pad_token_id", None) or 0
    collator = VisionLanguageCollator(pad_token_id=pad, image_token_id=image_token_id(model_config),
                                      causal=not fam.is_seq2seq)
    return examples, collator, collator(examples[:BATCH_SIZE])


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
    metrics: Metrics = {"backend": backend, "input_format": input_format(expanded), "trainer": trainer_cls.__name__}
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

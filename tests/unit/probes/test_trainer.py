"""The trainer probe: the collator people write, Trainer arguments chosen by signature, a real
Trainer run on the installed stack, and (cells) the num_items_in_batch failure of 4.54-4.57."""

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from vlmcompat.collators import VisionLanguageCollator, examples_from_batch
from vlmcompat.probes import common, hf_trainer, trainer
from vlmcompat.results import Mode

ROOT = Path(__file__).resolve().parents[3]


def test_collator_masks_padding_and_image_tokens():
    examples = [{"input_ids": torch.tensor([1, 9, 9, 5, 6]), "pixel_values": torch.zeros(3, 2, 2)},
                {"input_ids": torch.tensor([1, 9, 9, 7]), "labels": torch.tensor([-100, 9, 9, 7]),
                 "pixel_values": torch.ones(3, 2, 2)}]
    batch = VisionLanguageCollator(pad_token_id=0, image_token_id=9)(examples)
    assert batch["input_ids"].tolist() == [[1, 9, 9, 5, 6], [1, 9, 9, 7, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 1, 0]]
    assert batch["labels"].tolist() == [[1, -100, -100, 5, 6], [-100, -100, -100, 7, -100]]
    assert batch["pixel_values"].shape == (2, 3, 2, 2)


@pytest.mark.parametrize("family", ["blip2-t5", "instructblip-llama"])
def test_collator_rebuilds_the_tiny_batch(family):
    from vlmcompat import tiny

    batch = tiny.make_batch(family, expanded=True)
    fam = tiny.get(family)
    again = VisionLanguageCollator(pad_token_id=0, image_token_id=tiny.instructblip.IMAGE_TOKEN_ID,
                                   causal=not fam.is_seq2seq)(examples_from_batch(batch))
    for key in ("input_ids", "attention_mask", "labels", "pixel_values"):
        assert torch.equal(again[key], batch[key]), key


def test_training_arguments_use_the_names_this_release_has():
    import inspect

    import transformers

    args = hf_trainer.training_arguments(transformers.TrainingArguments, "/tmp/vlmcompat-test-args")
    params = inspect.signature(transformers.TrainingArguments).parameters
    assert args.max_steps == hf_trainer.MAX_STEPS and args.logging_steps == 1 and not args.report_to
    assert ("use_cpu" in params and args.use_cpu) or ("no_cuda" in params and args.no_cuda)


@pytest.mark.parametrize("family", ["blip2-t5", "llava"])
def test_patched_trainer_run_passes_here(family):
    from vlmcompat import patches

    patches.apply()
    metrics = trainer.run(family, Mode.PATCHED)
    assert metrics["eval_loss_after"] < metrics["eval_loss_before"]
    assert len(metrics["logged_losses"]) == hf_trainer.MAX_STEPS
    assert metrics["round_trip_max_abs_diff"] <= common.ROUND_TRIP_ATOL

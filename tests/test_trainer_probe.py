"""The trainer probe: the collator people write, Trainer arguments chosen by signature, a real
Trainer run on the installed stack, and (cells) the num_items_in_batch failure of 4.54-4.57."""

import json
import subprocess
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from vlmcompat import cells  # noqa: E402
from vlmcompat.collators import VisionLanguageCollator, examples_from_batch  # noqa: E402
from vlmcompat.probes import trainer  # noqa: E402
from vlmcompat.results import Mode  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


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

    args = trainer.training_arguments(transformers.TrainingArguments, "/tmp/vlmcompat-test-args")
    params = inspect.signature(transformers.TrainingArguments).parameters
    assert args.max_steps == trainer.MAX_STEPS and args.logging_steps == 1 and not args.report_to
    assert ("use_cpu" in params and args.use_cpu) or ("no_cuda" in params and args.no_cuda)


@pytest.mark.parametrize("family", ["blip2-t5", "llava"])
def test_patched_trainer_run_passes_here(family):
    from vlmcompat import patches

    patches.apply()
    metrics = trainer.run(family, Mode.PATCHED)
    assert metrics["eval_loss_after"] < metrics["eval_loss_before"]
    assert len(metrics["logged_losses"]) == trainer.MAX_STEPS
    assert metrics["round_trip_max_abs_diff"] <= trainer.ROUND_TRIP_ATOL


@pytest.mark.cells
@pytest.mark.slow
def test_t5_native_fails_with_num_items_in_batch_on_4_55_and_patched_passes(tmp_path, need_uv):
    venv = tmp_path / "t4.55.4"
    info = cells.create(venv, ["transformers==4.55.4", "peft==0.17.1", "accelerate"], extra=["-e", str(ROOT)])
    assert info.status.value == "ok", info.log_tail
    out = tmp_path / "cell.json"
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "vlmcompat", "probe", "--json", str(out),
                           "--probe", "trainer", "--family", "blip2-t5", "--family", "blip2-opt"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    by_key = {(r["family"], r["mode"]): r for r in json.loads(out.read_text())["results"]}
    native = by_key[("blip2-t5", "native")]
    assert (native["status"], native["issue"]) == ("fail", "num-items-in-batch-unexpected"), native
    assert by_key[("blip2-opt", "native")]["status"] == "pass"
    for family in ("blip2-t5", "blip2-opt"):
        assert by_key[(family, "patched")]["status"] == "pass", by_key[(family, "patched")]

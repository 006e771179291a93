"""The sft-trainer probe: skips that name the library, the chat collator, and (cells) a real
TRL SFTTrainer run on transformers 4.55.4 with trl 0.21.0."""

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from vlmcompat import versions
from vlmcompat.probes import sft_trainer
from vlmcompat.probes.base import ProbeSkipped
from vlmcompat.results import Mode

ROOT = Path(__file__).resolve().parents[3]


def test_t5_families_skip_with_a_reason():
    with pytest.raises(ProbeSkipped, match="encoder-decoder"):
        sft_trainer.run("blip2-t5", Mode.PATCHED)


@pytest.mark.skipif(versions.installed("trl") is not None, reason="trl is installed here")
def test_skip_names_trl_when_it_is_missing():
    with pytest.raises(ProbeSkipped, match="trl is not installed in this environment"):
        sft_trainer.run("llava", Mode.PATCHED)


def test_chat_collator_masks_padding_and_image_tokens():
    from vlmcompat import tiny
    from vlmcompat.collators import ChatCollator

    model = tiny.build("llava", image_token=True)
    tok = sft_trainer.tiny_tokenizer(model.config.text_config)
    collator = ChatCollator(tok, sft_trainer.tiny_processor(tok, model.config, expanded=True),
                            tiny.llava.IMAGE_TOKEN_ID, image_key="pixel_values")
    batch = collator(sft_trainer.chat_examples("llava", True, tok)[:2])
    image = batch["input_ids"] == tiny.llava.IMAGE_TOKEN_ID
    assert image.sum(dim=1).tolist() == [tiny.llava.NUM_PATCHES] * 2
    assert bool((batch["labels"][image] == -100).all())
    assert bool((batch["labels"][batch["attention_mask"] == 0] == -100).all())
    assert batch["attention_mask"][1, -1] == 0  # the shorter chat is padded on the right

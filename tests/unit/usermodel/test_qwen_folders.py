"""Qwen2-VL, Qwen2.5-VL and Qwen3-VL checkpoints: the chat-template batch with the checkpoint's own
tokenizer and patch settings. The Qwen2.5-VL and Qwen3-VL fixture folders have no vocabulary of
their own; they get the Qwen2 one from the Qwen2-VL folder (the same vocab.json blob, see the
fixtures' README)."""

from __future__ import annotations

import shutil

import pytest

from vlmcompat import tiny, usermodel
from vlmcompat.errors import UsageError
from vlmcompat.usermodel import folder

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
FIXTURES = folder.Path(__file__).parents[2] / "fixtures" / "checkpoints"
VOCABULARY = FIXTURES / "qwen2-vl-2b-instruct-awq"


@pytest.mark.parametrize(("name", "family", "model_class", "patch"), [
    ("qwen2-vl-2b-instruct-awq", "qwen2-vl", "Qwen2VLForConditionalGeneration", 14),
    ("qwen2.5-vl-3b-instruct", "qwen2.5-vl", "Qwen2_5_VLForConditionalGeneration", 14),
    ("qwen3-vl-4b-instruct", "qwen3-vl", "Qwen3VLForConditionalGeneration", 16),
])
def test_qwen_checkpoints_train_on_their_own_chat_layout(tmp_path, name, family, model_class, patch):
    if not hasattr(transformers, model_class):
        pytest.skip(f"transformers {transformers.__version__} has no {model_class}")
    root = tmp_path / name
    shutil.copytree(FIXTURES / name, root)
    for vocabulary in ("vocab.json.gz", "merges.txt.gz"):
        if not (root / vocabulary).exists():
            shutil.copyfile(VOCABULARY / vocabulary, root / vocabulary)
    assert usermodel.activate(root).family.name == family
    batch = tiny.make_batch(family, expanded=True)
    image_pad = 151655  # <|image_pad|>, config.json's image_token_id
    assert [int((row == image_pad).sum()) for row in batch["input_ids"]] == [6, 4]  # grids 4x6 and 4x4, merged 2x2
    assert batch["pixel_values"].shape == (40, 3 * 2 * patch * patch)
    assert bool(tiny.model(family, image_token=True)(**batch).loss.isfinite())


def test_a_family_without_a_batch_layout_is_one_line():
    with pytest.raises(UsageError, match="batches for Gemma3ForConditionalGeneration checkpoints are not built yet"):
        usermodel.activate(FIXTURES / "gemma-3-4b-it")

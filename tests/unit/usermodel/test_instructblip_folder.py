"""An InstructBLIP checkpoint folder (config saved by save_pretrained, the Flan-T5 tokenizer, the
Q-Former's BERT tokenizer in ``qformer_tokenizer/``): recognised, both tokenizers used."""

from __future__ import annotations

import json
import shutil

import pytest

from vlmcompat import tiny, usermodel
from vlmcompat.usermodel import batch as batches
from vlmcompat.usermodel import folder

transformers = pytest.importorskip("transformers")
FIXTURES = folder.Path(__file__).parents[2] / "fixtures" / "checkpoints"
BERT = folder.Path(usermodel.__file__).parents[1] / "data" / "tokenizers" / "bert-wordpiece.json"


@pytest.fixture
def checkpoint(tmp_path):
    from vlmcompat.tiny import instructblip

    root = tmp_path / "instructblip-flan-t5"
    config = transformers.InstructBlipConfig(**instructblip.config_kwargs("t5"))
    config.vision_config.image_size = 224  # what the image processor below produces
    config.text_config.vocab_size = 32128  # flan-t5
    config.qformer_config.vocab_size = 30523  # bert-base-uncased + [DEC]
    config.architectures = ["InstructBlipForConditionalGeneration"]
    config.save_pretrained(str(root))
    t5 = FIXTURES / "blip2-flan-t5-xl-pre445"
    for name in ("tokenizer_config.json", "special_tokens_map.json", "preprocessor_config.json", "tokenizer.json.gz"):
        shutil.copyfile(t5 / name, root / name)
    (root / "qformer_tokenizer").mkdir()
    shutil.copyfile(BERT, root / "qformer_tokenizer" / "tokenizer.json")
    (root / "qformer_tokenizer" / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "BertTokenizer"}))
    return root


def test_the_qformer_reads_the_instruction_through_its_own_tokenizer(checkpoint):
    active = usermodel.activate(checkpoint)
    assert active.family.name == "instructblip-t5"
    batch = tiny.make_batch("instructblip-t5", expanded=True)
    assert {"qformer_input_ids", "qformer_attention_mask", "pixel_values", "labels"} <= set(batch)
    bert = transformers.AutoTokenizer.from_pretrained(str(checkpoint / "qformer_tokenizer"))
    expected = bert(f"Question: {batches.PROMPTS[0]} Answer:")["input_ids"]
    assert batch["qformer_input_ids"][0, : len(expected)].tolist() == expected  # BERT ids, not T5 ones
    loss = tiny.model("instructblip-t5", image_token=True)(**batch).loss
    assert bool(loss.isfinite())

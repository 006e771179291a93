"""Truncation that never cuts an image's tokens, and the collator for the current VLMs' batches."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from vlmcompat import tiny
from vlmcompat.collators import VisionLanguageCollator, examples_from_batch
from vlmcompat.tiny.modern_families import MODERN_FAMILIES
from vlmcompat.truncation import ImageTokensWouldBeCut, truncate_example

IMAGE = 5


def _example(ids):
    ids = torch.tensor(ids)
    return {"input_ids": ids, "labels": ids.clone(), "token_type_ids": (ids == IMAGE).long(),
            "pixel_values": torch.zeros(3, 2, 2)}


def test_text_after_the_image_is_cut_and_images_kept():
    out = truncate_example(_example([1, IMAGE, IMAGE, 7, 8, 9]), 4, IMAGE)
    assert out["input_ids"].tolist() == [1, IMAGE, IMAGE, 7]
    assert out["labels"].tolist() == [1, IMAGE, IMAGE, 7] and out["token_type_ids"].tolist() == [0, 1, 1, 0]
    assert out["pixel_values"].shape == (3, 2, 2)


def test_a_limit_inside_the_image_is_refused_with_the_length_it_needs():
    with pytest.raises(ImageTokensWouldBeCut, match=r"example 3: max_length=2 .* raise max_length to at least 3"):
        truncate_example(_example([1, IMAGE, IMAGE, 7]), 2, IMAGE, index=3)


def test_short_examples_and_no_image_token_id_pass_through():
    example = _example([1, IMAGE, 7])
    assert truncate_example(example, 8, IMAGE) is example
    assert truncate_example(_example([1, IMAGE, IMAGE, 7]), 2, None)["input_ids"].tolist() == [1, IMAGE]
    with pytest.raises(ValueError, match="at least 1"):
        truncate_example(example, 0, IMAGE)


@pytest.mark.parametrize("family", list(MODERN_FAMILIES))
def test_collator_rebuilds_the_processors_batch(family):
    if not tiny.class_available(family):
        pytest.skip(f"no {MODERN_FAMILIES[family].model_class} here")
    batch = tiny.make_batch(family, True)
    collated = VisionLanguageCollator(pad_token_id=0)(examples_from_batch(batch))
    assert set(collated) == set(batch)
    for key, value in batch.items():
        assert torch.equal(torch.as_tensor(collated[key]), torch.as_tensor(value)), key


def test_collator_writes_token_type_ids_the_way_each_processor_does():
    batch = tiny.make_batch("paligemma2", True)
    examples = [{k: v for k, v in e.items() if k != "token_type_ids"} for e in examples_from_batch(batch)]
    assert torch.equal(VisionLanguageCollator(0, token_type_ids="labels")(examples)["token_type_ids"],
                       batch["token_type_ids"])
    with pytest.raises(ValueError, match="needs 'image' with an image_token_id"):
        VisionLanguageCollator(0, token_type_ids="image")(examples)

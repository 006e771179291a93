"""The patches for the current VLMs on the installed stack: each changes what it names only where
the stock library breaks, fixes the measured failure, and reverts exactly."""

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from vlmcompat import patches, tiny
from vlmcompat.probes.common import without
from vlmcompat.versions import transformers_at_least


@pytest.fixture(autouse=True)
def _clean():
    patches.reset()
    yield
    patches.reset()


@pytest.mark.skipif(not transformers_at_least("5.0"), reason="AutoModelForVision2Seq exists before 5.0")
def test_vision2seq_alias_loads_every_family_and_reverts():
    assert not hasattr(transformers, "AutoModelForVision2Seq")
    patches.apply(["vision2seq_alias"])
    from transformers import AutoModelForVision2Seq  # the line notebooks have

    for family in ("qwen2-vl", "gemma3", "smolvlm"):
        built = AutoModelForVision2Seq.from_config(tiny.config(family))
        assert type(built).__name__ == tiny.get(family).model_class
    patches.revert(["vision2seq_alias"])
    assert not hasattr(transformers, "AutoModelForVision2Seq")


@pytest.mark.skipif(transformers_at_least("5.0"), reason="5.x removed the name")
def test_vision2seq_alias_leaves_4x_alone():
    status = patches.apply(["vision2seq_alias"])
    assert status["vision2seq_alias"].startswith("not applied")


def _qwen_training_loss(family: str, batch) -> float:
    model = tiny.build(family)
    model.train()
    return float(model(**batch).loss)


@pytest.mark.parametrize("family", ["qwen2-vl", "qwen3-vl"])
def test_mm_token_type_ids_computed_as_the_processor_writes_them(family):
    if not tiny.class_available(family):
        pytest.skip(f"no {tiny.get(family).model_class} here")
    batch = tiny.make_batch(family, True)
    if "mm_token_type_ids" not in batch:
        pytest.skip("this release's model takes no mm_token_type_ids")
    reference = _qwen_training_loss(family, batch)
    status = patches.apply(["token_type_ids"])
    if not status["token_type_ids"].startswith("applied"):  # 5.3: taken, not yet required
        pytest.skip(status["token_type_ids"])
    assert _qwen_training_loss(family, without(batch, "mm_token_type_ids")) == pytest.approx(reference, abs=1e-6)
    patches.revert(["token_type_ids"])
    with pytest.raises(ValueError, match="mm_token_type_ids"):
        _qwen_training_loss(family, without(batch, "mm_token_type_ids"))


def test_token_type_ids_for_paligemma_mark_the_trained_suffix():
    from vlmcompat.patches.token_type_ids import type_ids

    batch = tiny.make_batch("paligemma2", True)
    config = tiny.config("paligemma2")
    assert torch.equal(type_ids(config, batch["input_ids"], "labels", batch["labels"]), batch["token_type_ids"])
    gemma = tiny.make_batch("gemma3", True) if tiny.class_available("gemma3") else None
    if gemma is not None:
        assert torch.equal(type_ids(tiny.config("gemma3"), gemma["input_ids"], "image"), gemma["token_type_ids"])


@pytest.mark.skipif(not transformers_at_least("4.52"), reason="Qwen2VLConfig takes no text_config before 4.52")
def test_nested_text_config_trains_answers_from_text_config_and_reverts():
    from vlmcompat.tiny import qwen2_vl

    patches.apply(["nested_text_config"])
    model = qwen2_vl.build(text_at_top=False)  # 4.52-4.55: the stock class fails here or in the loss
    config = model.config
    assert config.vocab_size == qwen2_vl.VOCAB and config.hidden_size == qwen2_vl.TEXT["hidden_size"]
    model.train()
    assert torch.isfinite(model(**tiny.make_batch("qwen2-vl", True)).loss)
    patches.revert(["nested_text_config"])
    assert "__getattr__" not in type(config).__dict__
    if "vocab_size" not in config.__dict__:  # 5.x: the nested config keeps no top-level copy
        with pytest.raises(AttributeError, match="vocab_size"):
            config.vocab_size  # noqa: B018

"""The probes for the current VLMs' breakages on the installed stack (transformers 5.x on the host):
natively each shows the measured failure with its catalogue id, patched each passes; the
outcomes on older releases are checked in tests/cells/test_modern_families.py."""

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from vlmcompat import patches, tiny
from vlmcompat.parts import parts
from vlmcompat.probes import auto_class, image_truncation, model_parts, text_config, token_type_ids
from vlmcompat.probes.base import ProbeFailed
from vlmcompat.results import Mode
from vlmcompat.versions import transformers_at_least

pytestmark = pytest.mark.skipif(not transformers_at_least("5.0"), reason="the host's expectations: transformers 5.x")


@pytest.fixture
def patched():
    patches.apply()
    yield
    patches.reset()


def test_model_parts_native_names_the_paths_5x_removed():
    with pytest.raises(ProbeFailed) as info:
        model_parts.run("qwen2.5-vl", Mode.NATIVE)
    assert info.value.issue == "vlm-refactor-attribute"
    assert "model.visual: AttributeError" in str(info.value)
    assert "model.model.embed_tokens: AttributeError" in str(info.value)


def test_model_parts_smolvlm_paths_never_moved():
    assert set(model_parts.run("smolvlm", Mode.NATIVE).values()) == {"ok"}


@pytest.mark.parametrize("family", ["qwen2-vl", "gemma3", "paligemma2", "smolvlm", "llava"])
def test_model_parts_patched_reports_where_the_parts_are(family):
    metrics = model_parts.run(family, Mode.PATCHED)
    model = tiny.model(family)
    found = parts(model)
    for name in model_parts.PART_NAMES:
        assert dict(model.named_modules())[metrics[name]] is getattr(found, name)


def test_text_config_native_fails_where_the_top_level_lacks_them():
    with pytest.raises(ProbeFailed) as info:
        text_config.run("gemma3", Mode.NATIVE)
    assert info.value.issue == "text-config-attribute"
    assert "'Gemma3Config' object has no attribute 'vocab_size'" in str(info.value)


def test_text_config_patched_reads_the_embedding_sizes_and_trains_the_nested_qwen(patched):
    metrics = text_config.run("qwen2-vl", Mode.PATCHED)
    assert metrics["nested"].startswith("trains")


def test_auto_class_native_is_class_removed_and_the_alias_builds_the_class(patched):
    patches.revert(["vision2seq_alias"])
    with pytest.raises(ProbeFailed) as info:
        auto_class.run("gemma3", Mode.NATIVE)
    assert info.value.issue == "class-removed"
    patches.apply(["vision2seq_alias"])
    assert auto_class.run("gemma3", Mode.PATCHED)["AutoModelForVision2Seq"] == "Gemma3ForConditionalGeneration"


@pytest.mark.parametrize("family", ["qwen2-vl", "llava-onevision", "gemma3", "paligemma2", "smolvlm"])
def test_image_truncation_native_cuts_image_tokens_and_patched_keeps_them(family):
    with pytest.raises(ProbeFailed) as info:
        image_truncation.run(family, Mode.NATIVE)
    assert info.value.issue == "image-tokens-truncated"
    assert info.value.metrics["image_tokens_kept"] < info.value.metrics["image_tokens"]
    metrics = image_truncation.run(family, Mode.PATCHED)
    assert "would cut inside its image tokens" in metrics["refused"]
    assert metrics["width"] == metrics["text_max_length"]


def test_token_type_ids_qwen2_vl_refused_natively_from_5_4():
    if not transformers_at_least("5.4"):
        pytest.skip("Qwen2-VL trains without mm_token_type_ids before 5.4")
    with pytest.raises(ProbeFailed) as info:
        token_type_ids.run("qwen2-vl", Mode.NATIVE)
    assert info.value.issue == "mm-token-type-ids-required"


@pytest.mark.parametrize("family", ["qwen2-vl", "gemma3", "paligemma2"])
def test_token_type_ids_patched_trains_and_the_collator_writes_the_processors_ids(family, patched):
    metrics = token_type_ids.run(family, Mode.PATCHED)
    assert metrics["loss_without"] > 0
    if family != "qwen2-vl":
        assert metrics["collator_token_type_ids"] == "the processor's"

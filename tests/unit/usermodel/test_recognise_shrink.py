"""Recognising a checkpoint's family and shrinking its config, on the real configs in
tests/fixtures/checkpoints."""

from __future__ import annotations

import pytest

from vlmcompat.errors import UsageError
from vlmcompat.usermodel import folder, recognise, shrink
from vlmcompat.usermodel.folder import Access

FIXTURES = folder.Path(__file__).parents[2] / "fixtures" / "checkpoints"


@pytest.mark.parametrize(("name", "family"), [
    ("blip2-opt-2.7b", "blip2-opt"),
    ("blip2-flan-t5-xl-pre445", "blip2-t5"),
    ("llava-1.5-7b-hf", "llava"),
    ("qwen2-vl-2b-instruct-awq", "qwen2-vl"),
    ("qwen2.5-vl-3b-instruct", "qwen2.5-vl"),
    ("qwen3-vl-4b-instruct", "qwen3-vl"),
    ("gemma-3-4b-it", "gemma3"),
    ("paligemma-3b-pt-224", "paligemma2"),
])
def test_each_real_config_maps_to_its_family(name, family):
    assert recognise.family_for(folder.read_config(FIXTURES / name)).name == family


def test_an_instructblip_config_is_told_apart_by_its_language_model():
    t5 = {"architectures": ["InstructBlipForConditionalGeneration"], "text_config": {"model_type": "t5"}}
    llama = {"model_type": "instructblip", "text_config": {"model_type": "llama"}}
    assert recognise.family_for(t5).name == "instructblip-t5"
    assert recognise.family_for(llama).name == "instructblip-llama"


def test_an_unknown_architecture_is_one_line_naming_the_supported_families():
    with pytest.raises(UsageError) as exc:
        recognise.family_for({"architectures": ["MllamaForConditionalGeneration"]}, "x/config.json")
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith("x/config.json: vlmcompat has no family for MllamaForConditionalGeneration")
    assert "blip2-opt (Blip2ForConditionalGeneration)" in message and "llava" in message


def test_shrink_keeps_vocabulary_token_ids_and_image_settings():
    config = folder.read_config(FIXTURES / "llava-1.5-7b-hf")
    small = shrink.shrink(config)
    assert small["image_token_index"] == 32000 and small["pad_token_id"] == 32001
    assert small["text_config"]["vocab_size"] == 32064
    assert small["vision_config"]["image_size"] == 336 and small["vision_config"]["patch_size"] == 14
    assert small["text_config"]["hidden_size"] == 32 and small["vision_config"]["num_hidden_layers"] == 2
    assert "torch_dtype" not in small and "torch_dtype" not in small["text_config"]
    assert config["vision_config"]["hidden_size"] == 1024  # the input is left as it was


def test_shrink_sets_sizes_a_config_left_to_the_class_defaults():
    small = shrink.shrink(folder.read_config(FIXTURES / "blip2-opt-2.7b"))
    assert "hidden_size" not in folder.read_config(FIXTURES / "blip2-opt-2.7b")["vision_config"]
    assert small["vision_config"]["hidden_size"] == 32
    assert small["qformer_config"]["encoder_hidden_size"] == 32
    assert small["text_config"]["ffn_dim"] == 64 and small["text_config"]["vocab_size"] == 50304
    assert small["num_query_tokens"] == 32 and small["image_token_index"] == 50265


def test_shrink_keeps_grouped_query_attention_and_rope_sections_consistent():
    small = shrink.shrink(folder.read_config(FIXTURES / "qwen2-vl-2b-instruct-awq"))
    assert small["num_attention_heads"] == 4 and small["num_key_value_heads"] == 2
    assert sum(small["rope_scaling"]["mrope_section"]) * 2 == small["head_dim"]
    assert small["vision_config"]["hidden_size"] == small["hidden_size"]
    assert "quantization_config" not in small
    t5 = shrink.shrink(folder.read_config(FIXTURES / "blip2-flan-t5-xl-pre445"))["text_config"]
    assert (t5["d_model"], t5["num_layers"], t5["vocab_size"]) == (32, 2, 32128)


def test_access_flags_name_what_was_allowed():
    assert Access().flags() == []
    assert Access(full=True, allow_pickle=True).flags() == ["--full", "--allow-pickle"]

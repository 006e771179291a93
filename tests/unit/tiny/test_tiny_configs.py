"""The feature detection the tiny builders rely on (config signatures, not version strings), and
the chat-row batch layout, checked on small stand-in classes and tensors."""

from __future__ import annotations

import pytest

from vlmcompat.tiny import chat_rows, configs


class NestedConfig:  # like Qwen2VLConfig from 4.52: text settings go to a text sub-config
    class TextConfig:
        def __init__(self, vocab_size=1, hidden_size=1, rope_parameters=None, **kwargs):
            self.vocab_size, self.hidden_size, self.rope_parameters = vocab_size, hidden_size, rope_parameters

    sub_configs = {"text_config": TextConfig}

    def __init__(self, text_config=None, vision_config=None, image_token_id=None, **kwargs):
        self.text_config, self.vision_config, self.image_token_id, self.kwargs = (
            text_config, vision_config, image_token_id, kwargs)


class FlatConfig:  # like Qwen2VLConfig before 4.52: text settings at the top, rope_theta + rope_scaling
    def __init__(self, vocab_size=1, hidden_size=1, rope_theta=1.0, rope_scaling=None, vision_config=None,
                 **kwargs):
        self.vocab_size, self.hidden_size, self.rope_theta, self.rope_scaling = (
            vocab_size, hidden_size, rope_theta, rope_scaling)
        self.vision_config, self.kwargs = vision_config, kwargs


def test_takes_names_explicit_parameters_only():
    assert configs.takes(FlatConfig, "rope_scaling")
    assert not configs.takes(FlatConfig, "kwargs")
    assert not configs.takes(FlatConfig, "text_config")
    assert configs.takes(NestedConfig, "text_config")


def test_text_config_class_is_the_sub_config_where_there_is_one():
    assert configs.text_config_class(NestedConfig) is NestedConfig.TextConfig
    assert configs.text_config_class(FlatConfig) is FlatConfig


def test_rope_settings_follow_the_text_config_signature():
    assert configs.rope_kwargs(NestedConfig.TextConfig, 5.0, mrope_section=[2, 1, 1]) == {
        "rope_parameters": {"rope_type": "default", "rope_theta": 5.0, "mrope_section": [2, 1, 1]}}
    assert configs.rope_kwargs(FlatConfig, 5.0, mrope_section=[2, 1, 1]) == {
        "rope_theta": 5.0, "rope_scaling": {"type": "default", "rope_type": "default", "mrope_section": [2, 1, 1]}}
    assert configs.rope_kwargs(FlatConfig, 5.0) == {"rope_theta": 5.0}


def test_composite_nests_text_settings_or_spreads_them():
    text, vision = {"vocab_size": 7, "hidden_size": 3}, {"depth": 1}
    nested = configs.composite(NestedConfig, text, vision, image_token_id=5)
    assert nested.text_config == text and nested.vision_config == vision and nested.image_token_id == 5
    top = configs.composite(NestedConfig, text, vision, text_at_top=True, image_token_id=5)
    assert top.text_config is None and top.kwargs == text
    flat = configs.composite(FlatConfig, text, vision)
    assert (flat.vocab_size, flat.hidden_size, flat.vision_config) == (7, 3, vision)


def test_set_late_keeps_what_a_config_refuses():
    class Strict:
        __slots__ = ("pad_token_id",)

    config = Strict()
    configs.set_late(config, pad_token_id=0, image_seq_length=4)
    assert config.pad_token_id == 0 and not hasattr(config, "image_seq_length")


def test_a_missing_transformers_class_is_one_line_naming_the_first_release():
    from vlmcompat.errors import EnvironmentProblem

    with pytest.raises(EnvironmentProblem, match=r"has no NoSuchVLMForConditionalGeneration \(first in 9.1\)") as info:
        configs.transformers_class("NoSuchVLMForConditionalGeneration", "9.1")
    assert "\n" not in str(info.value)


def test_assemble_pads_right_and_labels_the_answer_only():
    torch = pytest.importorskip("torch")
    batch = chat_rows.assemble([[1, 5, 5, 9], [1, 5, 9]], [[20, 21, 2], [22]], pad_id=0)
    assert batch["input_ids"].tolist() == [[1, 5, 5, 9, 20, 21, 2], [1, 5, 9, 22, 0, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1] * 7, [1, 1, 1, 1, 0, 0, 0]]
    assert batch["labels"].tolist() == [[-100] * 4 + [20, 21, 2], [-100] * 3 + [22, -100, -100, -100]]
    assert chat_rows.answer_lengths(2, 4) == [4, 2] and chat_rows.answer_lengths(1, 4) == [4]
    assert torch.is_tensor(batch["labels"])


def test_prompt_only_cuts_before_the_answer_of_a_one_example_batch():
    torch = pytest.importorskip("torch")
    batch = chat_rows.assemble([[1, 5, 5, 9]], [[20, 21, 2]], pad_id=0)
    batch["pixel_values"] = torch.zeros(4, 6)
    batch["mm_token_type_ids"] = (batch["input_ids"] == 5).long()
    prompt = chat_rows.prompt_only(batch)
    assert prompt["input_ids"].tolist() == [[1, 5, 5, 9]]
    assert prompt["mm_token_type_ids"].tolist() == [[0, 1, 1, 0]]
    assert prompt["pixel_values"] is batch["pixel_values"] and "labels" not in prompt
    two = chat_rows.assemble([[1, 9], [1, 9]], [[20], [21]], pad_id=0)
    with pytest.raises(ValueError, match="takes a batch of one example, got 2"):
        chat_rows.prompt_only(two)

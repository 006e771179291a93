"""InstructBLIP's configurations for transformers releases without them (4.27-4.30).

The same classes, attribute names, defaults and ``model_type`` strings as transformers 4.31's
``configuration_instructblip.py``, so a ``config.json`` written by any later release loads here
and one written here loads there. Keys a later release adds (``image_token_index``, ...) are
kept as plain attributes, as ``PretrainedConfig`` does with every unknown key.
"""

from __future__ import annotations

import copy

from transformers import PretrainedConfig
from transformers.models.auto import CONFIG_MAPPING
from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES


class _SubConfig(PretrainedConfig):
    """A part of the composite config that can also be read out of a full InstructBLIP config.json."""

    composite_key = ""

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, **kwargs):
        config_dict, kwargs = cls.get_config_dict(pretrained_model_name_or_path, **kwargs)
        if config_dict.get("model_type") == "instructblip":
            config_dict = config_dict[cls.composite_key]
        return cls.from_dict(config_dict, **kwargs)


class InstructBlipVisionConfig(_SubConfig):
    model_type = "instructblip_vision_model"
    composite_key = "vision_config"

    def __init__(self, hidden_size=1408, intermediate_size=6144, num_hidden_layers=39, num_attention_heads=16,
                 image_size=224, patch_size=14, hidden_act="gelu", layer_norm_eps=1e-6, attention_dropout=0.0,
                 initializer_range=1e-10, qkv_bias=True, **kwargs):
        super().__init__(**kwargs)
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.patch_size = patch_size
        self.image_size = image_size
        self.initializer_range = initializer_range
        self.attention_dropout = attention_dropout
        self.layer_norm_eps = layer_norm_eps
        self.hidden_act = hidden_act
        self.qkv_bias = qkv_bias


class InstructBlipQFormerConfig(_SubConfig):
    model_type = "instructblip_qformer"
    composite_key = "qformer_config"

    def __init__(self, vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072, hidden_act="gelu", hidden_dropout_prob=0.1, attention_probs_dropout_prob=0.1,
                 max_position_embeddings=512, initializer_range=0.02, layer_norm_eps=1e-12, pad_token_id=0,
                 position_embedding_type="absolute", cross_attention_frequency=2, encoder_hidden_size=1408,
                 **kwargs):
        super().__init__(pad_token_id=pad_token_id, **kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.hidden_act = hidden_act
        self.intermediate_size = intermediate_size
        self.hidden_dropout_prob = hidden_dropout_prob
        self.attention_probs_dropout_prob = attention_probs_dropout_prob
        self.max_position_embeddings = max_position_embeddings
        self.initializer_range = initializer_range
        self.layer_norm_eps = layer_norm_eps
        self.position_embedding_type = position_embedding_type
        self.cross_attention_frequency = cross_attention_frequency
        self.encoder_hidden_size = encoder_hidden_size


class InstructBlipConfig(PretrainedConfig):
    """Vision encoder + instruction-aware Q-Former + any T5/LLaMA/OPT-style language model."""

    model_type = "instructblip"
    is_composition = True

    def __init__(self, vision_config=None, qformer_config=None, text_config=None, num_query_tokens=32, **kwargs):
        super().__init__(**kwargs)
        vision_config = _as_dict(vision_config)
        qformer_config = _as_dict(qformer_config)
        text_config = _as_dict(text_config)
        self.vision_config = InstructBlipVisionConfig(**vision_config)
        self.qformer_config = InstructBlipQFormerConfig(**qformer_config)
        text_model_type = text_config.get("model_type", "opt")
        if text_model_type not in CONFIG_MAPPING:
            import transformers

            raise ValueError(f"transformers {transformers.__version__} has no {text_model_type!r} language model, "
                             "which this InstructBLIP config names; install a transformers release that has it "
                             "(LLaMA: 4.28+)")
        self.text_config = CONFIG_MAPPING[text_model_type](**text_config)

        self.tie_word_embeddings = self.text_config.tie_word_embeddings
        self.is_encoder_decoder = self.text_config.is_encoder_decoder

        self.num_query_tokens = num_query_tokens
        self.qformer_config.encoder_hidden_size = self.vision_config.hidden_size
        self.use_decoder_only_language_model = self.text_config.model_type in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
        self.initializer_factor = 1.0
        self.initializer_range = 0.02

    @classmethod
    def from_vision_qformer_text_configs(cls, vision_config, qformer_config, text_config, **kwargs):
        return cls(vision_config=vision_config.to_dict(), qformer_config=qformer_config.to_dict(),
                   text_config=text_config.to_dict(), **kwargs)

    def to_dict(self):
        output = copy.deepcopy(self.__dict__)
        output["vision_config"] = self.vision_config.to_dict()
        output["qformer_config"] = self.qformer_config.to_dict()
        output["text_config"] = self.text_config.to_dict()
        output["model_type"] = self.__class__.model_type
        return output


def _as_dict(config) -> dict:
    if config is None:
        return {}
    if isinstance(config, PretrainedConfig):
        return config.to_dict()
    return dict(config)


def register_auto_config() -> list[str]:
    """Make ``AutoConfig`` know the three model types where it does not; returns those registered.

    Never replaces a type transformers (or anyone) already maps.
    """
    from transformers import AutoConfig

    registered = []
    for cls in (InstructBlipConfig, InstructBlipVisionConfig, InstructBlipQFormerConfig):
        if cls.model_type in CONFIG_MAPPING:
            continue
        AutoConfig.register(cls.model_type, cls)
        registered.append(cls.model_type)
    return registered

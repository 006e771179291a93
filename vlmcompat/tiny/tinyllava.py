"""A TinyLLaVA-style composition (the TinyLLaVA Factory recipe) assembled from the transformers
classes the installed release has, and the batches its preprocessing produces.

- vision tower: ``SiglipVisionModel`` where transformers has it (4.37+), ``CLIPVisionModel``
  before; features are the penultimate hidden state, CLS dropped for CLIP, every patch for SigLIP;
- connector: ``mlp2x_gelu`` (Linear → GELU → Linear);
- language model: ``LlamaForCausalLM`` shaped like TinyLlama-1.1B, shrunk (real sizes in comments).

``input_ids`` carry TinyLLaVA's image placeholder ``IMAGE_TOKEN_INDEX = -200`` (outside the
vocabulary). Two formats, both accepted by :class:`TinyLlavaForConditionalGeneration`:

- ``legacy``: one placeholder per example, expanded inside the model into the patch features
  (TinyLLaVA's ``prepare_inputs_labels_for_multimodal``);
- ``expanded``: one placeholder per patch feature; the features are scattered into them.

Labels are ``-100`` at image positions, sequences are re-padded right (left for ``generate``)
and position ids count the real tokens of each row. The model is vlmcompat's own class: its
``forward`` takes PEFT's injected ``inputs_embeds=None``, so it needs no patch.
"""

from __future__ import annotations

import functools
from typing import Any

IMAGE_TOKEN_INDEX = -200  # TinyLLaVA's placeholder id in input_ids
IMAGE_SIZE = 28  # 384 (siglip-so400m-patch14-384), 336 (clip-vit-large-patch14-336)
PATCH_SIZE = 14  # 14
NUM_PATCHES = (IMAGE_SIZE // PATCH_SIZE) ** 2  # 729 (SigLIP), 576 (CLIP, CLS dropped)
TEXT_VOCAB = 128  # 32000
TINYLLAMA = dict(
    vocab_size=TEXT_VOCAB,
    hidden_size=32,  # 2048
    intermediate_size=88,  # 5632
    num_hidden_layers=2,  # 22
    num_attention_heads=4,  # 32
    num_key_value_heads=2,  # 4
    max_position_embeddings=128,  # 2048
    rms_norm_eps=1e-5,
    pad_token_id=0,  # TinyLLaVA pads with <unk>
    bos_token_id=1,
    eos_token_id=2,
    tie_word_embeddings=False,
)
VISION = dict(
    hidden_size=32,  # 1152 (SigLIP), 1024 (CLIP)
    intermediate_size=64,  # 4304, 4096
    num_hidden_layers=2,  # 27, 24
    num_attention_heads=4,  # 16, 16
    image_size=IMAGE_SIZE,
    patch_size=PATCH_SIZE,
)
# model_type -> (config class, model class); the first one the installed transformers has is used.
VISION_TOWERS = {"siglip_vision_model": ("SiglipVisionConfig", "SiglipVisionModel"),
                 "clip_vision_model": ("CLIPVisionConfig", "CLIPVisionModel")}
LANGUAGE_MODELS = {"llama": ("LlamaConfig", "LlamaForCausalLM")}
PARTS = ("CLIPVisionModel", "LlamaForCausalLM")  # what the composition needs at the least
# LoRA on the language model only: a bare "q_proj" would also match the vision tower's attention.
LORA_TARGETS = tuple(f"language_model.model.layers.{i}.self_attn.{proj}"
                     for i in range(TINYLLAMA["num_hidden_layers"]) for proj in ("q_proj", "v_proj"))


def vision_tower_type() -> str:
    """``siglip_vision_model`` where transformers has SigLIP (4.37+), else ``clip_vision_model``."""
    import transformers

    for model_type, (_, model_class) in VISION_TOWERS.items():
        if hasattr(transformers, model_class):
            return model_type
    raise ImportError(f"transformers {transformers.__version__} has neither SiglipVisionModel nor CLIPVisionModel")


def describe_composition() -> str:
    """What the composition is built from here, e.g. ``TinyLlava(SiglipVisionModel + mlp2x_gelu + LlamaForCausalLM)``."""
    vision = VISION_TOWERS[vision_tower_type()][1]
    return f"vlmcompat.tiny.tinyllava.TinyLlavaForConditionalGeneration({vision} + mlp2x_gelu + LlamaForCausalLM)"


def _sub_config(value: Any, table: dict[str, tuple[str, str]], default_type: str, defaults: dict[str, Any]):
    import transformers

    if value is not None and not isinstance(value, dict):
        return value
    value = dict(defaults if value is None else value)
    model_type = value.pop("model_type", default_type)
    return getattr(transformers, table[model_type][0])(**value)


@functools.lru_cache(maxsize=None)
def config_class():
    """``TinyLlavaConfig``, built on first use (transformers is imported lazily)."""
    import transformers

    class TinyLlavaConfig(transformers.PretrainedConfig):
        model_type = "tinyllava"

        def __init__(self, vision_config=None, text_config=None, image_token_index=IMAGE_TOKEN_INDEX,
                     connector_type="mlp2x_gelu", vision_feature_layer=-2, **kwargs):
            super().__init__(**kwargs)
            self.vision_config = _sub_config(vision_config, VISION_TOWERS, vision_tower_type(), VISION)
            self.text_config = _sub_config(text_config, LANGUAGE_MODELS, "llama", TINYLLAMA)
            self.image_token_index = image_token_index
            self.connector_type = connector_type
            self.vision_feature_layer = vision_feature_layer
            self.pad_token_id = self.text_config.pad_token_id

        def to_dict(self) -> dict[str, Any]:
            out = super().to_dict()
            for key in ("vision_config", "text_config"):
                if hasattr(getattr(self, key, None), "to_dict"):
                    out[key] = getattr(self, key).to_dict()
            return out

    return TinyLlavaConfig


@functools.lru_cache(maxsize=None)
def model_class():
    """``TinyLlavaForConditionalGeneration``, built on first use (torch is imported lazily)."""
    from vlmcompat.tiny.tinyllava_model import define_model

    return define_model(config_class())


def __getattr__(name: str):
    if name == "TinyLlavaForConditionalGeneration":
        return model_class()
    if name == "TinyLlavaConfig":
        return config_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build(lm: str = "llama", seed: int = 0, image_token: bool = True):
    """A random-initialised tiny TinyLLaVA in eval mode; the config always names the placeholder."""
    import torch

    if lm not in LANGUAGE_MODELS:
        raise ValueError(f"unknown language model {lm!r}; choose from {', '.join(LANGUAGE_MODELS)}")
    config = config_class()(text_config=dict(TINYLLAMA, model_type=lm))
    torch.manual_seed(seed)
    return model_class()(config).eval()


def make_batch(lm: str = "llama", expanded: bool = True, seed: int = 0, batch_size: int = 2) -> dict[str, Any]:
    """``<bos> <image>×k prompt answer <pad>...`` with labels on the answer only; padded right."""
    import torch

    gen = torch.Generator().manual_seed(3000 + seed)
    prompt_len, answer_len = 4, 4
    pixel_values = torch.randn(batch_size, 3, IMAGE_SIZE, IMAGE_SIZE, generator=gen)
    text = torch.randint(3, TEXT_VOCAB, (batch_size, prompt_len + answer_len), generator=gen)
    k = NUM_PATCHES if expanded else 1
    image = torch.full((batch_size, k), IMAGE_TOKEN_INDEX, dtype=torch.long)
    bos = torch.full((batch_size, 1), TINYLLAMA["bos_token_id"], dtype=torch.long)
    input_ids = torch.cat([bos, image, text], dim=1)
    attention_mask = torch.ones_like(input_ids)
    input_ids[1, -2:] = TINYLLAMA["pad_token_id"]
    attention_mask[1, -2:] = 0
    labels = input_ids.clone()
    labels[:, : 1 + k + prompt_len] = -100
    labels[attention_mask == 0] = -100
    return dict(pixel_values=pixel_values, input_ids=input_ids, attention_mask=attention_mask, labels=labels)

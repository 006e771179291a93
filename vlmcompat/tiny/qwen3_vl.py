"""A tiny, seeded Qwen3-VL (``Qwen3VLForConditionalGeneration``, transformers >= 4.57) and the
batches its processor produces, built from a shrunken Qwen3-VL-2B-Instruct config (real sizes in
the comments). The processor output has Qwen2-VL's layout (see ``qwen2_vl.py``) with 16-pixel
patches; the vision tower feeds "deepstack" features into the first language-model layers, and
the text config is nested (``text_config``) from the first release.
"""

from __future__ import annotations

from typing import Any

from vlmcompat.tiny import configs, qwen2_vl

TEXT = dict(
    qwen2_vl.TEXT,
    hidden_size=32,  # 2048
    intermediate_size=64,  # 6144
    num_hidden_layers=2,  # 28
    num_attention_heads=4,  # 16
    num_key_value_heads=2,  # 8
    head_dim=8,  # 128
    tie_word_embeddings=True,  # True
)
ROPE_THETA = 5000000.0
MROPE_SECTION = [2, 1, 1]  # [24, 20, 20]: sums to head_dim / 2
PATCH_SIZE = 16  # 16
VISION = dict(
    depth=2,  # 24
    hidden_size=32,  # 1024
    intermediate_size=64,  # 4096
    num_heads=4,  # 16
    out_hidden_size=TEXT["hidden_size"],  # 2048
    patch_size=PATCH_SIZE,
    spatial_merge_size=qwen2_vl.MERGE_SIZE,  # 2
    temporal_patch_size=qwen2_vl.TEMPORAL_PATCH_SIZE,  # 2
    num_position_embeddings=16,  # 2304: a 4x4 grid of learned positions (48x48 there)
    deepstack_visual_indexes=[0],  # [5, 11, 17]
)
LAYOUT = qwen2_vl.PatchLayout(PATCH_SIZE, qwen2_vl.TEMPORAL_PATCH_SIZE, qwen2_vl.MERGE_SIZE)


def build(lm: str = "qwen3", seed: int = 0, image_token: bool = True):
    """A random-initialised tiny Qwen3-VL in eval mode (its config always names the image token)."""
    config_cls = configs.transformers_class("Qwen3VLConfig", "4.57")
    text = dict(TEXT, **configs.rope_kwargs(configs.text_config_class(config_cls), ROPE_THETA,
                                            mrope_section=list(MROPE_SECTION), mrope_interleaved=True))
    config = configs.composite(config_cls, text, VISION, tie_word_embeddings=True, **qwen2_vl.TOKEN_IDS)
    return configs.seeded(configs.transformers_class("Qwen3VLForConditionalGeneration", "4.57"), config, seed)


def make_batch(lm: str = "qwen3", expanded: bool = True, seed: int = 0, batch_size: int = 2) -> dict[str, Any]:
    """Qwen2-VL's chat-template batch (``qwen2_vl.make_batch``) with 16-pixel patches."""
    return qwen2_vl.qwen_batch(LAYOUT, seed, batch_size, "Qwen3VLForConditionalGeneration", expanded=expanded)

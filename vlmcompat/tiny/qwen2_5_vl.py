"""A tiny, seeded Qwen2.5-VL (``Qwen2_5_VLForConditionalGeneration``, transformers >= 4.49) and the
batches its processor produces, built from a shrunken Qwen2.5-VL-3B-Instruct config (real sizes in
the comments). The processor output has Qwen2-VL's layout (see ``qwen2_vl.py``); the vision tower
adds window attention, a SwiGLU MLP and an explicit ``out_hidden_size``.
"""

from __future__ import annotations

from typing import Any

from vlmcompat.tiny import configs, qwen2_vl

TEXT = dict(
    qwen2_vl.TEXT,
    hidden_size=32,  # 2048
    intermediate_size=64,  # 11008
    num_hidden_layers=2,  # 36
    num_attention_heads=4,  # 16
    num_key_value_heads=2,  # 2
)
ROPE_THETA = 1000000.0
MROPE_SECTION = [2, 1, 1]  # [16, 24, 24]
VISION = dict(
    depth=2,  # 32
    hidden_size=32,  # 1280
    intermediate_size=64,  # 3420
    num_heads=4,  # 16
    out_hidden_size=TEXT["hidden_size"],  # 2048
    patch_size=qwen2_vl.PATCH_SIZE,  # 14
    spatial_merge_size=qwen2_vl.MERGE_SIZE,  # 2
    temporal_patch_size=qwen2_vl.TEMPORAL_PATCH_SIZE,  # 2
    window_size=56,  # 112: windows of 2x2 merged tokens here, 4x4 there
    fullatt_block_indexes=[1],  # [7, 15, 23, 31]
    tokens_per_second=2,  # 2
)


def build(lm: str = "qwen2", seed: int = 0, image_token: bool = True, text_at_top: bool = True):
    """A random-initialised tiny Qwen2.5-VL in eval mode (its config always names the image token).
    ``text_at_top=False``: the text settings only in ``text_config`` (as 5.x saves them), where the
    release takes one."""
    config_cls = configs.transformers_class("Qwen2_5_VLConfig", "4.49")
    text = dict(TEXT, **configs.rope_kwargs(configs.text_config_class(config_cls), ROPE_THETA,
                                            mrope_section=list(MROPE_SECTION)))
    config = configs.composite(config_cls, text, VISION, text_at_top=text_at_top,
                               **qwen2_vl.TOKEN_IDS)  # as config.json
    model_cls = configs.transformers_class("Qwen2_5_VLForConditionalGeneration", "4.49")
    return configs.seeded(model_cls, config, seed)


def make_batch(lm: str = "qwen2", expanded: bool = True, seed: int = 0, batch_size: int = 2) -> dict[str, Any]:
    """Qwen2-VL's chat-template batch (``qwen2_vl.make_batch``) for this model."""
    return qwen2_vl.qwen_batch(qwen2_vl.QWEN2_LAYOUT, seed, batch_size, "Qwen2_5_VLForConditionalGeneration",
                               expanded=expanded)

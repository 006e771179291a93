"""A checkpoint's config.json with its widths and depths reduced, everything else kept.

What stays is what breaks people: the vocabulary size, every special and image token id, the image
size and patch size (so the processor settings still fit), the number of query tokens and image
tokens, the language model's kind and every config flag. What shrinks is what costs time: widths
(32), intermediate sizes (64), layers (2), heads (4; grouped-query attention keeps its grouping
with 2 key/value heads), head dims (8) and the rope sections that must add up to them. Keys are
set whether the file wrote them or not: configs written as diffs against the class defaults
(BLIP-2's vision and Q-Former configs) would otherwise keep the full default sizes.
Works on the JSON dict; nothing here imports transformers.
"""

from __future__ import annotations

import copy
from typing import Any

WIDTH, FFN, LAYERS, HEADS, HEAD_DIM = 32, 64, 2, 4, 8
MROPE_SECTION = [2, 1, 1]  # sums to HEAD_DIM / 2, as [16, 24, 24] sums to 128 / 2
T5_TYPES = frozenset({"t5", "mt5", "umt5"})
DTYPE_KEYS = ("torch_dtype", "dtype")
QWEN_TYPES = frozenset({"qwen2_vl", "qwen2_5_vl", "qwen3_vl", "qwen3_vl_moe"})


def _kv_heads(sub: dict[str, Any]) -> int:
    heads, kv = sub.get("num_attention_heads"), sub.get("num_key_value_heads")
    return HEADS if kv is None or kv == heads else HEADS // 2


def _rope(sub: dict[str, Any]) -> None:
    for key in ("rope_scaling", "rope_parameters"):
        rope = sub.get(key)
        if isinstance(rope, dict) and "mrope_section" in rope:
            sub[key] = dict(rope, mrope_section=list(MROPE_SECTION))


def _layer_lists(sub: dict[str, Any]) -> None:
    if isinstance(sub.get("layer_types"), list):
        sub["layer_types"] = sub["layer_types"][:LAYERS]


def text(sub: dict[str, Any], model_type: str | None) -> dict[str, Any]:
    """The language model's settings, shrunk (``sub`` is changed and returned)."""
    if model_type in T5_TYPES:
        sub.update(d_model=WIDTH, d_ff=FFN, d_kv=HEAD_DIM, num_layers=LAYERS, num_decoder_layers=LAYERS,
                   num_heads=HEADS)
        return sub
    sub.update(num_key_value_heads=_kv_heads(sub), hidden_size=WIDTH, intermediate_size=FFN,
               num_hidden_layers=LAYERS, num_attention_heads=HEADS, head_dim=HEAD_DIM)
    if model_type == "opt":
        sub.update(ffn_dim=FFN, word_embed_proj_dim=WIDTH)
    if "max_window_layers" in sub:
        sub["max_window_layers"] = LAYERS
    _rope(sub)
    _layer_lists(sub)
    return sub


def vision(sub: dict[str, Any], top_type: str) -> dict[str, Any]:
    """The vision tower's settings, shrunk; image and patch sizes kept."""
    sub.update(hidden_size=WIDTH, intermediate_size=FFN, num_hidden_layers=LAYERS, num_attention_heads=HEADS)
    if "projection_dim" in sub:
        sub["projection_dim"] = WIDTH
    if top_type in QWEN_TYPES:
        sub.update(depth=LAYERS, num_heads=HEADS, embed_dim=WIDTH, out_hidden_size=WIDTH, mlp_ratio=2)
        if top_type == "qwen2_5_vl":
            sub["fullatt_block_indexes"] = [LAYERS - 1]
        if top_type.startswith("qwen3_vl"):
            sub["deepstack_visual_indexes"] = [0]
    return sub


def qformer(sub: dict[str, Any]) -> dict[str, Any]:
    sub.update(hidden_size=WIDTH, intermediate_size=FFN, num_hidden_layers=LAYERS, num_attention_heads=HEADS,
               encoder_hidden_size=WIDTH, cross_attention_frequency=1)
    return sub


def shrink(config: dict[str, Any]) -> dict[str, Any]:
    """A shrunk copy of ``config`` (a config.json dict)."""
    out = copy.deepcopy(config)
    top_type = str(out.get("model_type"))
    if isinstance(out.get("vision_config"), dict) or top_type in QWEN_TYPES:
        out["vision_config"] = vision(dict(out.get("vision_config") or {}), top_type)
    if isinstance(out.get("qformer_config"), dict) or top_type in ("blip-2", "instructblip"):
        out["qformer_config"] = qformer(dict(out.get("qformer_config") or {}))
    sub = out.get("text_config")
    if isinstance(sub, dict):
        out["text_config"] = text(dict(sub), sub.get("model_type"))
    if top_type in QWEN_TYPES and not isinstance(sub, dict):
        text(out, top_type)  # Qwen2-VL / Qwen2.5-VL config.json: the text settings at the top level
    if "hidden_size" in out and top_type not in QWEN_TYPES:
        out["hidden_size"] = WIDTH  # PaliGemma's projector width
    if "projection_dim" in out:
        out["projection_dim"] = WIDTH
    out.pop("quantization_config", None)  # the shrunk model is built in float32, never quantised
    for sub in (out, *(v for v in out.values() if isinstance(v, dict))):
        for key in DTYPE_KEYS:
            sub.pop(key, None)
    return out

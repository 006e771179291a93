"""Which vlmcompat family a checkpoint's config.json describes.

The config names its model class (``architectures``); the family is the one whose ``model_class``
is that class, among ``vlmcompat.tiny.FAMILIES`` and the modern families
(``vlmcompat.tiny.modern_families``), so a family registered in either place is found. Classes
several families share (BLIP-2, InstructBLIP) are told apart by the language model's
``model_type`` (``opt``, ``t5``, ``llama``): the family whose language model is that one, else the
one of the same kind (seq2seq or causal). Nothing here imports torch or transformers.
"""

from __future__ import annotations

from typing import Any

from vlmcompat.errors import UsageError

# config.json's top-level model_type -> the class it stands for, when ``architectures`` is missing
MODEL_TYPES = {
    "blip-2": "Blip2ForConditionalGeneration",
    "instructblip": "InstructBlipForConditionalGeneration",
    "llava": "LlavaForConditionalGeneration",
    "qwen2_vl": "Qwen2VLForConditionalGeneration",
    "qwen2_5_vl": "Qwen2_5_VLForConditionalGeneration",
    "qwen3_vl": "Qwen3VLForConditionalGeneration",
    "llava_onevision": "LlavaOnevisionForConditionalGeneration",
    "smolvlm": "SmolVLMForConditionalGeneration",
    "idefics3": "Idefics3ForConditionalGeneration",
    "gemma3": "Gemma3ForConditionalGeneration",
    "paligemma": "PaliGemmaForConditionalGeneration",
}
SEQ2SEQ_TEXT = frozenset({"t5", "mt5", "umt5", "bart"})
# language-model model_type -> the ``lm`` name families use for it
LM_NAMES = {"opt": "opt", "t5": "t5", "llama": "llama", "vicuna": "llama"}


def all_families() -> dict[str, Any]:
    """Every family vlmcompat knows, by name (tiny.FAMILIES first)."""
    from vlmcompat import tiny
    from vlmcompat.tiny.modern_families import MODERN_FAMILIES

    return {**MODERN_FAMILIES, **tiny.FAMILIES}


def model_class(config: dict[str, Any]) -> str | None:
    archs = config.get("architectures")
    if isinstance(archs, list) and archs and isinstance(archs[0], str):
        return archs[0]
    return MODEL_TYPES.get(str(config.get("model_type")))


def text_model_type(config: dict[str, Any]) -> str | None:
    text = config.get("text_config")
    if isinstance(text, dict) and isinstance(text.get("model_type"), str):
        return text["model_type"]
    return None


def supported() -> str:
    families = all_families()
    return ", ".join(f"{name} ({fam.model_class})" for name, fam in families.items()
                     if fam.model_class != "LlamaForCausalLM")


def family_for(config: dict[str, Any], source: str = "config.json"):
    """The :class:`vlmcompat.tiny.Family` for ``config``, or one line naming the supported ones."""
    cls = model_class(config)
    candidates = [fam for fam in all_families().values() if cls is not None and fam.model_class == cls]
    candidates = [fam for fam in candidates if fam.name != "tinyllava"]
    if not candidates:
        raise UsageError(f"{source}: vlmcompat has no family for {cls or 'this config (no architectures)'}; "
                         f"supported: {supported()}")
    if len(candidates) == 1:
        return candidates[0]
    text_type = text_model_type(config) or "opt"  # BLIP-2 configs before text_config.model_type: OPT
    lm = LM_NAMES.get(text_type)
    for fam in candidates:
        if fam.lm == lm:
            return fam
    kind = "seq2seq" if text_type in SEQ2SEQ_TEXT else "causal"
    for fam in candidates:
        if fam.lm_kind == kind:
            return fam
    raise UsageError(f"{source}: {cls} with a {text_type} language model has no family; supported: "
                     f"{', '.join(f.name for f in candidates)}")

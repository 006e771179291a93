"""Family entries for the vision-language models people fine-tune today, in the shape of
``vlmcompat.tiny.FAMILIES`` (``--family`` names). ``since`` is the first transformers release
whose wheel ships the class and builds, trains (plain and LoRA through peft) and generates with the
tiny model (measured on every minor release from 4.41 to 5.24, torch 2.13, Python 3.11).

LoRA targets are ``q_proj``/``v_proj`` as in the model cards' recipes; in Qwen's vision towers
the attention is one ``qkv`` Linear, so there they reach the language model only, while in
SigLIP-tower families (LLaVA-OneVision, SmolVLM, Gemma 3, PaliGemma) they reach both towers.
"""

from __future__ import annotations

from vlmcompat.tiny.family import Family

_QV = ("q_proj", "v_proj")


def _family(name: str, model_class: str, since: str, module: str, lm: str) -> Family:
    return Family(name, model_class, "causal", since, f"vlmcompat.tiny.{module}:build",
                  f"vlmcompat.tiny.{module}:make_batch", lm, _QV, "CAUSAL_LM", legacy_format=False)


MODERN_FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        _family("qwen2-vl", "Qwen2VLForConditionalGeneration", "4.45", "qwen2_vl", "qwen2"),
        _family("qwen2.5-vl", "Qwen2_5_VLForConditionalGeneration", "4.49", "qwen2_5_vl", "qwen2"),
        _family("qwen3-vl", "Qwen3VLForConditionalGeneration", "4.57", "qwen3_vl", "qwen3"),
        _family("llava-onevision", "LlavaOnevisionForConditionalGeneration", "4.45", "llava_onevision", "qwen2"),
        # SmolVLM2 checkpoints name SmolVLMForConditionalGeneration; SmolVLM (v1) ones Idefics3ForConditionalGeneration
        _family("smolvlm", "SmolVLMForConditionalGeneration", "4.50", "smolvlm", "smolvlm"),
        _family("smolvlm-idefics3", "Idefics3ForConditionalGeneration", "4.46", "smolvlm", "idefics3"),
        _family("gemma3", "Gemma3ForConditionalGeneration", "4.50", "gemma3", "gemma3"),
        # PaliGemmaForConditionalGeneration ships from 4.41, Gemma 2 from 4.42; with a Gemma 2 language
        # model generate() fails before 4.45 ("Setting `cache_implementation` to 'sliding_window' ...")
        _family("paligemma2", "PaliGemmaForConditionalGeneration", "4.45", "paligemma", "gemma2"),
    )
}

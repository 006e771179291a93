"""Tiny random models per family, and the batches each family's processor produces.

A *family* is a model class plus a language-model kind, named as on the command line
(``--family instructblip-t5``). ``build(family)`` makes a fresh model; probes take theirs from
``model(family)`` (equal to ``build``, copied from one build per process: see
:mod:`vlmcompat.tiny.cache`) and their inputs from ``make_batch(family, expanded)``, so adding a
family means adding a :class:`~vlmcompat.tiny.family.Family` here (the current VLMs are in
:mod:`vlmcompat.tiny.modern_families`).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from vlmcompat.errors import UsageError
from vlmcompat.tiny import cache
from vlmcompat.tiny import tinyllava as _tinyllava  # no heavy imports: only its LoRA target names
from vlmcompat.tiny.family import Family
from vlmcompat.tiny.modern_families import MODERN_FAMILIES

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in (
        Family("instructblip-t5", "InstructBlipForConditionalGeneration", "seq2seq", "4.31",
               "vlmcompat.tiny.instructblip:build", "vlmcompat.tiny.instructblip:make_batch", "t5",
               ("q", "v"), "SEQ_2_SEQ_LM"),
        Family("instructblip-llama", "InstructBlipForConditionalGeneration", "causal", "4.31",
               "vlmcompat.tiny.instructblip:build", "vlmcompat.tiny.instructblip:make_batch", "llama",
               ("q_proj", "v_proj"), "CAUSAL_LM", requires=(("LlamaForCausalLM", "4.28"),)),
        Family("blip2-opt", "Blip2ForConditionalGeneration", "causal", "4.27",
               "vlmcompat.tiny.blip2:build", "vlmcompat.tiny.blip2:make_batch", "opt",
               ("q_proj", "v_proj"), "CAUSAL_LM"),
        Family("blip2-t5", "Blip2ForConditionalGeneration", "seq2seq", "4.27",
               "vlmcompat.tiny.blip2:build", "vlmcompat.tiny.blip2:make_batch", "t5",
               ("q", "v"), "SEQ_2_SEQ_LM"),
        Family("llava", "LlavaForConditionalGeneration", "causal", "4.36",
               "vlmcompat.tiny.llava:build", "vlmcompat.tiny.llava:make_batch", "llama",
               ("q_proj", "v_proj"), "CAUSAL_LM"),
        # vlmcompat's own composition; it exists where its newest part (LLaMA) does
        Family("tinyllava", "LlamaForCausalLM", "causal", "4.28",
               "vlmcompat.tiny.tinyllava:build", "vlmcompat.tiny.tinyllava:make_batch", "llama",
               _tinyllava.LORA_TARGETS, "CAUSAL_LM", extra_trainable=("connector",)),
    )
}
FAMILIES.update(MODERN_FAMILIES)  # Qwen2/2.5/3-VL, LLaVA-OneVision, SmolVLM, Gemma 3, PaliGemma 2


def get(name: str) -> Family:
    if name not in FAMILIES:
        raise UsageError(f"unknown family {name!r}; choose from: {', '.join(FAMILIES)}")
    return FAMILIES[name]


def _resolve(ref: str) -> Callable[..., Any]:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def class_available(family: str) -> bool:
    import transformers

    return hasattr(transformers, get(family).model_class)


def build(family: str, seed: int = 0, image_token: bool = False):
    """A freshly built, seeded tiny model of ``family`` in eval mode."""
    fam = get(family)
    return _resolve(fam.builder)(fam.lm, seed=seed, image_token=image_token)


def _cache_key(family: str, seed: int, image_token: bool) -> tuple:
    """What a master is built from: the family, seed, input format and the class transformers
    provides under the family's name now (a backport while patches are applied)."""
    import transformers

    return family, seed, image_token, getattr(transformers, get(family).model_class, None)


def _master(family: str, seed: int, image_token: bool) -> cache.Master:
    return cache.master(_cache_key(family, seed, image_token), seed,
                        lambda: build(family, seed=seed, image_token=image_token))


def model(family: str, seed: int = 0, image_token: bool = False):
    """The probes' tiny model: equal to ``build(family, seed, image_token)`` and leaving torch's RNG
    as that leaves it, copied from one build per process (:mod:`vlmcompat.tiny.cache`)."""
    return cache.copy_of(_cache_key(family, seed, image_token), seed,
                         lambda: build(family, seed=seed, image_token=image_token))


def config(family: str, image_token: bool = False):
    """A copy of the config of ``model(family, image_token=image_token)`` (no model copied; torch's
    RNG is left as a build leaves it, like :func:`model`)."""
    import copy

    return copy.deepcopy(_master(family, 0, image_token).model.config)


def model_type(family: str, image_token: bool = False) -> type:
    """The class of ``model(family, image_token=image_token)`` (no model copied)."""
    return type(_master(family, 0, image_token).model)


def make_batch(family: str, expanded: bool, seed: int = 0) -> dict[str, Any]:
    fam = get(family)
    return _resolve(fam.batcher)(fam.lm, expanded=expanded, seed=seed)

"""The language model inside a VLM, found by feature, and how to call modules with only the
arguments they accept. Nothing here depends on a transformers version: everything is detected
on the objects.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vlmcompat.errors import ForwardInputError


@functools.lru_cache(maxsize=256)
def _signature(fn: Callable[..., Any]) -> tuple[frozenset[str], bool]:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return frozenset(), True
    names = frozenset(params)
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return names, var_kw


def accepts(fn: Callable[..., Any], name: str) -> bool:
    """Whether ``fn`` takes ``name`` as an explicit parameter."""
    return name in _signature(getattr(fn, "__func__", fn))[0]


def call_supported(module: Any, **kwargs: Any) -> Any:
    """Call ``module`` with the keyword arguments its forward accepts.

    ``None`` means "not given" and is never passed: where the callee's default is ``None`` that is
    the same call, and where it is not (``num_logits_to_keep: int = 0``) passing ``None`` would break
    it. Arguments the forward does not name are passed on when it has ``**kwargs`` (unless False),
    and dropped otherwise.
    """
    forward = type(module).forward if hasattr(type(module), "forward") else module
    names, var_kw = _signature(forward)
    call = {}
    for key, value in kwargs.items():
        if value is None:
            continue
        if key in names or (var_kw and value is not False):
            call[key] = value
    return module(**call)


@dataclass
class LanguageModel:
    module: Any  # the language model (with its head, or the bare decoder when ``head`` is set)
    head: Any | None  # a separate LM head (newer LLaVA layout), else None
    is_encoder_decoder: bool

    def embed(self, input_ids):
        return self.module.get_input_embeddings()(input_ids)


def _search_language_model(model: Any) -> tuple[str, LanguageModel]:
    """The model's language model, found by feature rather than by attribute path.

    Looks for the sub-module whose config is the model's ``text_config`` (or has its model
    type), preferring one that has an output embedding (an LM head).
    """
    text_config = getattr(model.config, "text_config", None)
    text_type = getattr(text_config, "model_type", None)
    best = None
    for name, module in model.named_modules():
        if module is model or name.count(".") > 2:
            continue
        config = getattr(module, "config", None)
        if config is None or not hasattr(module, "get_input_embeddings"):
            continue
        if config is not text_config and getattr(config, "model_type", None) != text_type:
            continue
        try:
            has_head = module.get_output_embeddings() is not None
        except (AttributeError, NotImplementedError):
            has_head = False
        if has_head:
            return name, LanguageModel(module, None, bool(getattr(config, "is_encoder_decoder", False)))
        if best is None:
            best, best_name = module, name
    if best is None:
        raise ForwardInputError(
            f"{type(model).__name__} has no sub-module configured as its text model ({text_type}); "
            "vlmcompat cannot find its language model"
        )
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return best_name, LanguageModel(best, head, bool(getattr(best.config, "is_encoder_decoder", False)))


_CACHE_ATTR = "_vlmcompat_language_model"


def find_language_model(model: Any) -> LanguageModel:
    """The model's language model, found by feature rather than by attribute path.

    Looks for the sub-module whose config is the model's ``text_config`` (or has its model
    type), preferring one that has an output embedding (an LM head). The answer is cached on the
    model and checked on every call (the cached path must still lead to the same module), so a
    forward pays one attribute walk, not a search of every module.
    """
    cached = model.__dict__.get(_CACHE_ATTR)
    if cached is not None:
        name, lm = cached
        try:
            if model.get_submodule(name) is lm.module:
                return lm
        except AttributeError:
            pass
    name, lm = _search_language_model(model)
    model.__dict__[_CACHE_ATTR] = (name, lm)
    return lm


def image_token_id(config: Any) -> int | None:
    for attr in ("image_token_id", "image_token_index"):
        value = getattr(config, attr, None)
        if value is not None:
            return int(value)
    return None

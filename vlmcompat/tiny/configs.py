"""Composite VLM configs built the same way on every transformers release, by feature.

Config keyword arguments moved between releases: Qwen2-VL and Qwen2.5-VL take their text
settings at the top level up to 4.51 and in ``text_config`` from 4.52; rope settings are
``rope_theta`` + ``rope_scaling`` in 4.x and one ``rope_parameters`` dict in 5.x. Nothing here
compares version strings: it reads the config classes' ``__init__`` signatures and
``sub_configs``.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any


@functools.lru_cache(maxsize=128)
def init_params(cls: type) -> frozenset[str]:
    """The names ``cls.__init__`` takes explicitly (not through ``**kwargs``)."""
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):
        return frozenset()
    return frozenset(name for name, p in params.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL))


def takes(cls: type, name: str) -> bool:
    return name in init_params(cls)


def text_config_class(config_cls: type) -> type:
    """The class that reads the text settings: the ``text_config`` sub-config class where the
    composite config has a dedicated one, else the composite config itself (older releases)."""
    sub = (getattr(config_cls, "sub_configs", None) or {}).get("text_config")
    if isinstance(sub, type) and sub.__name__ != "AutoConfig" and takes(config_cls, "text_config"):
        return sub
    return config_cls


def rope_kwargs(text_cls: type, theta: float, **scaling: Any) -> dict[str, Any]:
    """Rope settings as ``text_cls`` takes them: ``rope_parameters`` (5.x) or
    ``rope_theta`` + ``rope_scaling`` (4.x). ``scaling`` holds the extra keys (mrope_section ...)."""
    if takes(text_cls, "rope_parameters"):
        return {"rope_parameters": {"rope_type": "default", "rope_theta": theta, **scaling}}
    kwargs: dict[str, Any] = {"rope_theta": theta}
    if scaling:
        kwargs["rope_scaling"] = {"type": "default", "rope_type": "default", **scaling}
    return kwargs


def composite(config_cls: type, text: dict[str, Any], vision: dict[str, Any], text_at_top: bool = False,
              **top: Any):
    """``config_cls(...)`` with ``text`` as ``text_config``, or at the top level where the class
    takes no ``text_config`` (Qwen2-VL / Qwen2.5-VL before 4.52) or ``text_at_top`` asks for the
    layout of a checkpoint's config.json written before the class had one (Qwen2-VL-2B-Instruct,
    Qwen2.5-VL-3B-Instruct): every release reads those keys into its text config."""
    if takes(config_cls, "text_config") and not text_at_top:
        return config_cls(text_config=dict(text), vision_config=dict(vision), **top)
    return config_cls(**text, vision_config=dict(vision), **top)


def set_late(config: Any, **attrs: Any) -> None:
    """Set attributes a release's config may not take as keyword arguments (older configs store
    unknown keyword arguments, newer ones may refuse them); silently keep what cannot be set."""
    for attr, value in attrs.items():
        try:
            setattr(config, attr, value)
        except (AttributeError, TypeError, ValueError):
            pass


def transformers_class(name: str, since: str) -> type:
    """``transformers.<name>``, or one line saying which release first has it."""
    import transformers

    from vlmcompat.errors import EnvironmentProblem

    cls = getattr(transformers, name, None)
    if cls is None:
        raise EnvironmentProblem(f"transformers {transformers.__version__} has no {name} (first in {since}); "
                                 f"install transformers>={since}")
    return cls


def seeded(model_cls: type, config: Any, seed: int):
    """``model_cls(config)`` initialised from ``seed``, in eval mode, on CPU, float32.

    Weight matrices a release initialises to zeros (Gemma 3's ``mm_input_projection_weight``)
    are drawn like the others (normal, std ``initializer_range``), so that images reach the
    language model of a random tiny model as they do in a trained one."""
    import torch

    torch.manual_seed(seed)
    model = model_cls(config)
    std = float(getattr(config, "initializer_range", None) or 0.02)
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() == 2 and not bool(param.any()):
                param.normal_(0.0, std)
    return model.eval()


def siglip_vision(image_size: int, patch_size: int) -> dict[str, Any]:
    """The tiny SigLIP vision tower the current VLMs share (real so400m: width 1152, MLP 4304, 16 heads,
    26-27 layers); the family gives its own image and patch sizes."""
    return dict(model_type="siglip_vision_model", hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                num_attention_heads=4, image_size=image_size, patch_size=patch_size)

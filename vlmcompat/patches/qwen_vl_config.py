"""Read a Qwen2-VL / Qwen2.5-VL config.json written by a newer transformers on 4.x.

- 4.52 nests the language-model settings in ``text_config``; 4.51 keeps that entry as a plain dict and
  fails building the generation config (``'dict' object has no attribute 'to_dict'``,
  ``config-text-config-nested``).
- transformers 5 writes rotary settings as ``rope_parameters``; 4.52-4.57 read ``rope_scaling``, find
  none, and the first forward fails (``self.rope_scaling["mrope_section"]``: ``'NoneType' object is not
  subscriptable``, ``config-rope-parameters``).

The patched ``__init__`` receives the same entries in the shape the installed release reads: the
``text_config`` entries at the top level where the class has no ``text_config`` (entries given at the
top level win), and ``rope_scaling``/``rope_theta`` from ``rope_parameters`` where they are missing.
Configs already in the installed shape pass through unchanged. Planned only on transformers 4.x.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from vlmcompat.patches import Patch, Plan, Replacement

CLASSES = ("Qwen2VLConfig", "Qwen2_5_VLConfig")


def _rope(entries: dict[str, Any]) -> dict[str, Any]:
    params = entries.get("rope_parameters")
    if not isinstance(params, dict) or entries.get("rope_scaling"):
        return entries
    out = dict(entries)
    kind = params.get("rope_type", "default")
    out["rope_scaling"] = {k: v for k, v in params.items() if k != "rope_theta"} | {"rope_type": kind, "type": kind}
    if "rope_theta" in params:
        out.setdefault("rope_theta", params["rope_theta"])
    return out


def upgrade(kwargs: dict[str, Any], takes_text_config: bool) -> dict[str, Any]:
    """``kwargs`` of a config ``__init__`` in the shape this release reads (a new dict; the input is kept)."""
    out = _rope(dict(kwargs))
    text = out.get("text_config")
    if isinstance(text, dict):
        text = _rope(text)
        if takes_text_config:
            out["text_config"] = text
        else:
            del out["text_config"]
            for key, value in text.items():
                if key != "model_type":
                    out.setdefault(key, value)
            out = _rope(out)
    return out


def _make(original):
    takes = "text_config" in inspect.signature(original).parameters

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        original(self, *args, **upgrade(kwargs, takes))

    return __init__


def _plan() -> Plan:
    from vlmcompat import versions

    if versions.installed("transformers") is None:
        return Plan(reason="transformers is not installed")
    if versions.transformers_at_least("5.0"):
        return Plan(reason="transformers 5 reads nested text_config and rope_parameters itself")
    import transformers

    found = [getattr(transformers, name) for name in CLASSES if hasattr(transformers, name)]
    if not found:
        return Plan(reason=f"transformers {transformers.__version__} has no Qwen2-VL config (first in 4.45)")
    return Plan([Replacement(cls, "__init__", _make) for cls in found])


PATCH = Patch(
    name="qwen_vl_config",
    summary="transformers 4.x reads Qwen2-VL/Qwen2.5-VL configs newer releases wrote (text_config, rope_parameters)",
    plan=_plan,
)

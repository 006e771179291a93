"""Let peft >= 0.19 wrap a composed VLM (a ``torch.nn.Module`` of one's own, the TinyLLaVA way) on
transformers 5.0-5.3.

On transformers 5, ``get_peft_model`` asks ``transformers.conversion_mapping.
get_model_conversion_mapping(model)`` which renamings apply to the model's weights. In 5.0-5.3
that function reads ``model._checkpoint_conversion_mapping`` — a ``PreTrainedModel`` class
attribute (``{}`` by default) — whenever a class in the model's MRO has a VLM name in it
("llava", "qwen2vl", ...). A composed model that is not a ``PreTrainedModel`` has no such
attribute, so LoRA cannot even be added: ``AttributeError: 'TinyLlavaForConditionalGeneration'
object has no attribute '_checkpoint_conversion_mapping'`` (``conversion-mapping-attribute``).
5.4 reads it with a default.

The patch calls the stock function with ``key_mapping={}`` for such models — exactly what the
missing class attribute would have said (no renaming) — and changes nothing for models that have
the attribute. It is planned only where the stock function reads the attribute directly.
"""

from __future__ import annotations

import functools
import inspect
import sys
from typing import Any

from vlmcompat.patches import Patch, Plan, Replacement

ATTRIBUTE = "_checkpoint_conversion_mapping"
PEFT_MODULE = "peft.utils.transformers_weight_conversion"  # imports the function by name


def _tolerant(original):
    @functools.wraps(original)
    def get_model_conversion_mapping(model, key_mapping=None, *args: Any, **kwargs: Any):
        if key_mapping is None and not hasattr(model, ATTRIBUTE):
            key_mapping = {}  # what PreTrainedModel's default class attribute says: no renaming
        return original(model, key_mapping, *args, **kwargs)

    return get_model_conversion_mapping


def _reads_attribute_directly(fn) -> bool:
    try:
        return f"model.{ATTRIBUTE}" in inspect.getsource(fn)
    except (OSError, TypeError):
        return False


def _plan() -> Plan:
    try:
        from transformers import conversion_mapping
    except ImportError:
        return Plan(reason="transformers has no conversion_mapping module (before 5.0): nothing reads the attribute")
    stock = getattr(conversion_mapping, "get_model_conversion_mapping", None)
    if stock is None or not _reads_attribute_directly(stock):
        return Plan(reason="the installed transformers reads _checkpoint_conversion_mapping with a default (5.4+)")
    replacements = [Replacement(conversion_mapping, "get_model_conversion_mapping", _tolerant)]
    peft_module = sys.modules.get(PEFT_MODULE)
    if peft_module is None:
        try:
            import importlib

            peft_module = importlib.import_module(PEFT_MODULE)
        except Exception:  # peft < 0.19 has no such module, or peft cannot be imported here
            peft_module = None
    if peft_module is not None and getattr(peft_module, "get_model_conversion_mapping", None) is stock:
        replacements.append(Replacement(peft_module, "get_model_conversion_mapping", _tolerant))
    return Plan(replacements)


PATCH = Patch(
    name="conversion_mapping",
    summary="transformers 5.0-5.3 + peft>=0.19: LoRA on composed (non-PreTrainedModel) VLMs with a VLM class name",
    plan=_plan,
)

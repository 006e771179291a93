"""``AutoModelForVision2Seq`` again on transformers 5: an alias of ``AutoModelForImageTextToText``.

transformers 5.0 removed ``AutoModelForVision2Seq`` (4.57.6 is the last release with it); code and
notebooks that import it fail with ``cannot import name 'AutoModelForVision2Seq' from
'transformers'``. ``AutoModelForImageTextToText`` (since 4.46) is its replacement and maps every
vision-language family vlmcompat knows, so the alias loads what the old name loaded. Set on
``transformers`` and ``transformers.models.auto.modeling_auto``; nothing where the name exists.
"""

from __future__ import annotations

import importlib

from vlmcompat.patches import Patch, Plan, Replacement

NAME = "AutoModelForVision2Seq"
REPLACEMENT = "AutoModelForImageTextToText"


def _plan() -> Plan:
    try:
        import transformers
    except ImportError:
        return Plan(reason="transformers is not installed")
    if hasattr(transformers, NAME):
        return Plan(reason=f"transformers {transformers.__version__} has {NAME}")
    target = getattr(transformers, REPLACEMENT, None)
    if target is None:
        return Plan(reason=f"transformers {transformers.__version__} has neither {NAME} nor {REPLACEMENT}")
    owners = [transformers]
    try:
        auto = importlib.import_module("transformers.models.auto.modeling_auto")
    except ImportError:
        auto = None
    if auto is not None and not hasattr(auto, NAME):
        owners.append(auto)
    return Plan([Replacement(owner, NAME, lambda original: target) for owner in owners])


PATCH = Patch(
    name="vision2seq_alias",
    summary="AutoModelForVision2Seq on transformers 5: an alias of AutoModelForImageTextToText",
    plan=_plan,
)

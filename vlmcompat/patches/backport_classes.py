"""Install vlmcompat's backports as ``transformers`` attributes where transformers lacks the class.

transformers exposes its classes through a lazy module; an attribute set on that module object
is what ``from transformers import X`` finds, and ``revert()`` deletes it again (the name did
not exist before). On a release that has the class, or one too old to build the backport on,
nothing is replaced and the plan says why.
"""

from __future__ import annotations

import importlib

from packaging.version import Version

from vlmcompat.backports import BACKPORTS, INSTRUCTBLIP_NEEDS
from vlmcompat.patches import Patch, Plan, Replacement


def _backport(module: str, name: str):
    def make(original):
        return getattr(importlib.import_module(module), name)

    return make


def _plan() -> Plan:
    try:
        import transformers
    except ImportError:
        return Plan(reason="transformers is not installed")
    version = Version(transformers.__version__)
    missing = {name: ref for name, ref in BACKPORTS.items() if not hasattr(transformers, name)}
    if not missing:
        return Plan(reason=f"transformers {version} has every class vlmcompat backports")
    if version < Version(INSTRUCTBLIP_NEEDS):
        return Plan(reason=f"transformers {version} is older than {INSTRUCTBLIP_NEEDS} (BLIP-2), "
                           "which the InstructBLIP backport is built on")
    return Plan([Replacement(transformers, name, _backport(module, name))
                 for name, (module, _since) in sorted(missing.items())])


PATCH = Patch(
    name="backport_classes",
    summary="InstructBLIP (config, vision, Q-Former, model) for transformers 4.27-4.30, from BLIP-2's parts",
    plan=_plan,
)

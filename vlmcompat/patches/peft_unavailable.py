"""When peft is installed but cannot be imported, tell transformers it is not there.

transformers imports peft wherever ``is_peft_available()`` says it is installed — in
``transformers.Trainer`` among others — so a peft that cannot be imported with this transformers
(``peft-import``) takes Trainer down with it. With this patch ``is_peft_available()`` answers
False in that case only, Trainer imports, and training goes on with vlmcompat's own LoRA
(``vlmcompat.train.add_lora(..., allow_fallback=True)``), whose adapters peft loads later.
Nothing changes where peft imports.
"""

from __future__ import annotations

from vlmcompat.patches import Patch, Plan, Replacement


def _not_available(original):
    def is_peft_available(*args, **kwargs):
        return False

    is_peft_available.__wrapped__ = original
    return is_peft_available


def _plan() -> Plan:
    import importlib.util

    from vlmcompat.train import peft_error

    if importlib.util.find_spec("peft") is None:
        return Plan(reason="peft is not installed (transformers already knows)")
    error = peft_error()
    if error is None:
        return Plan(reason="peft imports here")
    try:
        import transformers.utils as utils
        import transformers.utils.import_utils as import_utils
    except ImportError:
        return Plan(reason="transformers is not installed")
    if not hasattr(import_utils, "is_peft_available"):
        return Plan(reason="this transformers does not check for peft")
    replacements = [Replacement(import_utils, "is_peft_available", _not_available)]
    if hasattr(utils, "is_peft_available"):
        replacements.append(Replacement(utils, "is_peft_available", _not_available))
    if hasattr(import_utils, "_peft_available"):
        replacements.append(Replacement(import_utils, "_peft_available", lambda original: False))
    return Plan(replacements)


PATCH = Patch(
    name="peft_unavailable",
    summary="a peft that cannot be imported is reported unavailable, so Trainer imports (fallback LoRA)",
    plan=_plan,
)

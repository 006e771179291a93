"""Load a LoRA adapter saved by another transformers release, or refuse loudly.

Adapter keys name the model's parameters, and the releases name them differently: the 4.52 VLM
refactor moved LLaVA's language model from ``language_model.model.`` to ``model.language_model.``
and Qwen2-VL's from ``model.`` to ``model.language_model.``; 5.6 dropped the ``vision_model.``
level of LLaVA's CLIP tower (:mod:`vlmcompat.crosscheck.layouts`). peft >= 0.16 maps pre-4.52 keys
on 4.52+ through the model's ``_checkpoint_conversion_mapping``; nothing maps the other way. An
adapter saved by 4.52+ and loaded by 4.51 — or a 5.6+ adapter on 5.0-5.5 — loads *nothing*:
peft warns "Found missing adapter keys" (or, before peft 0.13, says nothing) and the model runs
with untrained LoRA weights (``adapter-keys-renamed``).

The patched ``set_peft_model_state_dict`` (the name ``PeftModel.load_adapter`` calls) compares the
adapter's keys with those this release's model saves; when they differ and one layout rewrite makes
them match, it loads the renamed keys; when none does and LoRA weights would stay untrained, it
raises :class:`~vlmcompat.errors.MigrationError` naming the keys. Keys that already match are
passed through untouched, so stock loads are unchanged.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from vlmcompat.patches import Patch, Plan, Replacement

log = logging.getLogger("vlmcompat.patch")
LORA_MARKERS = ("lora_A", "lora_B", "lora_embedding_A", "lora_embedding_B", "lora_magnitude_vector")


def _lora(keys) -> set[str]:
    return {k for k in keys if any(m in k for m in LORA_MARKERS)}


def relayout(model: Any, state: dict[str, Any], adapter_name: str) -> dict[str, Any]:
    """``state`` with its keys in the layout ``model`` loads; refused when LoRA weights would stay untrained."""
    from peft.utils import get_peft_model_state_dict

    from vlmcompat.crosscheck import layouts
    from vlmcompat.errors import MigrationError

    expected = _lora(get_peft_model_state_dict(model, adapter_name=adapter_name))
    missing = expected - set(state)
    if not missing:
        return state
    base = model.get_base_model()
    kind = layouts.kind_of(getattr(base.config, "model_type", None))
    if kind is not None:
        for layout in layouts.LAYOUTS:
            try:
                mapping = layouts.rewrite(kind, list(state), layout)
            except MigrationError:
                continue
            if expected <= set(mapping.values()):
                log.info("vlmcompat: adapter keys rewritten to the %s layout (%d keys)", layout, len(mapping))
                return {mapping[k]: v for k, v in state.items()}
    shown = ", ".join(sorted(missing)[:3]) + (", ..." if len(missing) > 3 else "")
    raise MigrationError(
        f"adapter {adapter_name!r} would load untrained on {type(base).__name__}: {len(missing)} of "
        f"{len(expected)} LoRA weights have no key in the file ({shown}); migrate it with "
        "`vlmcompat adapter migrate IN OUT` or load it with the transformers release that saved it")


def _make(original):
    @functools.wraps(original)
    def set_peft_model_state_dict(model, peft_model_state_dict, adapter_name="default", *args, **kwargs):
        if hasattr(model, "get_base_model") and hasattr(model, "peft_config"):
            peft_model_state_dict = relayout(model, peft_model_state_dict, adapter_name)
        return original(model, peft_model_state_dict, adapter_name, *args, **kwargs)

    return set_peft_model_state_dict


def _plan() -> Plan:
    try:
        import peft.peft_model as peft_model
    except Exception as exc:  # peft missing or not importable with this transformers
        return Plan(reason=f"peft cannot be imported here ({type(exc).__name__})")
    if not hasattr(peft_model, "set_peft_model_state_dict"):
        return Plan(reason="this peft loads adapters without set_peft_model_state_dict")
    import inspect

    if "adapter_name" not in inspect.signature(peft_model.set_peft_model_state_dict).parameters:
        # peft before 0.3 (one unnamed adapter per model) runs only with transformers releases long before
        # the 4.52 renames; measured: peft 0.2.0 + transformers 4.27.4 failed inside the patch, not without it
        return Plan(reason="this peft has no named adapters (before 0.3); its transformers releases predate the "
                    "renamed keys")
    return Plan([Replacement(peft_model, "set_peft_model_state_dict", _make)])


PATCH = Patch(
    name="peft_adapter_layout",
    summary="PeftModel.from_pretrained loads adapters saved by another transformers layout, or raises naming the keys",
    plan=_plan,
)

"""Load a local checkpoint whose weight names another transformers release wrote, or refuse loudly.

``from_pretrained`` loads the weights whose names this release knows (mapping older names through
``_checkpoint_conversion_mapping`` from 4.52, through the conversion rules in 5.x) and initialises
the rest from scratch with only a warning. Where a newer release renamed a part (LLaVA's CLIP tower
from 5.6, ``checkpoint-vision-tower-flattened``) or a release saved doubled prefixes (5.4-5.5,
``checkpoint-saved-prefixed``), an older reader is left with random weights in that part.

The patched ``from_pretrained`` looks at what the stock load left: when weights are both missing
from the model and unused in the file, it pairs them by the part they belong to
(:func:`vlmcompat.crosscheck.layouts.pair_checkpoint_keys`) and loads the file's tensors under this
release's names; when a missing weight has no single counterpart it raises
:class:`~vlmcompat.errors.MigrationError` naming the weights. Loads with nothing missing or nothing
unused, and checkpoints that are not a local folder of ``*.safetensors``, are left as they were.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from vlmcompat.patches import Patch, Plan, Replacement

log = logging.getLogger("vlmcompat.patch")


VLM_PARTS = ("vision_tower.", "multi_modal_projector.", "visual.", "language_model.")  # what the releases renamed


def rescue(model, source, info: dict) -> int:
    """Load the weights ``info`` lists as both missing and unexpected under this release's names (how many);
    raise when weights of a renamed VLM part stay missing."""
    from vlmcompat.errors import MigrationError

    missing, unexpected = info["missing_keys"], info["unexpected_keys"]
    folder = Path(str(source)) if source is not None else None
    if not (missing and unexpected) or folder is None or not folder.is_dir():
        return 0
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        return 0
    from safetensors import safe_open

    from vlmcompat.crosscheck import layouts

    handles = [safe_open(str(path), "pt") for path in files]
    stored = {key: fh for fh in handles for key in fh.keys()}  # noqa: SIM118 (a safetensors handle is no mapping)
    found = layouts.rekey(missing, unexpected, list(stored))
    pairs = layouts.in_model(found, list(model.state_dict()))
    tensors = {name: stored[key].get_tensor(key) for key, name in pairs.items()}
    if tensors:
        model.load_state_dict(tensors, strict=False)
    loaded = {found[key] for key in pairs}  # as the loader reported them
    names = {layouts.normalized(k) for k in loaded}
    info["missing_keys"] = [k for k in missing if k not in loaded]
    info["unexpected_keys"] = [k for k in unexpected if layouts.normalized(k) not in names]
    left = info["missing_keys"]
    if left and any(part in k for k in info["unexpected_keys"] for part in VLM_PARTS):
        shown = ", ".join(left[:3]) + (", ..." if len(left) > 3 else "")
        raise MigrationError(f"{folder} would load with {len(left)} weights of {type(model).__name__} left untrained "
                             f"({shown}) and {len(info['unexpected_keys'])} of its weights unused; load it with the "
                             "transformers release that saved it (config.json's transformers_version)")
    if loaded:
        log.info("vlmcompat: %d checkpoint weights of %s loaded under this release's names", len(loaded), folder)
    return len(loaded)


def _make(original):
    stock = original.__func__ if hasattr(original, "__func__") else original

    @functools.wraps(stock)
    def from_pretrained(cls, pretrained_model_name_or_path, *args, **kwargs):
        wanted = kwargs.pop("output_loading_info", False)
        model, info = stock(cls, pretrained_model_name_or_path, *args, output_loading_info=True, **kwargs)
        info = dict(info)
        info["missing_keys"], info["unexpected_keys"] = list(info.get("missing_keys") or ()), \
            list(info.get("unexpected_keys") or ())
        rescue(model, pretrained_model_name_or_path, info)
        return (model, info) if wanted else model

    return classmethod(from_pretrained)


def _plan() -> Plan:
    try:
        from transformers import PreTrainedModel
    except Exception as exc:  # transformers missing or broken here
        return Plan(reason=f"transformers cannot be imported ({type(exc).__name__})")
    return Plan([Replacement(PreTrainedModel, "from_pretrained", _make)])


PATCH = Patch(
    name="checkpoint_layout",
    summary="from_pretrained loads a local checkpoint's renamed weights under this release's names, or raises",
    plan=_plan,
)

"""The reading half of the cross-release check: in one cell, load what another cell wrote and
check it against the writer's reference.

- ``crosscheck-checkpoint``: ``from_pretrained(checkpoint, output_loading_info=True)`` reports no
  missing or unexpected keys and reproduces the writer's ``base_logits``;
- ``crosscheck-adapter``: that base plus ``PeftModel.from_pretrained(adapter)`` loads every adapter
  key (peft's "Found missing adapter keys" warning is a failure, not noise) and reproduces the
  writer's ``adapter_logits``; logits equal to ``base_logits`` mean the adapter loaded untrained;
- ``crosscheck-processor``: the saved processor loads and makes the same tensors of the fixed
  conversation (ids exactly, pixels within :data:`PIXEL_ATOL`).

Each check returns a :class:`Check`; :mod:`vlmcompat.crosscheck.run` turns them into results.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

from vlmcompat.crosscheck import artifacts, families

# float32 tiny models: a reload in the writer's release reproduces logits exactly; other releases compute the
# same weights to within 8.3e-4 (Qwen2-VL 4.x weights on 5.5/5.6) and 3.8e-3 (LLaVA 4.44's in-model image-token
# expansion against the processor-expanded path); an adapter not loaded, or a part left random, moves them by
# 0.4 or more (all measured by this check)
LOGITS_ATOL = 1e-2
PIXEL_ATOL = 1e-5
# what the model takes from a processor; other outputs (token_type_ids, which tokenizers return by
# default on some releases) are not compared
ADAPTER_DIFFERS = "adapter written by"  # how a failed adapter check's message starts
MODEL_INPUTS = ("input_ids", "attention_mask", "pixel_values", "image_grid_thw", "image_sizes")


class CheckFailed(Exception):
    """A cross-release check that did not hold; ``metrics`` say what was measured."""

    def __init__(self, message: str, metrics: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.metrics = metrics or {}


@dataclass
class Check:
    metrics: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None


def reference(w: artifacts.Written) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(w.path(artifacts.REFERENCE)))


def _batch(ref: dict[str, Any], model, w: artifacts.Written | None = None) -> dict[str, Any]:
    """The writer's batch as this release's forward takes it: in the image-token format this release's
    processor makes (a writer before 4.45 wrote one ``<image>`` per image; the same sequence), without
    inputs it does not know, and with ``mm_token_type_ids`` (Qwen-VL forwards that compute M-RoPE from
    it) derived from the image tokens, as this release's processor would return it."""
    import inspect

    batch = {k.removeprefix("batch."): v for k, v in ref.items() if k.startswith("batch.") and k != "batch.labels"}
    if w is not None and w.versions.get("expanded", True) != families.expanded_here():
        batch = {k: v for k, v in families.batch(w.family).items() if k != "labels"}
    params = inspect.signature(type(_unwrapped(model)).forward).parameters
    if "mm_token_type_ids" in params and "mm_token_type_ids" not in batch and "image_grid_thw" in batch:
        batch["mm_token_type_ids"] = (batch["input_ids"] == _unwrapped(model).config.image_token_id).long()
    if not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        batch = {k: v for k, v in batch.items() if k in params}
    return batch


def _unwrapped(model):
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


def _logits(model, batch: dict[str, Any]):
    import torch

    model.eval()
    with torch.no_grad():
        return model(**batch).logits.detach().float()


def _diff(a, b) -> float:
    if a.shape != b.shape:
        return float("inf")
    return float((a - b).abs().max())


def load_checkpoint(w: artifacts.Written):
    """``(model, loading_info)`` from the writer's checkpoint with this release's class."""
    import transformers

    cls = getattr(transformers, families.family(w.family).model_class)
    model, info = cls.from_pretrained(str(w.path(artifacts.CHECKPOINT)), output_loading_info=True)
    return model.eval(), {k: sorted(v) if not isinstance(v, str) else v for k, v in info.items()
                          if k in ("missing_keys", "unexpected_keys", "mismatched_keys")}


def _keys_problem(info: dict[str, Any]) -> str | None:
    parts = []
    for k in ("missing_keys", "unexpected_keys", "mismatched_keys"):
        if info.get(k):
            more = ", ..." if len(info[k]) > 3 else ""
            parts.append(f"{len(info[k])} {k.replace('_', ' ')} ({', '.join(map(str, info[k][:3]))}{more})")
    return "; ".join(parts) or None


def check_checkpoint(w: artifacts.Written, ref: dict[str, Any]) -> Check:
    model, info = load_checkpoint(w)
    diff = _diff(_logits(model, _batch(ref, model, w)), ref["base_logits"])
    metrics = {"missing_keys": len(info.get("missing_keys", [])),
               "unexpected_keys": len(info.get("unexpected_keys", [])), "max_abs_diff": diff}
    problem = _keys_problem(info)
    if problem:
        raise CheckFailed(f"checkpoint written by {w.cell} loads with {problem}; logits max abs diff {diff:.2e}",
                          metrics)
    if diff > LOGITS_ATOL:
        raise CheckFailed(f"checkpoint written by {w.cell} loads but its logits differ (max abs diff {diff:.2e})",
                          metrics)
    return Check(metrics)


def _peft_load(base, adapter_dir: str):
    """``PeftModel.from_pretrained`` with its warnings collected (peft warns, never raises, on missing keys)."""
    from peft import PeftModel

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = PeftModel.from_pretrained(base, adapter_dir)
    notes = [str(c.message) for c in caught if "missing adapter keys" in str(c.message)]
    return model, notes


def checkpoint_tensors(folder) -> dict[str, Any]:
    from safetensors.torch import load_file

    tensors = {}
    for path in sorted(folder.glob("*.safetensors")):
        tensors.update(load_file(str(path)))
    return tensors


def base_for_adapter(w: artifacts.Written):
    """``(model, rekeyed)``: the writer's checkpoint as the adapter's base. Where the stock loader leaves
    weights unused (see ``crosscheck-checkpoint``), they are loaded under this release's names
    (:func:`~vlmcompat.crosscheck.layouts.rekey`), so the adapter check measures the adapter alone;
    ``rekeyed`` counts them. A base that cannot be completed so fails the check."""
    from vlmcompat.crosscheck import layouts

    base, info = load_checkpoint(w)
    missing, unexpected = list(info.get("missing_keys", [])), list(info.get("unexpected_keys", []))
    if not (missing and unexpected):
        return base, 0
    tensors = checkpoint_tensors(w.path(artifacts.CHECKPOINT))
    found = layouts.rekey(missing, unexpected, list(tensors))
    pairs = layouts.in_model(found, list(base.state_dict()))
    left = sorted(set(missing) - {found[k] for k in pairs})
    if left:
        raise CheckFailed(f"the base checkpoint written by {w.cell} leaves {len(left)} weights untrained here "
                          f"({', '.join(left[:3])}); see crosscheck-checkpoint", {"base_unreadable": True})
    base.load_state_dict({pairs[k]: v for k, v in tensors.items() if k in pairs}, strict=False)
    return base, len(pairs)


def check_adapter(w: artifacts.Written, ref: dict[str, Any]) -> Check:
    base, rekeyed = base_for_adapter(w)
    model, notes = _peft_load(base, str(w.path(artifacts.ADAPTER)))
    got = _logits(model, _batch(ref, model, w))
    diff, untrained = _diff(got, ref["adapter_logits"]), _diff(got, ref["base_logits"]) <= LOGITS_ATOL
    metrics = {"max_abs_diff": diff, "untrained": untrained, "warnings": len(notes), "base_rekeyed": rekeyed}
    if diff <= LOGITS_ATOL and not notes:
        return Check(metrics)
    said = f"peft warned: {notes[0][:300]}" if notes else "no warning"
    state = ("runs untrained (logits equal the base model's)" if untrained
             else f"logits differ (max abs diff {diff:.2e})")
    raise CheckFailed(f"{ADAPTER_DIFFERS} {w.cell} {state}; {said}", metrics)


def check_processor(w: artifacts.Written, ref: dict[str, Any]) -> Check:
    expected = {k.removeprefix("processor."): v for k, v in ref.items()
                if k.startswith("processor.") and k.removeprefix("processor.") in MODEL_INPUTS}
    if not expected:
        return Check(skipped=f"{w.cell} wrote no processor: {w.versions.get('written', {}).get('processor')}")
    import transformers

    try:
        families.processor(w.family)
    except ImportError as exc:  # e.g. CLIPImageProcessor needs torchvision from 5.6; cells share only torch
        first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
        return Check(skipped=f"this release cannot build the family's processor here: {first[:200]}")
    proc = transformers.AutoProcessor.from_pretrained(str(w.path(artifacts.PROCESSOR)))
    got = families.processor_inputs(proc)
    problems = []
    for name, want in expected.items():
        have = got.get(name)
        if have is None:
            problems.append(f"{name} missing")
        elif have.shape != want.shape:
            problems.append(f"{name} shape {tuple(have.shape)} != {tuple(want.shape)}")
        elif want.is_floating_point() and _diff(have.float(), want.float()) > PIXEL_ATOL:
            problems.append(f"{name} differs (max abs diff {_diff(have.float(), want.float()):.2e})")
        elif not want.is_floating_point() and not bool((have == want).all()):
            problems.append(f"{name} differs in {int((have != want).sum())} positions")
    if problems:
        raise CheckFailed(f"processor written by {w.cell} makes other inputs here: {'; '.join(problems)}",
                          {"differences": len(problems)})
    return Check({"tensors": len(expected)})


CHECKS = {artifacts.CHECKPOINT: check_checkpoint, artifacts.ADAPTER: check_adapter,
          artifacts.PROCESSOR: check_processor}

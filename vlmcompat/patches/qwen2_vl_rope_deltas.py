"""Qwen2-VL recomputes its multimodal RoPE offsets for every forward that starts from an empty cache.

transformers 4.47-4.48 keep ``self.rope_deltas`` on ``Qwen2VLForConditionalGeneration`` after the
first forward and recompute them only when ``cache_position[0] == 0`` or none are cached. Training,
evaluation and a plain ``model(**batch)`` pass no ``cache_position``, so every call after the
model's first uses plain text positions for the image tokens: the second training step, the loss
after training and the logits of an adapter reloaded into a fresh model all disagree, silently
(``qwen2-vl-stale-rope-deltas``; transformers#36013 fixed it in 4.49). The patched ``forward``
forgets the cached offsets whenever no ``position_ids`` are given and no cache holds tokens yet —
4.49's condition — so the stock forward recomputes them; decoding steps keep them.

Applied where the class's forward reuses ``self.rope_deltas`` without looking at the cache (read from
its source), nothing else.
"""

from __future__ import annotations

import functools
import inspect

from vlmcompat.patches import Patch, Plan, Replacement, transformers_class

CLASS = "Qwen2VLForConditionalGeneration"


def empty_cache(past) -> bool:
    """Whether ``past_key_values`` holds no tokens yet (None, an empty Cache, an empty legacy tuple)."""
    if past is None:
        return True
    if hasattr(past, "get_seq_length"):
        return int(past.get_seq_length()) == 0
    try:
        return len(past) == 0 or past[0][0].shape[-2] == 0
    except (TypeError, IndexError, AttributeError):
        return False


def _forward(original):
    signature = inspect.signature(original)

    @functools.wraps(original)
    def forward(self, *args, **kwargs):
        bound = signature.bind_partial(self, *args, **kwargs)
        if bound.arguments.get("position_ids") is None and empty_cache(bound.arguments.get("past_key_values")):
            self.rope_deltas = None
        return original(self, *args, **kwargs)

    return forward


def stale(cls) -> bool:
    """Whether ``cls.forward`` reuses cached ``rope_deltas`` whatever the cache holds (4.47-4.48)."""
    try:
        source = inspect.getsource(cls.forward)
    except (OSError, TypeError):
        return False
    return "self.rope_deltas is None" in source and "get_seq_length()" not in source


def _plan() -> Plan:
    cls, reason = transformers_class(CLASS, since="4.45")
    if cls is None:
        return Plan(reason=reason)
    if not stale(cls):
        return Plan(reason=f"{CLASS}.forward recomputes rope_deltas for a new input here")
    return Plan([Replacement(cls, "forward", _forward)])


PATCH = Patch(
    name="qwen2_vl_rope_deltas",
    summary="Qwen2-VL recomputes its M-RoPE offsets for each new input (4.47-4.48 reused the first call's)",
    plan=_plan,
)

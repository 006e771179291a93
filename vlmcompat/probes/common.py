"""What the model probes share: the family's class, the installed processor's input format,
a LoRA-wrapped tiny model, and comparisons."""

from __future__ import annotations

from typing import Any

from vlmcompat import tiny, versions
from vlmcompat.probes.base import ProbeSkipped

# First release whose processors expand image tokens into input_ids (BLIP-2/InstructBLIP).
PROCESSOR_EXPANDS_SINCE = "4.45"


def require_class(family: str) -> tiny.Family:
    """The family, or skip when the installed transformers lacks its class."""
    fam = tiny.get(family)
    if not tiny.class_available(family):
        raise ProbeSkipped(
            f"{versions.describe('transformers')} has no {fam.model_class} (first in {fam.since}); "
            "see the model-class probe"
        )
    return fam


def processor_expands() -> bool:
    """Whether the installed transformers' processor writes image tokens into input_ids."""
    return versions.transformers_at_least(PROCESSOR_EXPANDS_SINCE)


def without(batch: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in batch.items() if k not in keys}


def generation_inputs(family: str, batch: dict[str, Any]) -> dict[str, Any]:
    """The prompt part of a batch, as users pass it to generate()."""
    return without(batch, "labels")


def max_abs_diff(a, b) -> float:
    return float((a.detach().float() - b.detach().float()).abs().max())

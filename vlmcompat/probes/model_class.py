"""``model-class``: is the family's class importable from transformers at all?

Native: ``from transformers import <Class>``; a missing class is ``model-class-missing``.
Patched: with vlmcompat's patches applied (which provide backports where vlmcompat has one),
the class must exist and run the full training step (the training-step probe's check).
"""

from __future__ import annotations

import importlib

from vlmcompat import tiny, versions
from vlmcompat.probes.base import Metrics, Probe, ProbeFailed, ProbeSkipped
from vlmcompat.probes.common import require_class
from vlmcompat.results import Mode


def run(family: str, mode: Mode) -> Metrics:
    import transformers

    fam = tiny.get(family)
    cls = getattr(transformers, fam.model_class, None)
    message = (f"{versions.describe('transformers')} has no {fam.model_class} (first in transformers {fam.since})")
    if mode is Mode.NATIVE:
        if cls is None:
            raise ProbeFailed("model-class-missing", message)
        return {"class": _describe(fam, cls)}
    if cls is None:
        raise ProbeSkipped(f"{message}, and vlmcompat has no backport of it for this version")
    metrics: Metrics = {"class": _describe(fam, cls)}
    if cls.__module__.startswith("vlmcompat."):
        require_class(family)  # the backport's parts (InstructBLIP-LLaMA needs LLaMA, 4.28)
        from vlmcompat.probes.training_step import check_training

        metrics.update(check_training(family, mode))
    return metrics


def _describe(fam: tiny.Family, cls) -> str:
    """The class, or for a composition of vlmcompat's own (model_class names its newest part) what it is built from."""
    module = importlib.import_module(fam.builder.partition(":")[0])
    describe = getattr(module, "describe_composition", None)
    return describe() if describe is not None else f"{cls.__module__}.{cls.__name__}"


PROBE = Probe(
    name="model-class",
    summary="the family's model class exists (patched: the backport trains where transformers has none)",
    run=run,
    families=tuple(tiny.FAMILIES),
)

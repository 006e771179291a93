"""``auto-class``: does ``AutoModelForVision2Seq`` load the family?

Notebooks and scripts load VLMs with ``AutoModelForVision2Seq``. transformers 5.0 removed it
(``cannot import name 'AutoModelForVision2Seq' from 'transformers'``: ``class-removed``; the
``vision2seq_alias`` patch makes it ``AutoModelForImageTextToText``, in transformers since 4.46),
and on 4.x it never mapped Gemma 3 or SmolVLM (``Unrecognized configuration class ... for this
kind of AutoModel: AutoModelForVision2Seq``: ``vision2seq-unmapped``, no patch: use
``AutoModelForImageTextToText``). Both modes run ``AutoModelForVision2Seq.from_config`` on the
family's config and check the class it builds; the metrics also say what
``AutoModelForImageTextToText`` builds.
"""

from __future__ import annotations

from vlmcompat import tiny
from vlmcompat.probes.base import Metrics, Probe, ProbeFailed
from vlmcompat.probes.common import require_class
from vlmcompat.results import Mode
from vlmcompat.tiny.modern_families import MODERN_FAMILIES


def build_with(auto_name: str, family: str) -> str:
    """The class name ``transformers.<auto_name>.from_config`` builds for the family's config."""
    import importlib

    auto = getattr(importlib.import_module("transformers"), auto_name)  # raises like `from transformers import`
    return type(auto.from_config(tiny.config(family))).__name__


def run(family: str, mode: Mode) -> Metrics:
    import transformers

    fam = require_class(family)
    metrics: Metrics = {}
    try:
        metrics["AutoModelForImageTextToText"] = build_with("AutoModelForImageTextToText", family)
    except (AttributeError, ValueError) as exc:
        metrics["AutoModelForImageTextToText"] = f"{type(exc).__name__}: {str(exc)[:160]}"
    if not hasattr(transformers, "AutoModelForVision2Seq"):
        message = f"cannot import name 'AutoModelForVision2Seq' from 'transformers' ({transformers.__version__})"
        metrics["AutoModelForVision2Seq"] = "ImportError"
        raise ProbeFailed("class-removed", message + "; AutoModelForImageTextToText replaces it", metrics)
    try:
        built = build_with("AutoModelForVision2Seq", family)
    except ValueError as exc:
        metrics["AutoModelForVision2Seq"] = "ValueError"
        raise ProbeFailed("vision2seq-unmapped", f"{exc} (use AutoModelForImageTextToText)", metrics) from exc
    metrics["AutoModelForVision2Seq"] = built
    if built != fam.model_class:
        raise ProbeFailed(None, f"AutoModelForVision2Seq built {built}, not {fam.model_class}", metrics)
    return metrics


PROBE = Probe(
    name="auto-class",
    summary="AutoModelForVision2Seq.from_config builds the family's class (removed in 5.0: the alias patch)",
    run=run,
    families=tuple(MODERN_FAMILIES),
)

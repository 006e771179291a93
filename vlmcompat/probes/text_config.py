"""``text-config``: where the language model's settings live in the family's config.

Composite VLM configs keep ``vocab_size`` / ``hidden_size`` in ``config.text_config``; code that
reads them at the top (``config.vocab_size``) fails with ``'Gemma3Config' object has no attribute
'vocab_size'`` (Gemma 3, OneVision, SmolVLM, Qwen3-VL: every release; Qwen2-VL / 2.5-VL with the
Hub's config.json layout: from 5.0; PaliGemma: 4.45-5.3) — ``text-config-attribute``.

Qwen2-VL / Qwen2.5-VL also take a config with the text settings *only* in ``text_config`` (how
5.x saves them, how TRL's tiny-model script builds them); the stock model of 4.52-4.55 reads the
top level and cannot build or train from it — ``nested-text-config``.

- native: top-level ``vocab_size`` / ``hidden_size`` equal the language model's; the nested Qwen
  config builds and trains;
- patched: :func:`vlmcompat.parts.text_config` gives the embedding's sizes, and the nested Qwen
  config builds and trains with ``import vlmcompat.patch`` (``nested_text_config``).
"""

from __future__ import annotations

import importlib

from vlmcompat import tiny
from vlmcompat.parts import text_config
from vlmcompat.probes.base import Metrics, Probe, ProbeFailed
from vlmcompat.probes.common import require_class
from vlmcompat.results import Mode
from vlmcompat.tiny.modern_families import MODERN_FAMILIES

NESTED = ("qwen2-vl", "qwen2.5-vl")  # the families whose configs take either layout
SETTINGS = ("vocab_size", "hidden_size")


def embedding_sizes(family: str) -> tuple[int, int]:
    rows, width = tiny.model(family).get_input_embeddings().weight.shape
    return int(rows), int(width)


def top_level_problems(family: str) -> list[str]:
    config, sizes = tiny.config(family), dict(zip(SETTINGS, embedding_sizes(family)))
    problems = []
    for name in SETTINGS:
        try:
            value = getattr(config, name)
        except AttributeError as exc:
            problems.append(f"config.{name}: AttributeError: {exc}")
            continue
        if value != sizes[name]:
            problems.append(f"config.{name} is {value}, the language model's is {sizes[name]}")
    return problems


def nested_training(family: str) -> str:
    """Build the family from a config with the text settings only in ``text_config`` and take one
    training forward; ``"n/a: ..."`` where this release's config takes no text_config."""
    fam = tiny.get(family)
    module, _, attr = fam.builder.partition(":")
    import transformers

    config_cls = type(tiny.config(family))
    if "text_config" not in (getattr(config_cls, "sub_configs", None) or {}):
        return f"n/a: transformers {transformers.__version__}'s {config_cls.__name__} takes no text_config"
    model = getattr(importlib.import_module(module), attr)(fam.lm, seed=0, image_token=True, text_at_top=False)
    model.train()
    loss = float(model(**tiny.make_batch(family, True)).loss)
    return f"trains (loss {loss:.4f})"


def run(family: str, mode: Mode) -> Metrics:
    require_class(family)
    metrics: Metrics = {}
    if mode is Mode.NATIVE:
        problems = top_level_problems(family)
        metrics["top_level"] = "; ".join(problems) or "ok"
        if family in NESTED:
            try:
                metrics["nested"] = nested_training(family)
            except AttributeError as exc:
                metrics["nested"] = f"AttributeError: {exc}"
                raise ProbeFailed("nested-text-config", f"a {family} config with the text settings only in "
                                  f"text_config: AttributeError: {exc}", metrics) from exc
        if problems:
            raise ProbeFailed("text-config-attribute", "; ".join(problems) + " (vlmcompat.parts.text_config(config) "
                              "reads them on every release)", metrics)
        return metrics
    config = text_config(tiny.config(family))
    found, sizes = (config.vocab_size, config.hidden_size), embedding_sizes(family)
    metrics["text_config"] = type(config).__name__
    if found != sizes:
        raise ProbeFailed(None, f"vlmcompat.parts.text_config gives vocab/hidden {found}, the embedding is {sizes}",
                          metrics)
    if family in NESTED:
        metrics["nested"] = nested_training(family)
    return metrics


PROBE = Probe(
    name="text-config",
    summary="vocab_size/hidden_size at the top of the config (native) vs vlmcompat.parts.text_config (patched); "
    "Qwen configs with the text settings only in text_config",
    run=run,
    families=tuple(MODERN_FAMILIES),
)

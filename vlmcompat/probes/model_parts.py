"""``model-parts``: do the attribute paths code uses still reach the model's parts?

transformers 4.52 refactored the vision-language models: ``model.model`` became the multimodal
``...Model`` holding ``language_model`` (the bare decoder) and ``visual`` / ``vision_tower``, and
the top-level class kept aliases (``model.language_model`` now the bare decoder, not the whole
``...ForCausalLM``) that 5.0 removed. Code written for a family's first release reaches into it
by paths that break on later ones: ``model.model.embed_tokens`` (Qwen2-VL, 4.52), ``model.
language_model.lm_head`` (LLaVA-style, 4.52), ``model.visual`` / ``model.vision_tower`` (5.0).

- native: each path of the family's first layout (:data:`FIRST_LAYOUT`) must resolve to the part
  it named then; a path that raises or reaches another module is ``vlm-refactor-attribute``;
- patched: :func:`vlmcompat.parts.parts` finds all five parts, and each is a module the stock
  forward really runs (forward hooks on a training forward).
"""

from __future__ import annotations

from vlmcompat import tiny
from vlmcompat.parts import Parts, parts
from vlmcompat.probes.base import Metrics, Probe, ProbeFailed
from vlmcompat.probes.common import require_class
from vlmcompat.results import Mode

_QWEN = (("model.embed_tokens", "embed_tokens"), ("visual", "vision_tower"), ("lm_head", "lm_head"))
_LLAVA = (("language_model.model", "language_model"), ("language_model.lm_head", "lm_head"),
          ("vision_tower", "vision_tower"), ("multi_modal_projector", "projector"))
_SMOLVLM = (("model.text_model", "language_model"), ("model.vision_model", "vision_tower"),
            ("model.connector", "projector"), ("lm_head", "lm_head"))
# (path, the part it reaches) as code written for the family's first release uses them
FIRST_LAYOUT: dict[str, tuple[tuple[str, str], ...]] = {
    "qwen2-vl": _QWEN, "qwen2.5-vl": _QWEN,
    "qwen3-vl": (("language_model", "language_model"), ("visual", "vision_tower"), ("lm_head", "lm_head")),
    "llava": _LLAVA, "llava-onevision": _LLAVA, "gemma3": _LLAVA, "paligemma2": _LLAVA,
    "smolvlm": _SMOLVLM, "smolvlm-idefics3": _SMOLVLM,
}
PART_NAMES = ("language_model", "vision_tower", "projector", "lm_head", "embed_tokens")


def resolve(model, path: str):
    obj = model
    for name in path.split("."):
        obj = getattr(obj, name)
    return obj


def dotted_name(model, module) -> str:
    for name, candidate in model.named_modules():
        if candidate is module:
            return name or "<the model>"
    return "<not a submodule>"


def stock_path_problems(family: str, model, found: Parts) -> tuple[list[str], Metrics]:
    """Each first-layout path that raises or reaches another module than the part it named."""
    problems, metrics = [], {}
    for path, part in FIRST_LAYOUT[family]:
        try:
            reached = resolve(model, path)
        except AttributeError as exc:
            problems.append(f"model.{path}: AttributeError: {exc}")
            metrics[path] = "AttributeError"
            continue
        expected = getattr(found, part)
        if reached is not expected:
            problems.append(f"model.{path} reaches {type(reached).__name__} ({dotted_name(model, reached)}), "
                            f"not the {part} ({type(expected).__name__}, {dotted_name(model, expected)})")
            metrics[path] = f"another module: {type(reached).__name__}"
        else:
            metrics[path] = "ok"
    return problems, metrics


def parts_run_in_forward(model, found: Parts, batch) -> list[str]:
    """The parts a training forward with labels does not run (empty: all of them run)."""
    ran: set[str] = set()
    handles = [getattr(found, name).register_forward_hook(lambda *_, name=name: ran.add(name))
               for name in PART_NAMES]
    try:
        model.train()
        model(**batch).loss.backward()
    finally:
        for handle in handles:
            handle.remove()
        model.eval()
    return [name for name in PART_NAMES if name not in ran]


def run(family: str, mode: Mode) -> Metrics:
    require_class(family)
    model = tiny.model(family, seed=0, image_token=True)
    found = parts(model)
    if mode is Mode.NATIVE:
        problems, metrics = stock_path_problems(family, model, found)
        if problems:
            raise ProbeFailed("vlm-refactor-attribute", "; ".join(problems) + " (vlmcompat.parts.parts(model) "
                              "finds every part on every release)", metrics)
        return metrics
    metrics: Metrics = {name: dotted_name(model, getattr(found, name)) for name in PART_NAMES}
    missing = [name for name in PART_NAMES if getattr(found, name) is None]
    if missing:
        raise ProbeFailed(None, f"vlmcompat.parts found no {', '.join(missing)}", metrics)
    idle = parts_run_in_forward(model, found, tiny.make_batch(family, True))
    if idle:
        raise ProbeFailed(None, f"the forward did not run the {', '.join(idle)} vlmcompat.parts returned", metrics)
    return metrics


PROBE = Probe(
    name="model-parts",
    summary="the attribute paths of each family's first layout (native) vs vlmcompat.parts (patched): the modules "
    "the forward runs",
    run=run,
    families=tuple(FIRST_LAYOUT),
)

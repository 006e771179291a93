"""Where each release keeps the parts of a vision-language model, as weight-name prefixes, and the
lossless rewriting of adapter keys from one layout to another. Pure: no torch, no transformers.

Measured with the tiny models of each family (``vlmcompat crosscheck``; keys of ``state_dict()``
and of peft's ``save_pretrained``):

- ``legacy`` (transformers < 4.52): LLaVA keeps the whole language model with its head under
  ``language_model.`` (``language_model.model.layers...``, ``language_model.lm_head``) and the
  vision tower, projector at the top; Qwen2-VL keeps the decoder under ``model.`` and the vision
  tower under ``visual.``.
- ``refactor`` (4.52 - 5.5): the VLM refactor puts a bare decoder at ``model.language_model.``,
  the head at ``lm_head.`` and the vision parts under ``model.`` (``model.vision_tower.``,
  ``model.multi_modal_projector.``, ``model.visual.``).
- ``flat`` (5.6 on): LLaVA's CLIP tower loses its ``vision_model.`` level
  (``model.vision_tower.encoder...``); Qwen2-VL is unchanged.

A key is rewritten by its longest matching prefix; every key must match a part, and all keys must
agree on one source layout, or the rewrite is refused (:class:`~vlmcompat.errors.MigrationError`).
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import Version

from vlmcompat.errors import MigrationError

PEFT_PREFIX = "base_model.model."  # what peft puts before the model's own parameter names
LAYOUTS = ("legacy", "refactor", "flat")
REFACTOR_SINCE = Version("4.52")
FLAT_SINCE = Version("5.6")

# kind -> part -> layout -> prefix
PREFIXES: dict[str, dict[str, dict[str, str]]] = {
    "llava": {
        "language_model": {"legacy": "language_model.model.", "refactor": "model.language_model.",
                           "flat": "model.language_model."},
        "lm_head": {"legacy": "language_model.lm_head.", "refactor": "lm_head.", "flat": "lm_head."},
        "vision_tower": {"legacy": "vision_tower.vision_model.", "refactor": "model.vision_tower.vision_model.",
                         "flat": "model.vision_tower."},
        "projector": {"legacy": "multi_modal_projector.", "refactor": "model.multi_modal_projector.",
                      "flat": "model.multi_modal_projector."},
    },
    "qwen-vl": {
        "language_model": {"legacy": "model.", "refactor": "model.language_model.", "flat": "model.language_model."},
        "lm_head": {"legacy": "lm_head.", "refactor": "lm_head.", "flat": "lm_head."},
        "visual": {"legacy": "visual.", "refactor": "model.visual.", "flat": "model.visual."},
    },
}
# model_type in config.json / family name -> kind (only what was measured)
KIND_OF = {"llava": "llava", "qwen2_vl": "qwen-vl", "qwen2_5_vl": "qwen-vl", "qwen2-vl": "qwen-vl",
           "qwen2.5-vl": "qwen-vl"}
# a key prefix only one kind has
_TELLS = (("visual.", "qwen-vl"), ("model.visual.", "qwen-vl"), ("vision_tower.", "llava"),
          ("model.vision_tower.", "llava"), ("multi_modal_projector.", "llava"),
          ("model.multi_modal_projector.", "llava"), ("language_model.", "llava"))


def layout_for(transformers_version: str | Version) -> str:
    """The layout a transformers release loads and saves adapters in."""
    version = Version(Version(str(transformers_version)).base_version)
    if version < REFACTOR_SINCE:
        return "legacy"
    return "refactor" if version < FLAT_SINCE else "flat"


def kind_of(model_type: str | None) -> str | None:
    return KIND_OF.get(model_type or "")


def detect_kind(keys: list[str]) -> str | None:
    """The kind the keys themselves reveal (None when every key fits every kind)."""
    for key in keys:
        name = key.removeprefix(PEFT_PREFIX)
        for prefix, kind in _TELLS:
            if name.startswith(prefix):
                return kind
    return None


@dataclass(frozen=True)
class Match:
    part: str
    rest: str  # the name after the part's prefix
    layouts: frozenset[str]  # the layouts whose prefix for the part is the matched one


def match(kind: str, name: str) -> Match | None:
    """The part of ``name`` (a key without peft's prefix) by its longest matching prefix."""
    best: tuple[int, str, str] | None = None
    for part, by_layout in PREFIXES[kind].items():
        for prefix in set(by_layout.values()):
            if name.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), part, prefix)
    if best is None:
        return None
    _, part, prefix = best
    layouts = frozenset(lay for lay, p in PREFIXES[kind][part].items() if p == prefix)
    return Match(part, name[len(prefix):], layouts)


def source_layouts(kind: str, keys: list[str]) -> frozenset[str]:
    """The layouts every key fits (refused: a key no part of ``kind`` holds, or keys of two layouts)."""
    fits = frozenset(LAYOUTS)
    for key in keys:
        m = match(kind, key.removeprefix(PEFT_PREFIX))
        if m is None:
            raise MigrationError(f"adapter key {key!r} is in no part of a {kind} model vlmcompat knows; "
                                 "nothing written")
        fits &= m.layouts
        if not fits:
            raise MigrationError(f"adapter keys mix layouts (e.g. {key!r} does not fit the others); nothing written")
    return fits


def rewrite_key(kind: str, key: str, target: str) -> str:
    has_prefix = key.startswith(PEFT_PREFIX)
    m = match(kind, key.removeprefix(PEFT_PREFIX))
    if m is None:
        raise MigrationError(f"adapter key {key!r} is in no part of a {kind} model vlmcompat knows; nothing written")
    name = PREFIXES[kind][m.part][target] + m.rest
    return PEFT_PREFIX + name if has_prefix else name


def rewrite(kind: str, keys: list[str], target: str) -> dict[str, str]:
    """``{old key: new key}`` for the ``target`` layout; lossless (one-to-one) or refused."""
    if target not in LAYOUTS:
        raise MigrationError(f"unknown layout {target!r}; one of {', '.join(LAYOUTS)}")
    source_layouts(kind, keys)
    mapping = {key: rewrite_key(kind, key, target) for key in keys}
    if len(set(mapping.values())) != len(mapping):
        raise MigrationError("two adapter keys would get the same name in the target layout; nothing written")
    return mapping


_CONTAINERS = frozenset({"model", "language_model", "vision_model"})  # levels the releases add or drop


def normalized(name: str) -> str:
    """A weight name without the container levels releases add or drop (``model.``, ``language_model.``,
    ``vision_model.``): what stays is the part's own path (``vision_tower.embeddings.class_embedding``)."""
    return ".".join(part for part in name.split(".") if part not in _CONTAINERS)


def rekey(missing: list[str], unexpected: list[str], file_keys: list[str]) -> dict[str, str]:
    """``{name in the file: name in the model}`` for the model weights a loader left missing that have exactly
    one unused counterpart (:func:`normalized`) and exactly one tensor in the file of that part path (loaders
    report unused weights after their own renaming, so the file's name may differ from the reported one)."""
    def by_name(keys: list[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for key in keys:
            found.setdefault(normalized(key), []).append(key)
        return found

    unused, stored = by_name(unexpected), by_name(file_keys)
    out = {}
    for key in missing:
        name = normalized(key)
        if len(unused.get(name, ())) == 1 and len(stored.get(name, ())) == 1:
            out[stored[name][0]] = key
    return out


def in_model(pairs: dict[str, str], model_keys: list[str]) -> dict[str, str]:
    """``pairs`` with each model name as the model's ``state_dict`` spells it: loaders may report a missing
    weight under another prefix (4.44 reports ``model.language_model.lm_head.weight`` for
    ``language_model.lm_head.weight``); a name with no single match in the model is dropped."""
    by_name: dict[str, list[str]] = {}
    for key in model_keys:
        by_name.setdefault(normalized(key), []).append(key)
    known = set(model_keys)
    out = {}
    for stored, name in pairs.items():
        if name in known:
            out[stored] = name
        elif len(by_name.get(normalized(name), ())) == 1:
            out[stored] = by_name[normalized(name)][0]
    return out

"""One rule per tokenizer.json format change, keyed by the tokenizers release that made it.

A rule edits the document in place and returns a one-line description of what it changed
(or None when the document had nothing for it); when the target release cannot express the
tokenizer exactly it raises :class:`~vlmcompat.errors.MigrationError` naming the component.
``applies(target)``: a *down* rule runs for targets older than ``changed_in`` (rewriting a new
format into the old one), an *up* rule for targets at or after it.

Formats were measured by saving and loading in uv environments with each tokenizers release.
Old readers silently ignore fields they do not know (a ``byte_fallback: true`` is read by 0.13.2
and dropped), which is why every rule that removes a field refuses unless the field is at its
default or provably changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from packaging.version import Version

from vlmcompat.errors import MigrationError
from vlmcompat.tokjson import equivalence
from vlmcompat.tokjson.components import INTRODUCED, KNOWN, SEQUENCE_KEYS, SLOTS, find, model_of, walk

Doc = dict[str, Any]

TOP_LEVEL_KEYS = ("version", "truncation", "padding", "added_tokens", "normalizer", "pre_tokenizer",
                  "post_processor", "decoder", "model")


@dataclass(frozen=True)
class Rule:
    name: str
    changed_in: Version
    summary: str
    apply: Callable[[Doc, Version], str | None]
    direction: str = "down"  # "down" | "up"

    def applies(self, target: Version) -> bool:
        return target < self.changed_in if self.direction == "down" else target >= self.changed_in


def _refuse(target: Version, what: str, why: str) -> MigrationError:
    return MigrationError(f"cannot migrate to tokenizers {target} losslessly: {what} {why}; "
                          "upgrade tokenizers on the reading side instead")


def known_top_level(doc: Doc, target: Version) -> str | None:
    """Every reader rejects unknown top-level keys (``expected `,` or `}```); none were ever added."""
    unknown = [key for key in doc if key not in TOP_LEVEL_KEYS]
    if unknown:
        raise _refuse(target, f"top-level key(s) {', '.join(unknown)}", "are unknown to every tokenizers release")
    return None


def known_components(doc: Doc, target: Version) -> str | None:
    """A component whose type no tokenizers release knows, or one without a type, cannot be read by
    any release: refused by its type and its path in the JSON, never passed through."""
    for slot in SLOTS:
        if doc.get(slot) is not None and not isinstance(doc[slot], dict):
            raise MigrationError(f"cannot migrate: {slot} is {json.dumps(doc[slot])[:40]}, not a component "
                                 "object or null; no tokenizers release can read it, fix the file")
    for comp in walk(doc):
        children = comp.data.get(SEQUENCE_KEYS.get(comp.slot, ""), [])
        if comp.type == "Sequence" and (not isinstance(children, list) or
                                        not all(isinstance(c, dict) for c in children)):
            raise MigrationError(f"cannot migrate: the {comp.slot} Sequence at {comp.path} must list component "
                                 "objects; no tokenizers release can read it, fix the file")
        if comp.slot == "model" and "type" not in comp.data:
            continue  # files from before models were tagged: the model's fields say what it is
        if not isinstance(comp.data.get("type"), str):
            raise MigrationError(f"cannot migrate: the {comp.slot} at {comp.path} has no type; "
                                 "no tokenizers release can read it, fix the file")
        if comp.type not in KNOWN[comp.slot]:
            raise MigrationError(f"cannot migrate: {comp.slot} type {comp.type!r} at {comp.path} is unknown to "
                                 f"every tokenizers release (known: {', '.join(sorted(KNOWN[comp.slot]))})")
    return None


def component_types(doc: Doc, target: Version) -> str | None:
    """A component type newer than the target (e.g. decoders.Strip, first in 0.13.3) cannot be written."""
    for comp in walk(doc):
        first = INTRODUCED.get((comp.slot, comp.type))
        if first is not None and target < first:
            raise _refuse(target, f"{comp.slot} {comp}", f"does not exist before tokenizers {first}")
    return None


def bpe_merges_as_strings(doc: Doc, target: Version) -> str | None:
    """0.20.0 writes merges as ``[["a", "b"], ...]``; older readers need ``["a b", ...]``."""
    model = model_of(doc)
    merges = model.get("merges")
    if not merges or all(isinstance(m, str) for m in merges):
        return None
    for left, right in equivalence.merge_pairs(model):
        if " " in left or " " in right:
            raise _refuse(target, f"model BPE merge {[left, right]}", "has a token containing a space, which "
                          "the 'a b' merge format of tokenizers <0.20 cannot express")
    model["merges"] = [" ".join(pair) for pair in equivalence.merge_pairs(model)]
    return f"model: {len(merges)} merges written as 'a b' strings"


def bpe_ignore_merges(doc: Doc, target: Version) -> str | None:
    """``ignore_merges`` first in 0.19.1 (LLaMA-3 sets it); older readers ignore the field."""
    model = model_of(doc)
    if "ignore_merges" not in model:
        return None
    if model["ignore_merges"]:
        piece = equivalence.ignore_merges_counterexample(model)
        if piece is not None:
            raise _refuse(target, "model BPE ignore_merges=true", f"changes how {piece!r} is tokenized")
    value = model.pop("ignore_merges")
    effect = " (no effect on this vocabulary)" if value else ""
    return f"model: ignore_merges={str(bool(value)).lower()} removed{effect}"


def bpe_byte_fallback(doc: Doc, target: Version) -> str | None:
    """BPE ``byte_fallback`` first in 0.13.3 (LLaMA); 0.13.2 reads and drops it."""
    model = model_of(doc)
    if model.get("type") != "BPE" or "byte_fallback" not in model:
        return None
    if model["byte_fallback"]:
        raise _refuse(target, "model BPE byte_fallback=true", "does not exist before tokenizers 0.13.3")
    del model["byte_fallback"]
    return "model: byte_fallback=false removed"


def unigram_byte_fallback(doc: Doc, target: Version) -> str | None:
    """Unigram ``byte_fallback`` first in 0.14.0; 0.13 reads and drops it."""
    model = model_of(doc)
    if model.get("type") != "Unigram" or "byte_fallback" not in model:
        return None
    if model["byte_fallback"]:
        raise _refuse(target, "model Unigram byte_fallback=true", "does not exist before tokenizers 0.14.0")
    del model["byte_fallback"]
    return "model: byte_fallback=false removed"


def _metaspaces(doc: Doc) -> list:
    return find(doc, "pre_tokenizer", "Metaspace") + find(doc, "decoder", "Metaspace")


def metaspace_split(doc: Doc, target: Version) -> str | None:
    """Metaspace ``split`` first in 0.19.0; older releases always split (as ``split=true``)."""
    changed = []
    for comp in _metaspaces(doc):
        if "split" not in comp.data:
            continue
        if comp.data["split"] is False and comp.slot == "pre_tokenizer":
            why = equivalence.inner_replacement_counterexample(model_of(doc), comp.data.get("replacement", "▁"))
            if why is not None:
                raise _refuse(target, f"pre_tokenizer {comp} split=false",
                              f"differs from the always-split Metaspace of tokenizers <0.19 ({why})")
        del comp.data["split"]
        changed.append(comp.path)
    return f"Metaspace split removed at {', '.join(changed)}" if changed else None


def metaspace_add_prefix_space(doc: Doc, target: Version) -> str | None:
    """0.19.0 dropped ``add_prefix_space`` for ``prepend_scheme``; readers <0.19 require it."""
    changed = []
    for comp in _metaspaces(doc):
        if "add_prefix_space" in comp.data:
            continue
        comp.data["add_prefix_space"] = comp.data.get("prepend_scheme", "always") != "never"
        changed.append(comp.path)
    return f"Metaspace add_prefix_space written at {', '.join(changed)}" if changed else None


def metaspace_prepend_scheme(doc: Doc, target: Version) -> str | None:
    """``prepend_scheme`` first in 0.15.0; before it only ``add_prefix_space`` (= "always"/"never")."""
    changed = []
    for comp in _metaspaces(doc):
        scheme = comp.data.pop("prepend_scheme", None)
        if scheme is None:
            continue
        if scheme == "first" and comp.slot == "pre_tokenizer":
            raise _refuse(target, f"pre_tokenizer {comp} prepend_scheme='first'", "does not exist before 0.15.0")
        comp.data["add_prefix_space"] = scheme != "never"  # decoding: "first" strips like "always"
        changed.append(comp.path)
    return f"Metaspace prepend_scheme removed at {', '.join(changed)}" if changed else None


def metaspace_prepend_scheme_required(doc: Doc, target: Version) -> str | None:
    """Readers >= 0.19.0 need ``prepend_scheme`` (row 20): an ``add_prefix_space`` file is upgraded."""
    changed = []
    for comp in _metaspaces(doc):
        if "add_prefix_space" not in comp.data:
            continue
        add = bool(comp.data.pop("add_prefix_space"))
        scheme = comp.data.setdefault("prepend_scheme", "always" if add else "never")
        if (scheme != "never") != add:
            raise MigrationError(f"{comp.slot} {comp} has add_prefix_space={str(add).lower()} but "
                                 f"prepend_scheme={scheme!r}; fix the file, the two disagree")
        comp.data.setdefault("split", True)
        changed.append(comp.path)
    return f"Metaspace add_prefix_space replaced by prepend_scheme at {', '.join(changed)}" if changed else None


RULES: tuple[Rule, ...] = (
    Rule("known-top-level", Version("9999"), "refuse unknown top-level keys", known_top_level),
    Rule("known-components", Version("9999"), "refuse component types no release knows", known_components),
    Rule("component-types", Version("9999"), "refuse component types newer than the target", component_types),
    Rule("bpe-merges-as-strings", Version("0.20.0"), "BPE merges as 'a b' strings", bpe_merges_as_strings),
    Rule("bpe-ignore-merges", Version("0.19.1"), "drop BPE ignore_merges", bpe_ignore_merges),
    Rule("metaspace-split", Version("0.19.0"), "drop Metaspace split", metaspace_split),
    Rule("metaspace-add-prefix-space", Version("0.19.0"), "write Metaspace add_prefix_space",
         metaspace_add_prefix_space),
    Rule("metaspace-prepend-scheme", Version("0.15.0"), "drop Metaspace prepend_scheme", metaspace_prepend_scheme),
    Rule("unigram-byte-fallback", Version("0.14.0"), "drop Unigram byte_fallback", unigram_byte_fallback),
    Rule("bpe-byte-fallback", Version("0.13.3"), "drop BPE byte_fallback", bpe_byte_fallback),
    Rule("metaspace-prepend-scheme-required", Version("0.19.0"), "Metaspace add_prefix_space -> prepend_scheme",
         metaspace_prepend_scheme_required, direction="up"),
)

"""The components of a tokenizer.json, and the tokenizers release that first reads each type.

A tokenizer.json has five pipeline slots (``normalizer``, ``pre_tokenizer``, ``model``,
``post_processor``, ``decoder``); ``Sequence`` components nest others. :func:`walk` yields
every component dict with a readable path (``pre_tokenizer.pretokenizers[1]``) so that rules
can rewrite them in place and refusals can name them.

``INTRODUCED`` was measured by listing the classes of ``tokenizers.normalizers`` /
``pre_tokenizers`` / ``decoders`` / ``processors`` / ``models`` in uv environments with
tokenizers 0.13.2, 0.13.3, 0.14.0, 0.14.1, 0.15.0–0.15.2, 0.19.0, 0.19.1, 0.20.0, 0.20.3,
0.21.0, 0.21.2, 0.22.1 and 0.23.3 (0.16–0.18 were never released). Types absent from the table
exist in every release vlmcompat supports (0.13.2+). An older reader given an unknown type fails
with ``data did not match any variant of untagged enum ...Wrapper``; migration refuses instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from packaging.version import Version

SLOTS = ("normalizer", "pre_tokenizer", "model", "post_processor", "decoder")

# slot -> key under which a {"type": "Sequence"} component lists its children
SEQUENCE_KEYS = {
    "normalizer": "normalizers",
    "pre_tokenizer": "pretokenizers",
    "decoder": "decoders",
    "post_processor": "processors",
}

# (slot, type) -> first tokenizers release that reads it
INTRODUCED: dict[tuple[str, str], Version] = {
    ("normalizer", "Prepend"): Version("0.13.3"),
    ("normalizer", "ByteLevel"): Version("0.20.0"),
    ("pre_tokenizer", "FixedLength"): Version("0.21.2"),
    ("decoder", "ByteFallback"): Version("0.13.3"),
    ("decoder", "Fuse"): Version("0.13.3"),
    ("decoder", "Replace"): Version("0.13.3"),
    ("decoder", "Strip"): Version("0.13.3"),
}


# slot -> every component type some tokenizers release reads (the "type" each class writes, listed
# by serialising every class of tokenizers 0.23.3's normalizers / pre_tokenizers / decoders /
# processors / models; the older releases' types are a subset, see INTRODUCED). Anything else is
# unknown to every release, and migration refuses it by name and path.
KNOWN: dict[str, frozenset[str]] = {
    "normalizer": frozenset({"BertNormalizer", "ByteLevel", "Lowercase", "NFC", "NFD", "NFKC", "NFKD", "Nmt",
                             "Precompiled", "Prepend", "Replace", "Sequence", "Strip", "StripAccents"}),
    "pre_tokenizer": frozenset({"BertPreTokenizer", "ByteLevel", "CharDelimiterSplit", "Digits", "FixedLength",
                                "Metaspace", "Punctuation", "Sequence", "Split", "UnicodeScripts", "Whitespace",
                                "WhitespaceSplit"}),
    "model": frozenset({"BPE", "Unigram", "WordLevel", "WordPiece"}),
    "post_processor": frozenset({"BertProcessing", "ByteLevel", "RobertaProcessing", "Sequence",
                                 "TemplateProcessing"}),
    "decoder": frozenset({"BPEDecoder", "ByteFallback", "ByteLevel", "CTC", "Fuse", "Metaspace", "Replace",
                          "Sequence", "Strip", "WordPiece"}),
}


@dataclass
class Component:
    slot: str  # normalizer | pre_tokenizer | model | post_processor | decoder
    path: str  # e.g. "pre_tokenizer.pretokenizers[1]"
    data: dict[str, Any]  # the JSON object itself (rules edit it in place)

    @property
    def type(self) -> str:
        return str(self.data.get("type", "BPE" if self.slot == "model" and "merges" in self.data else "?"))

    def __str__(self) -> str:
        return f"{self.type} at {self.path}"


def walk(doc: dict[str, Any]) -> Iterator[Component]:
    """Every component of ``doc``, depth first, Sequences before their children."""
    for slot in SLOTS:
        node = doc.get(slot)
        if isinstance(node, dict):
            yield from _walk_node(slot, slot, node)


def _walk_node(slot: str, path: str, node: dict[str, Any]) -> Iterator[Component]:
    yield Component(slot, path, node)
    key = SEQUENCE_KEYS.get(slot)
    if key and node.get("type") == "Sequence" and isinstance(node.get(key), list):
        for i, child in enumerate(node[key]):
            if isinstance(child, dict):
                yield from _walk_node(slot, f"{path}.{key}[{i}]", child)


def find(doc: dict[str, Any], slot: str, type_: str) -> list[Component]:
    return [c for c in walk(doc) if c.slot == slot and c.type == type_]


def model_of(doc: dict[str, Any]) -> dict[str, Any]:
    model = doc.get("model")
    return model if isinstance(model, dict) else {}

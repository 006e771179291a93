"""Proofs that dropping a setting an older tokenizers cannot express changes no token id.

A migration may remove a setting only if the tokenizer behaves identically without it; these
functions decide that from the model alone (vocabulary and merges), conservatively: when they
cannot prove equivalence they report the first counter-example, and the migration refuses.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Any


def merge_pairs(model: dict[str, Any]) -> list[tuple[str, str]]:
    """BPE merges in either format: ``"a b"`` strings (<0.20) or ``["a", "b"]`` pairs (0.20+)."""
    pairs = []
    for merge in model.get("merges") or []:
        if isinstance(merge, str):
            left, _, right = merge.partition(" ")
            pairs.append((left, right))
        else:
            pairs.append((str(merge[0]), str(merge[1])))
    return pairs


def vocab_pieces(model: dict[str, Any]) -> list[str]:
    """The model's vocabulary strings (dict for BPE/WordPiece/WordLevel, [piece, score] list for Unigram)."""
    vocab = model.get("vocab") or {}
    if isinstance(vocab, dict):
        return list(vocab)
    return [entry[0] for entry in vocab]


def bpe_segment(word: str, ranks: dict[tuple[str, str], int]) -> list[str]:
    """Apply BPE merges to ``word`` as tokenizers does: lowest rank first, leftmost on ties."""
    symbols = list(word)
    while len(symbols) > 1:
        best = None
        for i, pair in enumerate(itertools.pairwise(symbols)):
            rank = ranks.get(pair)
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, i)
        if best is None:
            break
        i = best[1]
        symbols[i:i + 2] = [symbols[i] + symbols[i + 1]]
    return symbols


def ignore_merges_counterexample(model: dict[str, Any]) -> str | None:
    """A vocabulary entry that ``ignore_merges=True`` tokenizes differently from plain BPE, or None.

    With ``ignore_merges`` a pre-tokenized word found in the vocabulary becomes that one token;
    without it the merges run. The two agree on every input iff the merges rebuild every
    vocabulary entry from its characters (any entry may be a whole word).
    """
    if model.get("continuing_subword_prefix") or model.get("end_of_word_suffix"):
        return "(a BPE with continuing_subword_prefix/end_of_word_suffix is not checked)"
    vocab = set(vocab_pieces(model))
    ranks = {pair: i for i, pair in enumerate(merge_pairs(model))}
    for piece in vocab:
        if len(piece) < 2:
            continue
        if not all(ch in vocab for ch in piece) or bpe_segment(piece, ranks) != [piece]:
            return piece
    return None


def inner_replacement_counterexample(model: dict[str, Any], replacement: str) -> str | None:
    """A reason why Metaspace ``split=False`` and ``split=True`` could differ for this model, or None.

    Metaspace(split=True) cuts the text before every ``replacement`` character. If no vocabulary
    entry holds that character anywhere but at its start (and the character itself is in the
    vocabulary, so that no unknown-token fusion spans it), every tokenization already has a
    token boundary there, so the cut changes nothing (BPE and Unigram).
    """
    kind = model.get("type", "BPE" if "merges" in model else None)
    if kind not in ("BPE", "Unigram"):
        return f"(a {kind} model is not checked)"
    pieces: Iterable[str] = vocab_pieces(model)
    seen_bare = False
    for piece in pieces:
        if piece == replacement:
            seen_bare = True
        if replacement in piece[1:]:
            return f"vocabulary entry {piece!r} has {replacement!r} after its start"
    if not seen_bare:
        return f"{replacement!r} itself is not in the vocabulary"
    return None

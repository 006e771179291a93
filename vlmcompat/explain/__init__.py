"""Error text -> known issue(s): what ``vlmcompat explain`` prints.

People paste errors as they find them: a whole traceback or its last line, hard-wrapped by a terminal
or a chat window, with ANSI colour codes from a notebook, inside megabytes of log. :func:`diagnose`

1. keeps the part of the text that matters (:mod:`.text`: linear time, bounded size) and cleans it;
2. reads the context a traceback gives (:mod:`.context`: which libraries' frames, whether peft is there,
   whether the user's own code passed an argument);
3. lets each family rule look at the text as pasted and, failing that, with line wrapping undone:
   :mod:`.keywords` (refused and duplicated arguments), :mod:`.imports` (missing symbols, modules and
   model types), :mod:`.image_tokens`, :mod:`.attributes`, and :mod:`.signatures` (the catalogue's own
   signatures for every other issue);
4. decides (:mod:`.verdict`): the evidence at or above the bar becomes matches, each saying what
   decided it; with none, the closest issues become suggestions — never a diagnosis.

The confidence levels are documented in :mod:`.verdict`. ``explain(text)`` is the list of matches
(empty: not recognised), as before; ``diagnose(text)`` also carries the suggestions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from vlmcompat.explain import attributes, context, image_tokens, imports, keywords, signatures, suggest
from vlmcompat.explain.text import clean, excerpt, views
from vlmcompat.explain.verdict import (
    AMBIGUOUS,
    BAR,
    CERTAIN,
    LIKELY,
    UNWRAPPED,
    Diagnosis,
    Evidence,
    Match,
    Suggestion,
    decide,
)

__all__ = ["AMBIGUOUS", "BAR", "CERTAIN", "LIKELY", "UNWRAPPED", "Diagnosis", "Match", "Suggestion", "clean",
           "diagnose", "explain", "unwrapped_views"]

FAMILIES = (keywords, imports, image_tokens, attributes)


def unwrapped_views(text: str) -> list[str]:
    """The cleaned text with line breaks undone (as spaces; removed; removed with the next line's indentation)."""
    return views(text)[1:]


def _scan(find: Callable[[str, context.Context], list[Evidence]], texts: list[str],
          ctx: context.Context) -> list[Evidence]:
    """A rule's evidence from the text as pasted, else from the first unwrapped view that gives a diagnosis."""
    found: list[Evidence] = []
    for index, view in enumerate(texts):
        evidence = find(view, ctx)
        if index:
            evidence = [dataclasses.replace(e, confidence=min(e.confidence, UNWRAPPED),
                                            decided_by=e.decided_by + " (after undoing line wrapping)")
                        for e in evidence]
        found += evidence
        if any(e.confidence >= BAR for e in evidence):
            break
    return found


def diagnose(text: str) -> Diagnosis:
    """The known issues ``text`` shows, most confident first; with none, up to three suggestions."""
    part = clean(excerpt(text))
    ctx = context.read(part)
    texts = views(part)
    decided = frozenset().union(*(family.DECIDES for family in FAMILIES))
    evidence: list[Evidence] = []
    for find in [*(family.find for family in FAMILIES), signatures.finder(decided)]:
        evidence += _scan(find, texts, ctx)
    recognised = any(e.confidence >= BAR for e in evidence)
    return decide(evidence, [] if recognised else suggest.neighbours(part))


def explain(text: str) -> list[Match]:
    """The known issues ``text`` shows, most confident first (catalogue order breaks ties); empty: not recognised."""
    return diagnose(text).matches

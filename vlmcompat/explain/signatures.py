"""The catalogue's own signatures, for the issues no family rule decides.

A signature match is a diagnosis when the issue needs no context; when its ``[issue.explain]`` lists
``context`` patterns, one of them must be in the text too, else the match is only a suggestion; an
``unless`` pattern in the text (the look-alike) drops it. ``level = "likely"`` marks issues whose
signature, even with its context, leaves room for another cause.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from vlmcompat import known_issues
from vlmcompat.explain.context import Context
from vlmcompat.explain.verdict import CERTAIN, LIKELY, RESEMBLES, Evidence


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.S)


def _first(patterns: tuple[str, ...], *texts: str) -> re.Match[str] | None:
    for pattern in patterns:
        for text in texts:
            found = _compiled(pattern).search(text)
            if found:
                return found
    return None


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _evidence(issue: known_issues.KnownIssue, match: re.Match[str], view: str, ctx: Context) -> Evidence | None:
    if _first(issue.explain_list("unless"), ctx.text, view):
        return None
    said = match.group(0)
    context = issue.explain_list("context")
    if context:
        found = _first(context, ctx.text, view)
        if not found:
            return Evidence(issue.id, RESEMBLES, said,
                            f"the message matches `{_short(said)}`, but nothing in the text tells it from its "
                            "look-alikes")
        decided = f"signature `{_short(said)}` + context `{_short(found.group(0), 40)}`"
    else:
        decided = f"signature `{_short(said)}`"
    return Evidence(issue.id, LIKELY if issue.explain_value("level") == "likely" else CERTAIN, said, decided)


def finder(decided_elsewhere: frozenset[str]) -> Callable[[str, Context], list[Evidence]]:
    issues = [issue for issue in known_issues.all_issues() if issue.id not in decided_elsewhere]

    def find(view: str, ctx: Context) -> list[Evidence]:
        found = []
        for issue in issues:
            match = issue.matches(view)
            evidence = _evidence(issue, match, view, ctx) if match else None
            if evidence:
                found.append(evidence)
        return found

    return find

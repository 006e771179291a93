"""The known issues whose messages share the most distinctive words with an unrecognised error.

Only used when no rule recognised anything: the words of the error lines are compared with the words
of each issue's title and signatures, and issues sharing at least two distinctive words are offered as
suggestions — what to read next, never a diagnosis.
"""

from __future__ import annotations

import functools
import re

from vlmcompat import known_issues
from vlmcompat.explain.verdict import NEIGHBOUR, Evidence

MIN_SHARED = 2
_WORD = re.compile(r"[A-Za-z_]{5,40}")
_COMMON = frozenset({"error", "errors", "exception", "traceback", "recent", "warning", "while", "which", "there",
                     "these", "their", "would", "could", "should", "object", "value", "values", "argument", "model",
                     "models", "module", "found", "given", "input", "inputs", "named", "python", "return", "call",
                     "calls", "before", "after", "other", "first", "install", "version", "released", "package"})
_ERROR_LINE = re.compile(r"(?m)^.{0,300}(?:Error|Exception|Warning|error|warn).{0,300}$")


def _words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text)} - _COMMON


@functools.lru_cache(maxsize=1)
def _vocabulary() -> dict[str, set[str]]:
    vocabulary = {}
    for issue in known_issues.all_issues():
        literal = " ".join(re.sub(r"\\.|\(\?[^)]{0,8}\)|[^A-Za-z_ ]", " ", s) for s in issue.signatures)
        vocabulary[issue.id] = _words(f"{issue.title} {literal}")
    return vocabulary


def neighbours(text: str) -> list[Evidence]:
    lines = [m.group(0) for m in _ERROR_LINE.finditer(text)][-20:] or text.splitlines()[-5:]
    words = _words(" ".join(lines))
    scored = []
    for issue_id, vocabulary in _vocabulary().items():
        shared = sorted(words & vocabulary)
        if len(shared) >= MIN_SHARED:
            scored.append((len(shared), issue_id, shared))
    scored.sort(key=lambda item: -item[0])
    return [Evidence(issue_id, NEIGHBOUR, "", f"shares the words {', '.join(shared[:4])} with this issue's "
                     "messages; nothing in the text decides it") for _, issue_id, shared in scored]

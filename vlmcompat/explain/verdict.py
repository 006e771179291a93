"""Evidence, confidence and the answer explain gives.

A rule that recognises a shape of error returns :class:`Evidence`: the issue it points to, how sure
the text makes it (``confidence``), the text that matched and what decided (``decided_by``: the
signature plus the context — a peft frame, the library that raised, the class named, the argument).

Confidence levels, each a statement about the text:

- **0.95 CERTAIN** — a signature specific to the issue, or a generic one together with the context that
  tells the look-alikes apart (a peft frame around ``got an unexpected keyword argument``).
- **0.85 UNWRAPPED** — the same, but only after undoing line wrapping (the cap for any wrapped match).
- **0.75 LIKELY** — the message fits the issue and nothing in the text speaks against it, but the
  context that would confirm it is not in the paste (a last line without its traceback).
- **0.6 AMBIGUOUS** — the issue is the most likely of two or three, and the text cannot tell which.
- **below 0.5** — a suggestion, never a diagnosis: the text resembles the issue, but what would make
  it that issue is missing or speaks against it.

``BAR`` (0.5) separates the two: :class:`Diagnosis` holds the matches at or above it, most confident
first, and — only when there is none — up to three suggestions.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from vlmcompat import known_issues

CERTAIN = 0.95
UNWRAPPED = 0.85
LIKELY = 0.75
AMBIGUOUS = 0.6
BAR = 0.5
RESEMBLES = 0.4  # a suggestion backed by a matching message whose context is missing
NEIGHBOUR = 0.2  # a suggestion backed only by shared words
MAX_SUGGESTIONS = 3


@dataclass
class Evidence:
    issue: str
    confidence: float
    matched: str
    decided_by: str
    advice: str = ""  # what to pin or change, specific to this text (both libraries, the release to use)


@dataclass
class Match:
    issue: str
    confidence: float
    cause: str
    fix: str
    title: str = ""
    matched: str = ""  # the text that matched, as it reads after cleaning
    link: str = ""
    decided_by: str = ""  # the signature and the context that decided

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Suggestion:
    issue: str
    title: str
    why: str  # what in the text resembles the issue, and what is missing for a diagnosis
    link: str = ""

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Diagnosis:
    matches: list[Match] = field(default_factory=list)
    suggestions: list[Suggestion] = field(default_factory=list)

    @property
    def recognised(self) -> bool:
        return bool(self.matches)

    def to_dict(self) -> dict[str, object]:
        """``{matches: [...]}`` for a diagnosis; ``{matches: [], suggestions: [...]}`` when not recognised."""
        if self.matches:
            return {"matches": [m.to_dict() for m in self.matches]}
        return {"matches": [], "suggestions": [s.to_dict() for s in self.suggestions]}


def fix_text(issue: known_issues.KnownIssue, advice: str = "") -> str:
    parts = [issue.fix]
    if advice:
        parts.append(advice)
    if issue.fixed_by and "vlmcompat.patch" not in issue.fix:
        parts.append(f"`import vlmcompat.patch` applies the {', '.join(issue.fixed_by)} fix.")
    ranges = [entry.text + (f" (only if {entry.only_if})" if entry.only_if else "")
              + (f" ({entry.note})" if entry.note else "") for entry in issue.affected]
    if ranges:
        parts.append("Affected: " + "; ".join(ranges) + ".")
    return " ".join(parts)


def _best(evidence: list[Evidence]) -> dict[str, Evidence]:
    best: dict[str, Evidence] = {}
    for item in evidence:
        if item.issue not in best or item.confidence > best[item.issue].confidence:
            best[item.issue] = item
    return best


def decide(evidence: list[Evidence], neighbours: list[Evidence]) -> Diagnosis:
    """Matches from the evidence at or above the bar; else suggestions from the rest, then from neighbours."""
    order = {issue_id: i for i, issue_id in enumerate(known_issues.ids())}
    best = sorted(_best(evidence).values(), key=lambda e: (-e.confidence, order[e.issue]))
    matches = []
    for item in (e for e in best if e.confidence >= BAR):
        issue = known_issues.get(item.issue)
        matches.append(Match(issue=item.issue, confidence=item.confidence, cause=issue.cause,
                             fix=fix_text(issue, item.advice), title=issue.title, matched=item.matched,
                             link=issue.link, decided_by=item.decided_by))
    if matches:
        return Diagnosis(matches)
    suggestions: list[Suggestion] = []
    for item in [*best, *neighbours]:
        if item.issue not in {s.issue for s in suggestions} and len(suggestions) < MAX_SUGGESTIONS:
            issue = known_issues.get(item.issue)
            suggestions.append(Suggestion(item.issue, issue.title, item.decided_by, issue.link))
    return Diagnosis([], suggestions)

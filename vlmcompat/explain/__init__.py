"""Error text -> known issue(s): what ``vlmcompat explain`` prints.

People paste errors as they find them: a whole traceback or its last line, hard-wrapped by a
terminal or a chat window, with ANSI colour codes from a notebook, from a Trainer loop or a
TRL script. :func:`explain` cleans the text, searches it with the catalogue's signatures
(``known_issues``), and uses the traceback around the match to tell look-alike issues apart
(a ``cannot import name`` raised from peft's files is ``peft-import``; the same message for a
model class, with no peft frame, is ``model-class-missing``).

``confidence`` (0..1) says how the match was made:

- **0.95** — a signature matches the text as pasted (ANSI codes removed), and nothing in the
  traceback contradicts it.
- **0.85** — it matches only after undoing line wrapping (a message split over lines).
- **0.6**  — the text fits the issue, but the context that would decide is missing: a
  transformers symbol that is not a model class cannot be imported, and no traceback shows
  whether peft (or another library) imported it.

Below 0.5 nothing is reported: an empty list means "not recognised", never a guess.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from vlmcompat import known_issues

CERTAIN = 0.95
UNWRAPPED = 0.85
AMBIGUOUS = 0.6

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07|(?<![\w\]])\[[0-9;]{1,12}m")
_PEFT_FRAME = re.compile(r"[/\\]peft[/\\]|^\s*(from peft\b|import peft\b)|\bpeft\.\w", re.M)
_MODEL_CLASS = re.compile(r"(ForConditionalGeneration|ForCausalLM|ForVisionText2Text|ForSeq2SeqLM|Config|Processor|"
                          r"ImageProcessor|Model)$")
_MISSING_SYMBOL = re.compile(
    r"cannot import name '?(?P<import>\w+)'? from '?transformers|"
    r"module '?transformers'? has no attribute '?(?P<attr>\w+)|"
    r"No module named '?transformers\.(?P<module>[\w.]+)"
)

# What a missing transformers symbol tells about the pins (measured with peft 0.16.0:
# transformers 4.40.0 lacks EncoderDecoderCache, 4.43.4 lacks HybridCache; see tests/fixtures/errors).
_SYMBOL_ADVICE = {
    "EncoderDecoderCache": "EncoderDecoderCache is first in transformers 4.43 and peft>=0.14 imports it: "
    "pin peft<=0.13.2 or upgrade to transformers>=4.43.",
    "HybridCache": "HybridCache is first in transformers 4.44 (and gone in 5.0) and peft 0.16-0.17 import it: "
    "use transformers>=4.44,<5 with those, or peft<=0.15.2 / peft>=0.18.",
    "modeling_layers": "transformers.modeling_layers is first in transformers 4.52: upgrade transformers, or pin "
    "the library importing it to a release made before it.",
}


@dataclass
class Match:
    issue: str
    confidence: float
    cause: str
    fix: str
    title: str = ""
    matched: str = ""  # the text that matched, as it reads after cleaning
    link: str = ""

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def clean(text: str) -> str:
    """Remove ANSI colour codes (also their ESC-less remains) and carriage returns."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _ANSI.sub("", text)


def unwrapped_views(text: str) -> list[str]:
    """The cleaned text with line breaks undone: as spaces (word wraps), removed (a terminal's fixed-column
    wraps, which may split a word), and removed with the next line's indentation (wrapped log lines)."""
    return [re.sub(r"\s+", " ", text), text.replace("\n", ""), re.sub(r"\n[ \t]*", "", text)]


def _find(issue: known_issues.KnownIssue, text: str) -> tuple[float, str] | None:
    match = issue.matches(text)
    if match:
        return CERTAIN, match.group(0)
    for view in unwrapped_views(text):
        match = issue.matches(view)
        if match:
            return UNWRAPPED, match.group(0)
    return None


def _missing_symbol(matched: str) -> str | None:
    found = _MISSING_SYMBOL.search(matched)
    if not found:
        return None
    return found.group("import") or found.group("attr") or found.group("module")


def _fix_text(issue: known_issues.KnownIssue, symbol: str | None) -> str:
    parts = [issue.fix]
    if symbol:
        advice = _SYMBOL_ADVICE.get(symbol.split(".")[0])
        if advice:
            parts.append(advice)
    if issue.fixed_by and "vlmcompat.patch" not in issue.fix:
        parts.append(f"`import vlmcompat.patch` applies the {', '.join(issue.fixed_by)} fix.")
    ranges = [entry.text + (f" ({entry.note})" if entry.note else "") for entry in issue.affected]
    if ranges:
        parts.append("Affected: " + "; ".join(ranges) + ".")
    return " ".join(parts)


def _disambiguate(found: dict[str, tuple[float, str]], text: str) -> None:
    """Decide between model-class-missing and peft-import for a missing transformers symbol."""
    hits = [found.pop(issue_id) for issue_id in ("peft-import", "model-class-missing") if issue_id in found]
    if not hits:
        return
    confidence, matched = max(hits)
    symbol = _missing_symbol(matched) or ""
    if _PEFT_FRAME.search(text):
        found["peft-import"] = (confidence, matched)
    elif symbol.startswith("models.") or _MODEL_CLASS.search(symbol):
        found["model-class-missing"] = (confidence, matched)
    else:
        found["peft-import"] = (min(confidence, AMBIGUOUS), matched)


def explain(text: str) -> list[Match]:
    """The known issues ``text`` shows, most confident first (catalogue order breaks ties)."""
    cleaned = clean(text)
    found: dict[str, tuple[float, str]] = {}
    for issue in known_issues.all_issues():
        hit = _find(issue, cleaned)
        if hit:
            found[issue.id] = hit
    _disambiguate(found, cleaned)
    order = {issue_id: i for i, issue_id in enumerate(known_issues.IDS)}
    matches = []
    for issue_id, (confidence, matched) in sorted(found.items(), key=lambda kv: (-kv[1][0], order[kv[0]])):
        issue = known_issues.get(issue_id)
        symbol = _missing_symbol(matched) if issue_id in ("peft-import", "model-class-missing") else None
        matches.append(Match(issue=issue_id, confidence=confidence, cause=issue.cause, fix=_fix_text(issue, symbol),
                             title=issue.title, matched=matched, link=issue.link))
    return matches

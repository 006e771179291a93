"""Image tokens and image features that disagree, and processors that cannot count them.

``Image features and image tokens do not match: tokens: T, features F`` has three catalogued causes
with three fixes, told apart by the counts and by what else the text names:

- a setting of the processor config in the text (``patch_size``, ``num_query_tokens``,
  ``processor_config.json``, ...) → ``processor-image-token-config``;
- a truncation setting in the text (``max_length``, ``cutoff_len``, ...), or counts far apart →
  ``image-tokens-truncated`` (cut image tokens are the common cause of a large gap);
- no image tokens at all, the message without counts (its 4.45–4.47 form), ``'bool' object has no
  attribute 'unsqueeze'`` → ``image-token-expansion`` (the move to processor-side expansion).

Counts one or two apart with nothing else in the text can be a processor counting the CLS token
differently or a template/data problem: a suggestion, not a diagnosis. Division by ``None`` in a
processor, and the ``Expanding inputs for image tokens ... should be done in processing`` warning,
are ``processor-image-token-config``.
"""

from __future__ import annotations

import re

from vlmcompat import known_issues
from vlmcompat.explain.context import Context
from vlmcompat.explain.verdict import AMBIGUOUS, CERTAIN, LIKELY, RESEMBLES, Evidence

DECIDES = frozenset({"image-token-expansion", "image-tokens-truncated", "processor-image-token-config"})
OFF_BY = 2  # counts at most this far apart: a counting difference, not a cut

_MISMATCH = re.compile(r"(?:Image|Video)s? features and (?:image|video) tokens do not match"
                       r"(?:[:,]?\s{0,3}tokens:?\s{0,3}(\d{1,9})[,，]?\s{0,3}features:?\s{0,3}(\d{1,9}))?")
_EXPANSION = re.compile(r"'bool' object has no attribute 'unsqueeze'|The number of image tokens is \d{1,9} while "
                        r"the number of image given to the model is \d{1,9}|image token count")
_EXPANDING = re.compile(r"Expanding inputs for image tokens in [\w -]{1,40} should be done in processing")
_NONE_ARITHMETIC = re.compile(r"unsupported operand type\(s\) for [-+*/%]{1,2}: '(?:int|float|NoneType)' and "
                              r"'(?:NoneType|int|float)'")
_VLM = re.compile(r"(?i)llava|blip|processing_\w{1,40}\.py|processor|idefics|paligemma|qwen2?_?[25]?_?vl|smolvlm")


def _first(words: tuple[str, ...], text: str) -> str | None:
    for word in words:
        if re.search(rf"(?<![A-Za-z]){re.escape(word)}", text):
            return word
    return None


def _mismatch(match: re.Match[str], ctx: Context) -> Evidence:
    field = _first(known_issues.get("processor-image-token-config").explain_list("fields"), ctx.text)
    cut = _first(known_issues.get("image-tokens-truncated").explain_list("truncation"), ctx.text)
    said = match.group(0)
    if field:
        return Evidence("processor-image-token-config", CERTAIN if match.group(1) else LIKELY, said,
                        f"image tokens and features disagree, and the text names the processor's {field}")
    if cut:
        return Evidence("image-tokens-truncated", CERTAIN if match.group(1) else LIKELY, said,
                        f"image tokens and features disagree, and the text names the truncation setting {cut}")
    if not match.group(1):
        return Evidence("image-token-expansion", AMBIGUOUS, said,
                        "the message without counts (transformers 4.45-4.47): inputs expanded one way, the model "
                        "expecting the other")
    tokens, features = int(match.group(1)), int(match.group(2))
    if tokens == 0:
        return Evidence("image-token-expansion", AMBIGUOUS, said,
                        f"no image tokens in input_ids for {features} features: the placeholder was not expanded by "
                        "the processor (legacy processor, or a template without the image token)")
    if abs(tokens - features) <= OFF_BY:
        return Evidence("processor-image-token-config", RESEMBLES, said,
                        f"{tokens} tokens for {features} features: a processor counting one token differently (its "
                        "config), or an image placeholder in the wrong place in the data")
    return Evidence("image-tokens-truncated", LIKELY, said,
                    f"{tokens} tokens for {features} features: that many image tokens are missing or extra, as when "
                    "truncation cuts them; the text does not name the limit")


def _none_arithmetic(match: re.Match[str], ctx: Context) -> Evidence:
    field = _first(known_issues.get("processor-image-token-config").explain_list("fields"), ctx.text)
    said = match.group(0)
    if field:
        return Evidence("processor-image-token-config", CERTAIN, said,
                        f"arithmetic on None next to the processor's {field}")
    model = _VLM.search(ctx.text)
    if model:
        return Evidence("processor-image-token-config", LIKELY, said,
                        f"arithmetic on None while processing for a VLM ({model.group(0)}): a processor setting is "
                        "missing from its config")
    return Evidence("processor-image-token-config", RESEMBLES, said,
                    "arithmetic on None; a processor config lacking a setting would explain it, but the text names "
                    "no processor")


def find(view: str, ctx: Context) -> list[Evidence]:
    found = [_mismatch(m, ctx) for m in _MISMATCH.finditer(view)][:20]
    found += [Evidence("image-token-expansion", CERTAIN, m.group(0), "signature of the processor-side expansion change")
              for m in _EXPANSION.finditer(view)][:5]
    found += [Evidence("processor-image-token-config", CERTAIN, m.group(0),
                       "transformers warns that the processor config lacks the image-token settings")
              for m in _EXPANDING.finditer(view)][:5]
    found += [_none_arithmetic(m, ctx) for m in _NONE_ARITHMETIC.finditer(view)][:5]
    return found

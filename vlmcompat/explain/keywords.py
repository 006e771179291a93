"""``X() got an unexpected keyword argument 'k'`` and ``got multiple values for keyword argument 'k'``.

The same two messages come from half a dozen causes with different fixes. What decides is the
argument, who refused it (the callee the message names: a model's ``forward``, ``Accelerator``, a TRL
trainer, a huggingface_hub function) and the traceback around it (a peft frame; the user's own frame
passing the argument):

- ``num_items_in_batch`` refused by a ``forward`` → ``num-items-in-batch-unexpected``;
- the arguments accelerate 1.0 moved, refused by ``Accelerator.__init__`` → ``accelerate-dataloader-kwargs``;
- an argument TRL renamed, refused by a TRL trainer or config → ``trl-renamed-argument``;
- a version-dependent argument of another library's API → ``library-version-skew``;
- ``decoder_input_ids`` refused by a model that is not an encoder-decoder, or ``labels`` by a headless
  model under PEFT → ``peft-task-type-mismatch`` (the wrong wrapper, not a version);
- an argument PEFT's wrappers inject, refused by a model's ``forward`` → ``inputs-embeds-unexpected``,
  unless the user's own frame passed it;
- an injected argument arriving twice → ``inputs-embeds-duplicate``.

Any other argument is not diagnosed: a typo or a wrong function is not a version problem.
"""

from __future__ import annotations

import re

from vlmcompat import known_issues
from vlmcompat.explain.context import Context
from vlmcompat.explain.verdict import CERTAIN, LIKELY, RESEMBLES, Evidence

DECIDES = frozenset({"inputs-embeds-unexpected", "inputs-embeds-duplicate", "peft-task-type-mismatch",
                     "num-items-in-batch-unexpected", "accelerate-dataloader-kwargs", "trl-renamed-argument"})
MAX_OCCURRENCES = 40

_UNEXPECTED = re.compile(r"""got an unexpected keyword argument\s{1,4}(?:'(\w{1,60}(?: \w{1,30}){0,2})'|"(\w{1,60})"|"""
                         r"""`(\w{1,60})`|(\w{1,60}))""")
_MULTIPLE = re.compile(r"""got multiple values for (?:keyword )?argument\s{1,4}['"`]?(\w{1,60})['"`]?""")
_TRANSFORMERS_CLASSES = frozenset({"Trainer", "Seq2SeqTrainer", "TrainingArguments", "Seq2SeqTrainingArguments"})


def _callee(view: str, start: int) -> tuple[str, int]:
    """The callee the message names just before ``start`` (``Class.forward``, ``hf_hub_download``), and where it
    starts; ('', start) when none (a message that begins with the repr of a module)."""
    end = start
    while end > 0 and start - end < 4 and view[end - 1] in " \t":
        end -= 1
    if view[max(0, end - 2):end] == "()":
        end -= 2
    begin = end
    while begin > 0 and end - begin < 150 and view[begin - 1].isascii() and (view[begin - 1].isalnum()
                                                                             or view[begin - 1] in "_."):
        begin -= 1
    callee = view[begin:end].strip(".")
    return (callee, begin) if callee and not callee[0].isdigit() else ("", start)


def _split(callee: str) -> tuple[str | None, str]:
    """(owner, method): ``Accelerator.__init__`` -> (Accelerator, __init__); ``forward`` -> (None, forward)."""
    parts = callee.split(".")
    method = parts[-1]
    if method == "init":  # markdown ate the underscores of __init__
        method = "__init__"
    return (parts[-2] if len(parts) > 1 else None), method


def _issue(issue_id: str) -> known_issues.KnownIssue:
    return known_issues.get(issue_id)


def _is_encoder_decoder(model: str) -> bool:
    prefixes = _issue("peft-task-type-mismatch").explain_list("encoder_decoder")
    return any(re.match(rf"{re.escape(p)}(?:For|Model|Encoder|Decoder|$)", model) for p in prefixes)


def _forward(argument: str, model: str | None, ctx: Context, matched: str) -> Evidence | None:
    """An argument refused by a model's forward()."""
    mismatch = _issue("peft-task-type-mismatch")
    who = model or "the model"
    if argument in mismatch.explain_list("decoder_arguments"):
        if model and _is_encoder_decoder(model):
            return Evidence("inputs-embeds-unexpected", CERTAIN if ctx.peft else LIKELY, matched,
                            f"{model} is an encoder-decoder model whose forward() refuses the seq2seq wrapper's "
                            f"'{argument}'" + (" (peft frame in the traceback)" if ctx.peft else ""))
        return Evidence("peft-task-type-mismatch", CERTAIN if (model or ctx.peft) else LIKELY, matched,
                        f"'{argument}' is passed by PEFT's SEQ_2_SEQ_LM wrapper; {who} is not an encoder-decoder "
                        "model, so the task type is the wrong one")
    if argument in mismatch.explain_list("head_arguments"):
        headless = bool(model and model.endswith("Model") and not model.endswith(("LMHeadModel", "PreTrainedModel")))
        if ctx.peft:
            return Evidence("peft-task-type-mismatch", CERTAIN if headless else LIKELY, matched,
                            f"PEFT's CAUSAL_LM wrapper passes '{argument}' to {who}, which has no head to compute a "
                            "loss (peft in the traceback)")
        if headless:
            return Evidence("peft-task-type-mismatch", LIKELY, matched,
                            f"{model} is a model without a head: a CAUSAL_LM task type (or a trainer) hands it "
                            f"'{argument}' it cannot use")
        return Evidence("peft-task-type-mismatch", RESEMBLES, matched,
                        f"{who} refuses '{argument}'; a PEFT CAUSAL_LM wrapper around a model without a head would "
                        "explain it, but nothing in the text shows PEFT")
    if argument not in _issue("inputs-embeds-unexpected").explain_list("injected"):
        return None
    if ctx.user_passes(argument):
        return Evidence("inputs-embeds-unexpected", RESEMBLES, matched,
                        f"your own code passes {argument}= to {who}, whose forward() does not take it: no PEFT "
                        "wrapper is involved")
    if ctx.peft:
        return Evidence("inputs-embeds-unexpected", CERTAIN, matched,
                        f"{who}.forward() refuses '{argument}', which a PEFT task-type wrapper passes (peft in the "
                        "traceback)")
    if model:
        return Evidence("inputs-embeds-unexpected", LIKELY, matched,
                        f"{model}.forward() refuses '{argument}', an argument PEFT's task-type wrappers pass; paste "
                        "the whole traceback to confirm PEFT called it")
    return Evidence("inputs-embeds-unexpected", RESEMBLES, matched,
                    f"forward() refuses '{argument}', which PEFT's wrappers pass, but the text shows neither the "
                    "model nor who called it")


def _version_keyword(owner: str | None, method: str, argument: str, ctx: Context, matched: str) -> Evidence | None:
    table = _issue("library-version-skew").explain_table("keywords")
    callee = f"{owner}.{method}" if owner else method
    advice = table.get(f"{callee}:{argument}") or table.get(f"{method}:{argument}")
    if not advice:
        return None
    if owner in _TRANSFORMERS_CLASSES:  # transformers refuses it: only a library's frame makes it a skew
        others = ctx.others("transformers", "accelerate")
        if not others:
            return Evidence("library-version-skew", RESEMBLES, matched,
                            f"{callee}() refuses '{argument}'; when a library (trl, ...) passes it that is a version "
                            "skew, but no library's frame is in the text")
        return Evidence("library-version-skew", CERTAIN, matched,
                        f"{others[-1]} calls transformers' {callee}() with '{argument}', which the installed "
                        "transformers refuses", advice)
    return Evidence("library-version-skew", CERTAIN, matched,
                    f"{callee}() refuses '{argument}', an argument that depends on the library's release", advice)


def _unexpected(argument: str, callee: str, ctx: Context, matched: str) -> Evidence | None:
    owner, method = _split(callee) if callee else (None, "")
    if argument == "num_items_in_batch":
        if method == "forward":
            return Evidence("num-items-in-batch-unexpected", CERTAIN, matched,
                            "Trainer passes num_items_in_batch to the model's forward(), which refuses it")
        return Evidence("num-items-in-batch-unexpected", RESEMBLES, matched,
                        f"{callee or 'a function'}() refuses num_items_in_batch; the catalogued issue is a model's "
                        "forward() (an overridden compute_loss needs the new signature instead)")
    if argument in _issue("accelerate-dataloader-kwargs").explain_list("keywords") and (
            owner == "Accelerator" or method == "__init__"):
        return Evidence("accelerate-dataloader-kwargs", CERTAIN, matched,
                        f"Accelerator.__init__ refuses '{argument}', which accelerate 1.0 moved into "
                        "DataLoaderConfiguration")
    trl = _issue("trl-renamed-argument")
    if not owner and method == "__init__" and argument in trl.explain_list("keywords") and (
            ctx.has("trl") or re.search(trl.explain_value("trainer_class"), ctx.text)):
        return Evidence("trl-renamed-argument", LIKELY, matched,
                        f"an __init__() refuses '{argument}', an argument TRL renamed or moved, and TRL is in the text "
                        "(the message does not name the class)")
    if owner and re.fullmatch(trl.explain_value("trainer_class"), owner):
        if argument in trl.explain_list("keywords"):
            return Evidence("trl-renamed-argument", CERTAIN, matched,
                            f"TRL's {owner} refuses '{argument}', an argument TRL renamed or moved")
        return Evidence("trl-renamed-argument", RESEMBLES, matched,
                        f"TRL's {owner} refuses '{argument}', which is not one TRL renamed or moved: check its "
                        "spelling")
    found = _version_keyword(owner, method, argument, ctx, matched)
    if found or method != "forward":
        return found
    return _forward(argument, owner, ctx, matched)


def _multiple(argument: str, callee: str, ctx: Context, matched: str) -> Evidence | None:
    duplicate = _issue("inputs-embeds-duplicate")
    if callee.split(".")[-1] == "dict":  # dict(a=..., **options): an option given twice, not a forward
        return None
    if argument in duplicate.explain_list("injected"):
        return Evidence("inputs-embeds-duplicate", CERTAIN if ctx.peft else LIKELY, matched,
                        f"'{argument}' arrives twice: a PEFT wrapper injects it and the model forwards it again"
                        + (" (peft in the traceback)" if ctx.peft else ""))
    if argument in duplicate.explain_list("with_peft"):
        if ctx.peft:
            return Evidence("inputs-embeds-duplicate", CERTAIN, matched,
                            f"'{argument}' arrives twice, and peft is in the traceback")
        return Evidence("inputs-embeds-duplicate", RESEMBLES, matched,
                        f"'{argument}' arrives twice; a PEFT wrapper injecting it would explain that, but nothing in "
                        "the text shows PEFT")
    return None


def find(view: str, ctx: Context) -> list[Evidence]:
    found: list[Evidence] = []
    for pattern, decide in ((_UNEXPECTED, _unexpected), (_MULTIPLE, _multiple)):
        for count, match in enumerate(pattern.finditer(view)):
            if count == MAX_OCCURRENCES:
                break
            argument = next(g for g in match.groups() if g).replace(" ", "_")
            callee, start = _callee(view, match.start())
            evidence = decide(argument, callee, ctx, view[start:match.end()])
            if evidence:
                found.append(evidence)
    return found

"""Missing symbols, modules and model types: ``cannot import name 'X' from 'M'``, ``No module named 'M'``,
``module 'M' has no attribute 'X'``, ``model type `t` but Transformers does not recognize this
architecture``, ``KeyError: 't'`` from the auto config mapping.

Who imports the symbol decides between the ids: peft (its frames) → ``peft-import``; another library
or a plug-in → ``library-version-skew``, naming both. With no importer in the text, the symbol
decides: a name transformers 5 removed → ``class-removed``; a known library-API symbol →
``library-version-skew``; a model class, module or model type that some transformers release has →
``model-class-missing`` with the release to upgrade to (from ``transformers_names.json``). A name no
release has is a custom architecture, a misspelling or a release newer than the data: a suggestion,
not a diagnosis. A circular import and a missing optional package are not version problems.
"""

from __future__ import annotations

import dataclasses
import re

from vlmcompat import known_issues
from vlmcompat.explain import names as names_data
from vlmcompat.explain.context import Context
from vlmcompat.explain.verdict import AMBIGUOUS, CERTAIN, LIKELY, RESEMBLES, Evidence

DECIDES = frozenset({"model-class-missing", "peft-import", "class-removed", "library-version-skew"})
PROVIDERS = ("transformers", "huggingface_hub", "accelerate", "peft", "tokenizers", "diffusers", "trl", "torch")
BARE_PROVIDERS = ("transformers", "huggingface_hub")  # missing symbols decided even without an importer frame
MAX_OCCURRENCES = 20

_IMPORT = re.compile(r"[Cc]annot import name\s{1,3}['\"`]?(\w{1,120})['\"`]?(?: from ['\"`]?([\w.]{1,200}))?")
_MODULE = re.compile(r"No module named\s{1,3}['\"`]?([\w.]{1,200})")
_ATTRIBUTE = re.compile(r"module\s{1,3}['\"`]?([\w.]{1,200}?)['\"`]?\s{1,3}has no attribute\s{1,3}['\"`]?(\w{1,120})")
_MODEL_TYPE = re.compile(r"model type\s{1,3}[`'\"]?([\w.-]{1,80})[`'\"]?\s{1,3}but Transformers does not recognize")
_KEY_ERROR = re.compile(r"KeyError:\s{0,3}['\"]([\w.-]{1,80})['\"]")
_UNRECOGNIZED = re.compile(r"Unrecognized configuration class\s{1,3}<class '([\w.]{1,200})'>")
_CIRCULAR = re.compile(r"partially initialized module|circular import")


def _norm(name: str) -> str:
    return name.replace("_", "").lower()


def _known_release(symbol: str, kind: str) -> tuple[str | None, str]:
    """(first release that has ``symbol``, a sentence on it) from the names data."""
    data = names_data.load()
    table = {"class": data.classes, "module": data.modules, "type": data.model_types}[kind]
    first = table.get(symbol)
    if not first:
        return None, ""
    earlier = data.before(first)
    since = f"first in transformers {first} of the releases checked" + (f" ({earlier} lacks it)" if earlier else "")
    return first, f"{symbol} is {since}: upgrade to transformers>={first}."


def _unknown_name(symbol: str, kind: str) -> str:
    data = names_data.load()
    table = {"class": data.classes, "module": data.modules, "type": data.model_types}[kind]
    close = [known for known in table if _norm(known) == _norm(symbol)]
    if close:
        return f"{symbol} is in no transformers release, but {close[0]} is: a misspelling, no upgrade will help"
    return (f"{symbol} is in no transformers release up to {data.newest}: a custom architecture (the project's own "
            "code or trust_remote_code=True), a misspelling, or a release newer than vlmcompat's data")


def _removed(symbol: str, provider: str, importer: str | None, matched: str) -> Evidence | None:
    removed = known_issues.get("class-removed")
    data = names_data.load()
    advice = removed.explain_table("symbols").get(symbol)
    last = data.gone.get(symbol)
    if not advice and not (provider == "transformers" and last and last.startswith("4.")):
        return None
    if not advice:
        replacement = removed.explain_table("replacements").get(symbol)
        advice = (f"{symbol} is last in transformers {last} ({data.after(last)} lacks it): "
                  + (f"use {replacement}, " if replacement else "") + "or pin transformers<5.")
    who = f"{importer} imports" if importer else "the code imports"
    return Evidence("class-removed", CERTAIN, matched, f"{who} {symbol}, which transformers 5 removed", advice)


def _skew(symbol: str, module: str, importer: str, matched: str) -> Evidence:
    provider = module.split(".")[0]
    advice = known_issues.get("library-version-skew").explain_table("symbols").get(symbol, "")
    if not advice and provider == "transformers":
        _, advice = _known_release(symbol, "class")
    if not advice:
        advice = (f"if {importer} is newer than your {provider}, upgrade {provider}; if {provider} removed {symbol}, "
                  f"upgrade {importer} or pin {provider} below the release that removed it.")
    return Evidence("library-version-skew", CERTAIN, matched,
                    f"{importer} imports {symbol} from {module}, which the installed {provider} does not have", advice)


def _no_importer(symbol: str, module: str, kind: str, matched: str) -> Evidence | None:
    provider = module.split(".")[0]
    skew = known_issues.get("library-version-skew").explain_table("symbols")
    if symbol in skew:
        return Evidence("library-version-skew", CERTAIN, matched,
                        f"{symbol} is a {provider} API that libraries import and that moved between releases",
                        skew[symbol])
    if provider != "transformers":
        return Evidence("library-version-skew", AMBIGUOUS, matched,
                        f"{module} has no {symbol}: a library needs another {provider} release; the traceback does "
                        "not show which library")
    name_kind = "module" if kind == "module" and module.startswith("transformers.models.") else "class"
    is_class = name_kind == "module" or re.search(known_issues.get("model-class-missing").explain_value("class_name"),
                                                  symbol)
    if not is_class:
        return Evidence("library-version-skew", AMBIGUOUS, matched,
                        f"{module} has no {symbol}: code written for another transformers release imports it; the "
                        "traceback does not show which library")
    first, advice = _known_release(symbol, name_kind)
    if first:
        return Evidence("model-class-missing", CERTAIN, matched,
                        f"{symbol} is a transformers {name_kind} the installed release predates", advice)
    return Evidence("model-class-missing", RESEMBLES, matched, _unknown_name(symbol, name_kind))


def _missing(symbol: str, module: str, kind: str, ctx: Context, matched: str, after: str) -> Evidence | None:
    provider = module.split(".")[0] if module else ""
    if _CIRCULAR.search(after) or provider not in PROVIDERS:
        return None  # a circular import (a file named like a package), or a package that is simply not installed
    if kind == "attribute" and provider not in BARE_PROVIDERS:
        return None  # torch.distributed without .tensor and the like: an attribute, not an import between releases
    if kind == "module" and module.startswith("transformers.models."):
        symbol = module.split(".")[2]
    importers = ctx.others(provider)
    importer = "peft" if "peft" in importers and provider != "peft" else (importers[-1] if importers else None)
    if not importer and ctx.custom_nodes:
        importer = f"the ComfyUI node {ctx.custom_nodes[-1]}"
    removed = _removed(symbol, provider, importer, matched)
    if removed:
        return removed
    peft = known_issues.get("peft-import")
    advice = peft.explain_table("symbols").get(symbol, "")
    if importer == "peft" and provider in BARE_PROVIDERS:
        return Evidence("peft-import", CERTAIN, matched, f"peft imports {symbol} from {module}, which the installed "
                        f"{provider} does not have (peft in the traceback)", advice)
    library_importer = importer if importer and importer in ctx.libraries else None
    if not library_importer and provider in BARE_PROVIDERS and symbol in peft.explain_list("imports"):
        where = f" ({importer} imports peft)" if importer else ""
        return Evidence("peft-import", CERTAIN if ctx.peft else AMBIGUOUS, matched,
                        f"peft imports {symbol} from {module}, which the installed {provider} lacks{where}"
                        + ("" if ctx.peft else "; no traceback shows peft importing it here"), advice)
    if importer:
        return _skew(symbol, module, importer, matched)
    if provider not in BARE_PROVIDERS:
        return None
    return _no_importer(symbol, module, kind, matched)


def _model_type(model_type: str, matched: str) -> Evidence:
    first, advice = _known_release(model_type, "type")
    if first:
        return Evidence("model-class-missing", CERTAIN, matched,
                        f"model type '{model_type}' is a transformers architecture the installed release predates",
                        advice)
    return Evidence("model-class-missing", RESEMBLES, matched, _unknown_name(model_type, "type"))


def find(view: str, ctx: Context) -> list[Evidence]:
    found: list[Evidence] = []
    for kind, pattern in (("import", _IMPORT), ("module", _MODULE), ("attribute", _ATTRIBUTE)):
        for count, match in enumerate(pattern.finditer(view)):
            if count == MAX_OCCURRENCES:
                break
            if kind == "import":
                symbol, module = match.group(1), match.group(2) or ""
            elif kind == "module":
                module = match.group(1)
                symbol = module.rsplit(".", 1)[-1]
            else:
                module, symbol = match.group(1), match.group(2)
            after = view[match.end():match.end() + 160]
            evidence = _missing(symbol, module, kind, ctx, match.group(0), after)
            if evidence:
                found.append(evidence)
    for match in _MODEL_TYPE.finditer(view):
        found.append(_model_type(match.group(1), match.group(0)))
    auto_config = "CONFIG_MAPPING" in view or "configuration_auto" in view
    for match in _KEY_ERROR.finditer(view):
        evidence = _model_type(match.group(1), match.group(0))
        if evidence.confidence >= LIKELY and not auto_config:  # a known model type, but no auto-config frame
            evidence = dataclasses.replace(evidence, confidence=LIKELY, decided_by=evidence.decided_by
                                           + "; a KeyError on it is the auto-config lookup, though no frame shows it")
        if auto_config or evidence.confidence >= LIKELY:
            found.append(evidence)
    for match in _UNRECOGNIZED.finditer(view):
        found.append(Evidence("model-class-missing", RESEMBLES, match.group(0),
                              f"the Auto class has no mapping for {match.group(1).rsplit('.', 1)[-1]}: usually the "
                              "wrong Auto class for this model, sometimes a transformers that predates the mapping"))
    return found

"""Probe ``tokenizer-format``: can this tokenizers read tokenizer.json files written by the newest one?

Environment-level (runs once per cell, family ``*``). The fixtures in
``vlmcompat/data/tokenizers`` were written by a recent tokenizers
(``scripts/make_tokenizer_fixtures.py``) in the shapes real VLMs ship (T5 Unigram, LLaMA-2 BPE
with byte fallback, OPT and Qwen2 byte-level BPE, the Q-Former's BERT WordPiece), with reference
ids for a test corpus.

- native: ``Tokenizer.from_file`` on every fixture, and ``PreTrainedTokenizerFast(tokenizer_file=...)``
  where transformers is importable; a load failure is diagnosed as ``tokenizer-format`` naming
  the fixture, the component the reader rejected and the format changes it needs.
- patched: every fixture is migrated explicitly for the installed release
  (:func:`vlmcompat.tokjson.migrate`) and loaded; the ids must equal the reference exactly.
  A fixture the release cannot express is refused by the migration (never loaded differently)
  and listed as ``refused`` in the metrics.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from vlmcompat.probes.base import Metrics, Probe, ProbeFailed, Scope
from vlmcompat.results import Mode

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "tokenizers"

# the serde wrapper an error names -> the tokenizer.json slot it reads
WRAPPERS = {
    "ModelWrapper": "model",
    "PyPreTokenizerTypeWrapper": "pre_tokenizer",
    "PreTokenizerWrapper": "pre_tokenizer",
    "NormalizerWrapper": "normalizer",
    "PyNormalizerTypeWrapper": "normalizer",
    "DecoderWrapper": "decoder",
    "PyDecoderWrapper": "decoder",
    "PostProcessorWrapper": "post_processor",
}


def load_reference() -> dict[str, Any]:
    return json.loads((FIXTURES / "reference_ids.json").read_text(encoding="utf-8"))


def fixture_names(reference: dict[str, Any] | None = None) -> list[str]:
    return list((reference or load_reference())["ids"])


def rejected_component(message: str) -> str:
    match = re.search(r"untagged enum (\w+)", message)
    if not match:
        return "?"
    return f"{WRAPPERS.get(match.group(1), match.group(1))} ({match.group(1)})"


def needed_changes(path: Path) -> str:
    """The migration rules this file needs for the installed tokenizers, or why it cannot be migrated."""
    from vlmcompat.errors import MigrationError
    from vlmcompat.tokjson import migrate

    try:
        result = migrate(json.loads(path.read_text(encoding="utf-8")))
    except MigrationError as exc:
        return f"not migratable: {exc}"
    return "format changes needed: " + (", ".join(c.split(":")[0] for c in result.changes) or "none")


def encode_all(tokenizer: Any, corpus: list[str]) -> list[list[int]]:
    return [tokenizer.encode(line).ids for line in corpus]


def _transformers_fast() -> Any:
    try:
        from transformers import PreTrainedTokenizerFast
    except Exception:  # not installed, or broken in this cell: the tokenizers check still stands
        return None
    return PreTrainedTokenizerFast


def run_native(reference: dict[str, Any]) -> Metrics:
    from tokenizers import Tokenizer, __version__

    fast_cls = _transformers_fast()
    outcome: dict[str, str] = {}
    failures: list[str] = []
    for name in fixture_names(reference):
        path = FIXTURES / f"{name}.json"
        loaders = [("tokenizers.Tokenizer.from_file", lambda p=path: Tokenizer.from_file(str(p)))]
        if fast_cls is not None:
            loaders.append(("transformers PreTrainedTokenizerFast",
                            lambda p=path: fast_cls(tokenizer_file=str(p)).backend_tokenizer))
        for label, load in loaders:
            try:
                tok = load()
            except Exception as exc:  # the diagnosis below decides whether this is the known issue
                text = str(exc)
                if "untagged enum" not in text:
                    raise
                outcome[name] = f"{label} failed: {rejected_component(text)}"
                failures.append(f"{name}.json: {label} rejects the {rejected_component(text)}; "
                                f"{needed_changes(path)}")
                break
            if encode_all(tok, reference["corpus"]) != reference["ids"][name]:
                raise ProbeFailed(None, f"{name}.json loads with {label} in tokenizers {__version__} but gives "
                                  "ids different from the reference", {"fixtures": outcome})
        else:
            outcome[name] = "ok"
    metrics = {"tokenizers": __version__, "fixtures_checked": len(outcome),
               "transformers_checked": fast_cls is not None,
               "fixtures": outcome}
    if failures:
        raise ProbeFailed("tokenizer-format", f"tokenizers {__version__} cannot read {len(failures)} of "
                          f"{len(outcome)} fixtures: " + " | ".join(failures), metrics)
    return metrics


def run_patched(reference: dict[str, Any]) -> Metrics:
    from tokenizers import Tokenizer, __version__

    from vlmcompat.errors import MigrationError
    from vlmcompat.tokjson import dumps, migrate

    outcome: dict[str, str] = {}
    for name in fixture_names(reference):
        doc = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
        try:
            migrated = migrate(doc)
        except MigrationError as exc:
            outcome[name] = f"refused: {exc}"
            continue
        tok = Tokenizer.from_str(dumps(migrated.document))
        if encode_all(tok, reference["corpus"]) != reference["ids"][name]:
            raise ProbeFailed(None, f"{name}.json migrated for tokenizers {__version__} loads but gives ids "
                              "different from the reference", {"fixtures": outcome})
        outcome[name] = "ok" if migrated.changed else "ok (unchanged)"
    return {"tokenizers": __version__, "fixtures_checked": len(outcome),
            "fixtures_ok": sum(v.startswith("ok") for v in outcome.values()),
            "fixtures_refused": sum(v.startswith("refused") for v in outcome.values()), "fixtures": outcome}


def run(family: str, mode: Mode) -> Metrics:
    reference = load_reference()
    return run_native(reference) if mode == Mode.NATIVE else run_patched(reference)


PROBE = Probe(
    name="tokenizer-format",
    summary="tokenizer.json files written by the newest tokenizers load here (native), or after "
    "lossless migration with identical ids (patched)",
    run=run,
    scope=Scope.ENVIRONMENT,
)

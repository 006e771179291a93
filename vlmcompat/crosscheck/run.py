"""Read every other cell's artifacts in this cell, native and patched, into a
:class:`~vlmcompat.results.CellResult` whose results name their ``writer``.

Per writer × family × kind (``crosscheck-adapter``, ``crosscheck-checkpoint``,
``crosscheck-processor``) and mode: ``native`` loads with the stock libraries; ``patched`` with
``vlmcompat.patch`` applied (reverted after). A failed check is ``fail`` with the catalogue id the
writer/reader pair explains (:func:`diagnose`); an exception no id explains is ``error``.
"""

from __future__ import annotations

import re
import time
import traceback
from pathlib import Path

from vlmcompat import known_issues, versions
from vlmcompat.crosscheck import artifacts, families, layouts, reader
from vlmcompat.results import CellResult, ErrorInfo, Mode, ProbeResult, Status

ADAPTER_NEWER = "adapter-keys-newer-layout"  # an adapter saved in a newer layout than the reader loads
ADAPTER_OLDER = "adapter-keys-renamed"  # an adapter saved in an older layout the reader does not map
CHECKPOINT_NEWER = "checkpoint-keys-unknown"  # a checkpoint whose names this release does not know
CHECKPOINT_FLAT = "checkpoint-vision-tower-flattened"
CHECKPOINT_PREFIXED = "checkpoint-saved-prefixed"


def _layout(version: str | None) -> str | None:
    return None if version is None else layouts.layout_for(version)


PREFIXED_WRITERS = ">=5.4,<5.6"  # the releases whose save_pretrained doubles LLaVA's prefixes (measured)


def _checkpoint_issue(message: str, writer: dict) -> str:
    if "model.language_model.model." in message or versions.in_range("transformers", PREFIXED_WRITERS,
                                                                      writer.get("transformers")):
        return CHECKPOINT_PREFIXED
    if re.search(r"\bvision_tower\.(embeddings|encoder|pre_layrnorm|post_layernorm)\.", message):
        return CHECKPOINT_FLAT
    return CHECKPOINT_NEWER


def diagnose(kind: str, text: str, writer: dict, reader_versions: dict) -> str | None:
    """The catalogue id a failed check of ``kind`` shows: for an adapter whose keys the two releases lay out
    differently, which way they differ; else what ``vlmcompat explain`` finds in the message and traceback
    (``text``); else, for unused checkpoint weights, which renaming the names show."""
    from vlmcompat import explain

    if kind == artifacts.ADAPTER and text.startswith(reader.ADAPTER_DIFFERS):  # loaded, but not as written
        written, read = _layout(writer.get("transformers")), _layout(reader_versions.get("transformers"))
        if written is not None and read is not None and written != read:
            order = layouts.LAYOUTS
            return ADAPTER_NEWER if order.index(written) > order.index(read) else ADAPTER_OLDER
    found = [m.issue for m in explain.explain(text)] or known_issues.classify(text)
    if found:
        return found[0]
    if "keys" in text and (kind == artifacts.CHECKPOINT or "base checkpoint" in text):
        return _checkpoint_issue(text, writer)
    return None


def check_one(w: artifacts.Written, kind: str, mode: Mode, ref: dict, here: dict) -> ProbeResult:
    result = ProbeResult(artifacts.probe_name(kind), w.family, mode, Status.PASS, writer=w.cell)
    started = time.monotonic()
    try:
        if not families.class_available(w.family):
            result.status, result.reason = Status.SKIP, (
                f"{versions.describe('transformers')} has no {families.family(w.family).model_class}")
            return result
        check = reader.CHECKS[kind](w, ref)
        result.metrics = check.metrics
        if check.skipped:
            result.status, result.reason = Status.SKIP, check.skipped
    except reader.CheckFailed as exc:
        result.status, result.metrics, result.reason = Status.FAIL, exc.metrics, str(exc)
        result.issue = diagnose(kind, str(exc), w.versions, here)
        result.error = ErrorInfo("CheckFailed", str(exc))
    except Exception as exc:  # the load itself raised: a refusal (patched), or an unknown failure
        result.error = ErrorInfo.from_exception(exc)
        result.issue = diagnose(kind, "".join(traceback.format_exception(exc)), w.versions, here)
        result.status = Status.FAIL if result.issue else Status.ERROR
        result.reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
    finally:
        result.seconds = time.monotonic() - started
    return result


def read_all(cell: str, reports: Path | None = None, writers: tuple[str, ...] = (),
             families_: tuple[str, ...] = (), kinds: tuple[str, ...] = artifacts.KINDS) -> CellResult:
    """This cell (``cell``) reading every complete artifact set (optionally only ``writers``)."""
    from vlmcompat import patches

    here = versions.stack_versions()
    out = CellResult(cell=cell, versions=here)
    for w in artifacts.written(reports, writers, families_):
        ref = reader.reference(w)
        for mode in (Mode.NATIVE, Mode.PATCHED):
            if mode is Mode.PATCHED:
                patches.apply()
            try:
                out.results.extend(check_one(w, kind, mode, ref, here) for kind in kinds)
            finally:
                if mode is Mode.PATCHED:
                    patches.revert()
    return out

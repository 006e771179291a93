"""Saved on one release, loaded on another, with the product's own commands (`vlmcompat crosscheck write`
in the writer cell, `read` in the reader cell): a LoRA adapter saved across the 4.52 VLM refactor loads
untrained natively (peft's "Found missing adapter keys") and reproduces the writer's logits patched."""

from __future__ import annotations

import pytest

from vlmcompat.crosscheck.reader import LOGITS_ATOL
from vlmcompat.results import load_cell

pytestmark = [pytest.mark.cells, pytest.mark.slow]

OLD = ("transformers==4.51.3", "tokenizers==0.21.4", "peft==0.17.1")


def crosscheck(writer, reader, tmp_path, family: str) -> dict:
    """The reader's results for ``writer``'s artifacts of ``family``, by (probe, mode)."""
    reports = tmp_path / "reports"
    for who, name in ((writer, "writer"), (reader, "reader")):
        action = "write" if who is writer else "read"
        extra = ["--writer", "writer", "--json", str(tmp_path / "read.json")] if action == "read" else []
        proc = who.run("-m", "vlmcompat", "crosscheck", action, "--cell", name, "--family", family,
                       "--reports", str(reports), *extra, timeout=1200)
        assert proc.returncode == 0, proc.stderr[-3000:]
    return {(r.probe, r.mode.value): r for r in load_cell(tmp_path / "read.json").results}


def assert_native_fails_and_patched_passes(results, issue):
    native, patched = results[("crosscheck-adapter", "native")], results[("crosscheck-adapter", "patched")]
    assert (native.status.value, native.issue) == ("fail", issue), native
    assert native.metrics["untrained"] is True and "missing adapter keys" in native.reason, native
    assert patched.status.value == "pass", patched
    assert patched.metrics["max_abs_diff"] < LOGITS_ATOL and patched.writer == "writer"


def test_a_4_51_adapter_on_4_52_with_a_peft_that_maps_no_keys(cell, tmp_path):
    """peft < 0.16 does not apply the model's conversion mapping to adapter keys (boundary 21)."""
    results = crosscheck(cell(*OLD), cell("transformers==4.52.4", "tokenizers==0.21.4", "peft==0.15.2"),
                         tmp_path, "llava")
    assert_native_fails_and_patched_passes(results, "adapter-keys-renamed")


def test_a_4_51_qwen2_vl_adapter_on_the_newest_release(cell, tmp_path):
    """transformers >= 5.9 with peft 0.21 no longer maps pre-4.52 Qwen2-VL adapter keys (measured 5.9.0-5.24.0)."""
    results = crosscheck(cell(*OLD), cell("transformers", "tokenizers", "peft"), tmp_path, "qwen2-vl")
    assert_native_fails_and_patched_passes(results, "adapter-keys-renamed")


def test_a_4_52_adapter_on_4_51(cell, tmp_path):
    results = crosscheck(cell("transformers==4.52.4", "tokenizers==0.21.4", "peft==0.17.1"), cell(*OLD),
                         tmp_path, "llava")
    assert_native_fails_and_patched_passes(results, "adapter-keys-newer-layout")

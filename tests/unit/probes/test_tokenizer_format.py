"""The tokenizer-format probe in this environment (the newest tokenizers reads every fixture)."""

from __future__ import annotations

import pytest

from vlmcompat.probes import tokenizer_format
from vlmcompat.probes.base import Scope
from vlmcompat.results import ENVIRONMENT, Mode

pytest.importorskip("tokenizers")


def test_probe_is_family_independent():
    assert tokenizer_format.PROBE.scope is Scope.ENVIRONMENT
    assert tokenizer_format.PROBE.name == "tokenizer-format"


def test_native_passes_on_the_newest_tokenizers():
    metrics = tokenizer_format.run(ENVIRONMENT, Mode.NATIVE)
    assert metrics["fixtures_checked"] == 5
    assert set(metrics["fixtures"].values()) == {"ok"}


def test_patched_migrates_and_checks_ids():
    metrics = tokenizer_format.run(ENVIRONMENT, Mode.PATCHED)
    assert metrics["fixtures_ok"] == 5 and metrics["fixtures_refused"] == 0


@pytest.mark.parametrize("message, slot", [
    ("data did not match any variant of untagged enum ModelWrapper at line 1 column 2", "model (ModelWrapper)"),
    ("data did not match any variant of untagged enum PyPreTokenizerTypeWrapper at line 9", "pre_tokenizer"),
    ("something else", "?"),
])
def test_rejected_component_names_the_slot(message, slot):
    assert tokenizer_format.rejected_component(message).startswith(slot)

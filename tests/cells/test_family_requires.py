"""A family whose tiny model needs a class the release lacks skips with the reason, natively and
patched: InstructBLIP-LLaMA on transformers 4.27 (the backport provides InstructBLIP, but LLaMA
first ships in 4.28), while InstructBLIP-T5 trains there through the backport."""

import pytest

pytestmark = [pytest.mark.cells, pytest.mark.slow]


def test_instructblip_llama_on_4_27_skips_naming_llama(cell, tmp_path):
    probes = ["model-class", "training-step", "generate"]
    by_key = cell("transformers==4.27.4", "tokenizers==0.13.3", "peft==0.8.2").probe(
        tmp_path, probes, ["instructblip-llama", "instructblip-t5"], name="t4.27.4")
    for probe in ("model-class", "training-step", "generate"):
        skipped = by_key[(probe, "instructblip-llama", "patched")]
        assert skipped.status.value == "skip", skipped
        assert "no LlamaForCausalLM (first in 4.28)" in skipped.reason, skipped
        assert by_key[(probe, "instructblip-t5", "patched")].status.value == "pass"
    native = by_key[("model-class", "instructblip-llama", "native")]
    assert (native.status.value, native.issue) == ("fail", "model-class-missing")

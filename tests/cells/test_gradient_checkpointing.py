"""InstructBLIP on transformers 4.53.3: the in-place image scatter breaks checkpointed LoRA
training natively (inplace-image-scatter); the patched forward scatters out of place."""

import pytest

pytestmark = [pytest.mark.cells, pytest.mark.slow]


def test_instructblip_4_53_fails_natively_and_passes_patched(cell, tmp_path):
    results = cell("transformers==4.53.3", "tokenizers==0.21.1", "peft==0.16.0").probe(
        tmp_path, ["gradient-checkpointing"], ["instructblip-llama"])
    native = results[("gradient-checkpointing", "instructblip-llama", "native")]
    patched = results[("gradient-checkpointing", "instructblip-llama", "patched")]
    assert (native.status.value, native.issue) == ("fail", "inplace-image-scatter"), native
    assert patched.status.value == "pass", patched

"""A composed VLM (the TinyLLaVA family: a torch.nn.Module with a VLM class name) on transformers
5.3 with peft 0.21: peft cannot add LoRA natively (conversion-mapping-attribute); patched it can."""

import pytest

pytestmark = [pytest.mark.cells, pytest.mark.slow]


def test_composed_model_fails_natively_and_passes_patched_on_5_3(cell, tmp_path):
    results = cell("transformers==5.3.0", "peft==0.21.2").probe(tmp_path, ["peft-wrapper"], ["tinyllava"])
    native = results[("peft-wrapper", "tinyllava", "native")]
    patched = results[("peft-wrapper", "tinyllava", "patched")]
    assert (native.status.value, native.issue) == ("fail", "conversion-mapping-attribute"), native
    assert "_checkpoint_conversion_mapping" in native.error.message
    assert patched.status.value == "pass", patched

"""The peft-import probe where peft 0.16 cannot be imported (transformers 4.37 / 4.40): native
fails with the symbol, the module and the pins; patched trains with the LoRA fallback."""

import pytest

from vlmcompat.results import ENVIRONMENT

pytestmark = [pytest.mark.cells, pytest.mark.slow]


@pytest.mark.parametrize("transformers", ["4.37.0", "4.40.0"])
def test_native_fails_and_patched_trains_where_peft_cannot_be_imported(cell, tmp_path, transformers):
    results = cell(f"transformers=={transformers}", "peft==0.16.0", "safetensors").probe(tmp_path, ["peft-import"])
    native = results[("peft-import", ENVIRONMENT, "native")]
    patched = results[("peft-import", ENVIRONMENT, "patched")]
    assert (native.status.value, native.issue) == ("fail", "peft-import"), native
    assert native.metrics["symbol"] == "EncoderDecoderCache" and native.metrics["module"] == "transformers"
    assert native.metrics["via"] == "peft" and native.metrics["trainer_imports"] is False
    assert f"peft 0.16.0 cannot be imported with transformers {transformers}" in native.error.message
    assert patched.status.value == "pass" and patched.metrics["fallback"] == "vlmcompat-lora"
    assert patched.metrics["symbol"] == "EncoderDecoderCache"
    assert patched.metrics["fallback_losses"][-1] < patched.metrics["fallback_losses"][0]

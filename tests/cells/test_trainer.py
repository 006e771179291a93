"""transformers.Trainer on 4.55.4: num_items_in_batch reaches the T5 of BLIP-2 natively
(num-items-in-batch-unexpected); the patched forward consumes it; OPT passes either way."""

import pytest

pytestmark = [pytest.mark.cells, pytest.mark.slow]


def test_t5_native_fails_with_num_items_in_batch_on_4_55_and_patched_passes(cell, tmp_path):
    results = cell("transformers==4.55.4", "peft==0.17.1", "accelerate").probe(
        tmp_path, ["trainer"], ["blip2-t5", "blip2-opt"])
    native = results[("trainer", "blip2-t5", "native")]
    assert (native.status.value, native.issue) == ("fail", "num-items-in-batch-unexpected"), native
    assert results[("trainer", "blip2-opt", "native")].status.value == "pass"
    for family in ("blip2-t5", "blip2-opt"):
        patched = results[("trainer", family, "patched")]
        assert patched.status.value == "pass", patched

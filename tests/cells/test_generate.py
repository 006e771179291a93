"""generate() layouts on transformers 4.44: BOS + new tokens natively for decoder-only BLIP-2;
vlmcompat.generate returns new tokens only (patched)."""

import pytest

pytestmark = [pytest.mark.cells, pytest.mark.slow]


def test_bos_layout_before_4_47_and_one_behaviour_patched(cell, tmp_path):
    results = cell("transformers==4.44.0", "tokenizers==0.19.1", "peft==0.16.0").probe(
        tmp_path, ["generate"], ["blip2-opt", "blip2-t5"])
    native = results[("generate", "blip2-opt", "native")]
    assert native.status.value == "pass", native
    assert native.metrics["includes_prompt"] is False and native.metrics["starts_with_bos"] is True
    for (_, _, mode), result in results.items():
        if mode == "patched":
            assert result.status.value == "pass", result

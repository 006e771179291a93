"""TRL's SFTTrainer with trl 0.21.0 on transformers 4.55.4: LLaVA and BLIP-2-OPT train."""

import pytest

pytestmark = [pytest.mark.cells, pytest.mark.slow]


def test_sft_trainer_runs_with_trl_on_4_55(cell, tmp_path):
    results = cell("transformers==4.55.4", "peft==0.17.1", "trl==0.21.0", "accelerate", "datasets").probe(
        tmp_path, ["sft-trainer"], ["llava", "blip2-opt"])
    assert len(results) == 4
    for result in results.values():
        assert result.status.value == "pass", result

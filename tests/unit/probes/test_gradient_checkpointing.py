"""gradient-checkpointing probe: variants detected from the API, checkpointed training equal to
training without it (host), and in a 4.53 cell the native InstructBLIP failure
(inplace-image-scatter) next to a patched pass."""

from pathlib import Path

import pytest

from vlmcompat import patches, tiny
from vlmcompat.probes import gradient_checkpointing as probe
from vlmcompat.results import Mode

ROOT = Path(__file__).resolve().parents[3]


def test_variants_follow_the_api():
    labels = [label for label, _ in probe.variants(tiny.build("blip2-opt"))]
    assert labels == ["default", "use_reentrant=False"]  # transformers >= 4.35 on the host


@pytest.mark.parametrize("mode", [Mode.NATIVE, Mode.PATCHED])
def test_checkpointed_training_equals_plain_training(mode):
    if mode is Mode.PATCHED:
        patches.apply()
    metrics = probe.run("instructblip-llama", mode)
    assert metrics["variants"] == ["default", "use_reentrant=False"]
    for label in metrics["variants"]:
        assert metrics[label]["loss_max_abs_diff"] <= probe.ATOL
        assert metrics[label]["lora_max_abs_diff"] <= probe.ATOL

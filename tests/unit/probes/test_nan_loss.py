"""The nan-loss probe on the installed stack: natively an all-masked batch gives a NaN loss and
NaN LoRA weights after one step; patched, training_step skips the update bit-identically."""

import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")

from vlmcompat.probes import nan_loss
from vlmcompat.probes.base import ProbeFailed
from vlmcompat.results import Mode


@pytest.mark.parametrize("family", ["blip2-opt", "blip2-t5"])
def test_native_step_poisons_the_weights(family):
    with pytest.raises(ProbeFailed) as info:
        nan_loss.run(family, Mode.NATIVE)
    assert info.value.issue == "nan-loss-all-masked"
    assert info.value.metrics["loss"] == "nan"
    # NaN gradients make the weights NaN; where the loss's gradient is zero instead, AdamW's
    # weight decay still moves them: either way the step changed the adapter
    assert info.value.metrics["nonfinite_params"] + info.value.metrics["changed_params"] > 0


@pytest.mark.parametrize("family", ["blip2-opt", "blip2-t5"])
def test_patched_step_is_skipped_and_leaves_weights_identical(family):
    metrics = nan_loss.run(family, Mode.PATCHED)
    assert metrics["skipped"] is True
    assert metrics["loss"] == 0.0
    assert metrics["changed_params"] == 0

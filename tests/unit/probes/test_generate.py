"""vlmcompat.generate: the new tokens only, on the installed release, proven against the stock
output; the layout rules on hand-made sequences; the generate probe on the host and in cells."""

from pathlib import Path

import pytest
import torch

from vlmcompat import generate as vgenerate
from vlmcompat import tiny
from vlmcompat.errors import ForwardInputError
from vlmcompat.probes import generate as generate_probe
from vlmcompat.probes.common import generation_inputs, processor_expands
from vlmcompat.results import Mode

ROOT = Path(__file__).resolve().parents[3]
PROMPT = torch.tensor([[1, 5, 6], [1, 7, 8]])


@pytest.mark.parametrize("layout, sequences, prefix", [
    (vgenerate.DECODER_START, torch.tensor([[0, 9, 9], [0, 4, 1]]), 1),
    (vgenerate.BOS, torch.tensor([[1, 9], [1, 4]]), 1),
    (vgenerate.PROMPT, torch.tensor([[1, 5, 6, 9, 9], [1, 7, 8, 4, 2]]), 3),
])
def test_prefix_length_per_layout(layout, sequences, prefix):
    assert vgenerate.prefix_length(layout, PROMPT, sequences) == prefix


def test_prompt_layout_that_does_not_start_with_the_prompt_is_refused():
    with pytest.raises(ForwardInputError, match="does not start with the prompt"):
        vgenerate.prefix_length(vgenerate.PROMPT, PROMPT, torch.tensor([[1, 9, 9, 9], [1, 4, 4, 4]]))


@pytest.mark.parametrize("family, layout", [("blip2-t5", vgenerate.DECODER_START),
                                            ("instructblip-t5", vgenerate.DECODER_START),
                                            ("llava", vgenerate.PROMPT)])
def test_stock_layout_on_this_release(family, layout):
    assert vgenerate.stock_layout(tiny.build(family)) == layout


@pytest.mark.parametrize("family", ["blip2-opt", "blip2-t5", "llava"])
def test_new_tokens_only_and_include_prompt(family):
    expanded = processor_expands()
    model = tiny.build(family, image_token=expanded).eval()
    inputs = generation_inputs(tiny.make_batch(family, expanded))
    with torch.no_grad():
        stock = model.generate(**inputs, max_new_tokens=3, do_sample=False)
    new = vgenerate.generate(model, **inputs, max_new_tokens=3, do_sample=False)
    assert new.shape[0] == 2 and 1 <= new.shape[1] <= 3
    assert torch.equal(new, stock[:, -new.shape[1]:])
    with_prompt = vgenerate.generate(model, include_prompt=True, **inputs, max_new_tokens=3, do_sample=False)
    assert torch.equal(with_prompt, torch.cat([inputs["input_ids"], new], dim=1))
    out = vgenerate.generate(model, **inputs, max_new_tokens=3, do_sample=False, return_dict_in_generate=True)
    assert torch.equal(out.sequences, new)


def test_decoder_only_without_input_ids_is_refused():
    model = tiny.build("llava").eval()
    with pytest.raises(ForwardInputError, match="needs the prompt's input_ids"):
        vgenerate.generate(model, pixel_values=torch.zeros(1, 3, 30, 30), max_new_tokens=1)


@pytest.mark.parametrize("mode", [Mode.NATIVE, Mode.PATCHED])
def test_probe_on_this_release(mode):
    from vlmcompat import patches

    if mode is Mode.PATCHED:
        patches.apply()
    metrics = generate_probe.run("blip2-opt", mode)
    assert metrics["new_tokens"] >= 1
    assert metrics["includes_prompt"] is True  # transformers >= 4.47 (the host)
    if mode is Mode.PATCHED:
        assert metrics["patched_shape"][0] == 2 and metrics["patched_includes_prompt"] is False


def test_vlmcompat_generate_layout_is_the_prompt_on_every_release(monkeypatch):
    """vlmcompat's own legacy-path generate (patched classes, the 4.27-4.30 backport) returns the
    prompt first whatever the release; the stock BLIP layout before 4.47 (BOS) must not be assumed."""
    from vlmcompat import patches

    model = tiny.build("instructblip-llama", image_token=False)
    patches.apply(["instructblip_forward"])
    if not type(model).generate.__module__.startswith("vlmcompat."):
        pytest.skip("the installed transformers needs no generate patch (< 4.55)")
    monkeypatch.setattr(vgenerate.versions, "transformers_at_least", lambda version: False)
    assert vgenerate.stock_layout(model) == vgenerate.PROMPT

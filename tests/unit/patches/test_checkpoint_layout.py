"""checkpoint_layout: a local checkpoint whose weights carry names this release does not map loads them
under its own names patched (the same logits as the model that was saved); weights of a renamed part
with no counterpart raise naming them. Natively both load with those parts initialised from scratch."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from safetensors.torch import load_file, save_file

from vlmcompat import patches
from vlmcompat.crosscheck import families, writer
from vlmcompat.errors import MigrationError


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("llava")
    model = families.build("llava")
    model.save_pretrained(root / "stock")
    return root, families.batch("llava"), writer.logits(model, families.batch("llava"))


def renamed(root, name: str, rename) -> str:
    import shutil

    out = root / name
    shutil.copytree(root / "stock", out)
    tensors = load_file(str(out / "model.safetensors"))
    save_file({rename(k): v for k, v in tensors.items()}, str(out / "model.safetensors"), metadata={"format": "pt"})
    return str(out)


def load(path: str):
    import transformers

    return transformers.LlavaForConditionalGeneration.from_pretrained(path, output_loading_info=True)


def test_weights_under_an_extra_container_level_load_under_this_releases_names_patched(saved):
    root, batch, reference = saved
    path = renamed(root, "extra-level",
                   lambda k: k.replace("multi_modal_projector.", "vision_model.multi_modal_projector."))
    _, info = load(path)
    if not (info["missing_keys"] and info["unexpected_keys"]):
        pytest.skip("this transformers maps the extra level itself")
    patches.apply(["checkpoint_layout"])
    model, info = load(path)
    assert not info["missing_keys"] and not info["unexpected_keys"]
    assert float((writer.logits(model, batch) - reference).abs().max()) == 0.0


def test_a_renamed_part_without_counterparts_raises_naming_the_weights_patched(saved):
    root, _, _ = saved
    path = renamed(root, "unknown", lambda k: k.replace("multi_modal_projector.linear_1", "multi_modal_projector.fc1"))
    _, info = load(path)
    assert info["missing_keys"] and info["unexpected_keys"]  # natively: a warning, the projector random
    patches.apply(["checkpoint_layout"])
    with pytest.raises(MigrationError, match=r"would load with 2 weights of LlavaForConditionalGeneration left "
                                             r"untrained \(.*multi_modal_projector\.linear_1\.(weight|bias)"):
        load(path)


def test_the_patch_reverts_exactly():
    import transformers

    stock = transformers.PreTrainedModel.__dict__["from_pretrained"]
    patches.apply(["checkpoint_layout"])
    assert transformers.PreTrainedModel.__dict__["from_pretrained"] is not stock
    patches.revert(["checkpoint_layout"])
    assert transformers.PreTrainedModel.__dict__["from_pretrained"] is stock

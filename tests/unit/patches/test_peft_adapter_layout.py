"""peft_adapter_layout: an adapter saved in another release's key layout loads rewritten under the patch
and reproduces the trained logits; one whose keys fit no layout raises naming them — natively both load
with untrained LoRA weights behind peft's "Found missing adapter keys" warning.

Runs with the installed transformers/peft on the tiny Qwen2-VL (its pre-4.52 adapters are not mapped by
transformers 5.10+ with peft 0.21, measured by `vlmcompat crosscheck`)."""

from __future__ import annotations

import warnings

import pytest

pytest.importorskip("peft")
torch = pytest.importorskip("torch")

from vlmcompat import patches
from vlmcompat.crosscheck import families, layouts, migrate, writer
from vlmcompat.errors import MigrationError

FAMILY = "qwen2-vl"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """(folder with the checkpoint and an adapter in this release's layout, batch, base and adapter logits)."""
    if not families.class_available(FAMILY):
        pytest.skip("this transformers has no Qwen2VLForConditionalGeneration (first in 4.45)")
    root = tmp_path_factory.mktemp("qwen")
    batch = families.batch(FAMILY)
    model = families.build(FAMILY)
    model.save_pretrained(root / "checkpoint")
    base_logits = writer.logits(model, batch)
    lora = writer.train_adapter(model, FAMILY, batch)
    lora.save_pretrained(root / "adapter")
    return root, batch, base_logits, writer.logits(lora, batch)


def load(root, adapter_dir, batch):
    import transformers
    from peft import PeftModel

    base = transformers.Qwen2VLForConditionalGeneration.from_pretrained(root / "checkpoint")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = PeftModel.from_pretrained(base, str(adapter_dir))
    said = [str(w.message) for w in caught if "missing adapter keys" in str(w.message)]
    return writer.logits(model, {k: v for k, v in batch.items() if k != "labels"}), said


def rewritten(root, layout: str, rename=None):
    from safetensors.torch import load_file, save_file

    out = root / f"adapter-{layout}{'-renamed' if rename else ''}"
    if out.exists():
        return out
    out.mkdir()
    tensors = load_file(str(root / "adapter" / migrate.WEIGHTS))
    mapping = layouts.rewrite("qwen-vl", list(tensors), layout)
    save_file({(rename or (lambda k: k))(mapping[k]): v for k, v in tensors.items()}, str(out / migrate.WEIGHTS))
    (out / migrate.CONFIG).write_text((root / "adapter" / migrate.CONFIG).read_text())
    return out


def differs(a, b) -> float:
    return float((a - b).abs().max())


def test_an_adapter_in_this_releases_layout_loads_the_same_patched(trained):
    root, batch, _, adapter_logits = trained
    patches.apply(["peft_adapter_layout"])
    logits, said = load(root, root / "adapter", batch)
    assert differs(logits, adapter_logits) == 0.0 and not said


@pytest.mark.parametrize("layout", layouts.LAYOUTS)
def test_an_adapter_of_any_layout_loads_trained_patched(trained, layout):
    root, batch, base_logits, adapter_logits = trained
    folder = rewritten(root, layout)
    patches.apply(["peft_adapter_layout"])
    logits, said = load(root, folder, batch)
    assert not said
    assert differs(logits, adapter_logits) < 1e-5 < differs(adapter_logits, base_logits)


def test_a_pre_4_52_adapter_loads_untrained_natively_where_nothing_maps_it(trained):
    from vlmcompat import versions

    root, batch, base_logits, _ = trained
    logits, said = load(root, rewritten(root, "legacy"), batch)
    if not versions.transformers_at_least("5.10"):
        pytest.skip(f"{versions.describe('transformers')} maps pre-4.52 Qwen2-VL adapters itself")
    assert said and differs(logits, base_logits) < 1e-5


def test_keys_no_layout_places_are_refused_naming_them_patched(trained):
    root, batch, base_logits, _ = trained
    folder = rewritten(root, "refactor", rename=lambda k: k.replace("model.language_model.", "model.text_model."))
    logits, said = load(root, folder, batch)  # natively: a warning, and the LoRA weights stay untrained
    assert said and differs(logits, base_logits) < 1e-5
    patches.apply(["peft_adapter_layout"])
    with pytest.raises(MigrationError, match=r"would load untrained on Qwen2VLForConditionalGeneration: 8 of 8 LoRA "
                                             r"weights have no key in the file \(base_model\.model\.model\."):
        load(root, folder, batch)


def test_the_patch_reverts_exactly():
    import peft.peft_model

    stock = peft.peft_model.set_peft_model_state_dict
    patches.apply(["peft_adapter_layout"])
    assert peft.peft_model.set_peft_model_state_dict is not stock
    patches.revert(["peft_adapter_layout"])
    assert peft.peft_model.set_peft_model_state_dict is stock


def test_a_peft_without_named_adapters_is_left_alone(monkeypatch):
    """peft before 0.3 loads one unnamed adapter (``set_peft_model_state_dict(model, state)``); the
    patch must not wrap it (measured: peft 0.2.0 + transformers 4.27.4 failed inside the wrapper)."""
    import peft.peft_model

    from vlmcompat.patches import peft_adapter_layout

    monkeypatch.setattr(peft.peft_model, "set_peft_model_state_dict", lambda model, peft_model_state_dict: None)
    plan = peft_adapter_layout._plan()
    assert not plan.replacements and "no named adapters" in plan.reason

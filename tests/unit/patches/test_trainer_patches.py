"""Three states (unpatched, patched, reverted) of the patches that keep Trainer working:
accelerate_dataloader_kwargs, peft_unavailable and trainer_adapter_save."""

import json

import pytest

from vlmcompat import patches


def test_accelerate_dataloader_kwargs_three_states():
    accelerate = pytest.importorskip("accelerate")
    import inspect

    if "dispatch_batches" in inspect.signature(accelerate.Accelerator.__init__).parameters:
        pytest.skip("this accelerate still takes dispatch_batches")
    original = accelerate.Accelerator.__dict__["__init__"]
    with pytest.raises(TypeError, match="unexpected keyword argument 'dispatch_batches'"):
        accelerate.Accelerator(dispatch_batches=None, split_batches=False)
    patches.apply(["accelerate_dataloader_kwargs"])
    acc = accelerate.Accelerator(dispatch_batches=None, split_batches=True, cpu=True)
    assert acc.dataloader_config.split_batches is True
    patches.revert(["accelerate_dataloader_kwargs"])
    assert accelerate.Accelerator.__dict__["__init__"] is original


def test_peft_unavailable_three_states(monkeypatch):
    pytest.importorskip("transformers")
    import transformers.utils as utils
    import transformers.utils.import_utils as import_utils

    from vlmcompat import train

    assert patches.apply(["peft_unavailable"])["peft_unavailable"] == "not applied: peft imports here"
    patches.revert(["peft_unavailable"])
    original = import_utils.is_peft_available
    monkeypatch.setattr(train, "peft_error", lambda: ImportError("cannot import name 'EncoderDecoderCache'"))
    patches.apply(["peft_unavailable"])
    assert import_utils.is_peft_available() is False and utils.is_peft_available() is False
    patches.revert(["peft_unavailable"])
    assert import_utils.is_peft_available is original


def test_trainer_adapter_save_writes_the_adapter(tmp_path):
    """The patched _save on a real PeftModel writes what PeftModel.from_pretrained reads."""
    torch = pytest.importorskip("torch")
    pytest.importorskip("peft")
    from peft import PeftModel

    from vlmcompat import tiny
    from vlmcompat.patches.trainer_adapter_save import make_save
    from vlmcompat.train import LoraSpec, add_lora

    fam = tiny.get("instructblip-llama")
    model, _ = add_lora(tiny.build("instructblip-llama", image_token=True), LoraSpec(fam.lora_targets, task_type=None))
    calls = []

    class FakeTrainer:  # what _save reads from a Trainer
        args = {"output_dir": str(tmp_path / "default")}  # saved with torch.save, like TrainingArguments
        tokenizer = None

        def __init__(self, model):
            self.model = model

    def stock_save(self, output_dir=None, state_dict=None):
        calls.append(output_dir)

    make_save(stock_save)(FakeTrainer(model), str(tmp_path / "out"))
    assert calls == [], "a PEFT model is saved by peft, not by the stock _save"
    config = json.loads((tmp_path / "out" / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA"
    loaded = PeftModel.from_pretrained(tiny.build("instructblip-llama", image_token=True), str(tmp_path / "out"))
    batch = tiny.make_batch("instructblip-llama", expanded=True)
    model.eval()
    loaded.eval()
    with torch.no_grad():
        assert float((model(**batch).logits - loaded(**batch).logits).abs().max()) <= 1e-5
    make_save(stock_save)(FakeTrainer(torch.nn.Linear(2, 2)), str(tmp_path / "plain"))
    assert calls == [str(tmp_path / "plain")], "anything else goes to the stock _save"


def test_trainer_adapter_save_not_applied_on_new_transformers():
    pytest.importorskip("transformers")
    from vlmcompat import versions

    if not versions.transformers_at_least("4.30"):
        pytest.skip("this transformers predates 4.30")
    assert "from transformers 4.30" in patches.apply(["trainer_adapter_save"])["trainer_adapter_save"]

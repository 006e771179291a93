"""Trainer.save_model writes a PEFT adapter on transformers releases whose Trainer predates PEFT.

Before transformers 4.30 ``Trainer._save`` knows only ``PreTrainedModel``: for a ``PeftModel``
it writes the whole state dict as ``pytorch_model.bin`` and no ``adapter_config.json``, so
``PeftModel.from_pretrained(base, output_dir)`` fails (``trainer-adapter-save``). The patched
``_save`` calls ``PeftModel.save_pretrained`` for PEFT models (as later releases do) and keeps the
stock behaviour for everything else. Applied only where the Trainer module has no notion of PEFT.
"""

from __future__ import annotations

import os

from vlmcompat.patches import Patch, Plan, Replacement


def make_save(original):
    def _save(self, output_dir=None, state_dict=None):
        try:
            from peft import PeftModel
        except Exception:  # peft unusable: nothing PEFT-shaped can be here
            return original(self, output_dir, state_dict)
        if not isinstance(self.model, PeftModel):
            return original(self, output_dir, state_dict)
        import torch

        output_dir = output_dir if output_dir is not None else self.args.output_dir
        os.makedirs(output_dir, exist_ok=True)
        self.model.save_pretrained(output_dir)
        tokenizer = getattr(self, "tokenizer", None)
        if tokenizer is not None:
            tokenizer.save_pretrained(output_dir)
        torch.save(self.args, os.path.join(output_dir, "training_args.bin"))

    _save.__wrapped__ = original
    return _save


def _plan() -> Plan:
    from vlmcompat import versions

    if versions.installed("transformers") is None:
        return Plan(reason="transformers is not installed")
    if versions.transformers_at_least("4.30"):  # spares importing Trainer where it is known to be fine
        return Plan(reason="Trainer saves PEFT adapters itself from transformers 4.30")
    try:
        import transformers.trainer as trainer_module
    except Exception as exc:  # Trainer cannot even be imported here (e.g. a broken peft)
        return Plan(reason=f"transformers.trainer cannot be imported ({type(exc).__name__})")
    if hasattr(trainer_module, "PeftModel"):
        return Plan(reason="this Trainer saves PEFT adapters itself")
    return Plan([Replacement(trainer_module.Trainer, "_save", make_save)])


PATCH = Patch(
    name="trainer_adapter_save",
    summary="Trainer.save_model writes the PEFT adapter (transformers < 4.30)",
    plan=_plan,
)

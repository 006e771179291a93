"""A grad-requiring input for a SigLIP vision tower that holds trainable (LoRA) weights.

LoRA's usual targets ``q_proj``/``v_proj`` also match the SigLIP vision towers of LLaVA-OneVision,
Gemma 3 and PaliGemma. Under reentrant gradient checkpointing (the default ``use_reentrant`` in
transformers 4.38-4.57) a checkpointed block whose inputs need no grad returns outputs without a
graph, and ``enable_input_require_grads()`` covers only the text embeddings: the tower's LoRA
weights get no gradient and silently stay untrained (torch only warns ``None of the inputs have
requires_grad=True``). The patched ``SiglipVisionModel.forward`` hands the tower a grad-requiring
view of ``pixel_values`` when grad is on and the tower has trainable parameters — what the patched
LLaVA forward does for CLIP — and is the stock forward otherwise.
"""

from __future__ import annotations

import functools

from vlmcompat.patches import Patch, Plan, Replacement, transformers_class

CLASSES = ("SiglipVisionModel",)


def _forward(original):
    @functools.wraps(original)
    def forward(self, *args, **kwargs):
        import torch

        pixel_values = kwargs.get("pixel_values", args[0] if args else None)
        if (torch.is_grad_enabled() and isinstance(pixel_values, torch.Tensor) and pixel_values.is_floating_point()
                and not pixel_values.requires_grad and any(p.requires_grad for p in self.parameters())):
            pixel_values = pixel_values.detach().requires_grad_(True)
            if "pixel_values" in kwargs:
                kwargs["pixel_values"] = pixel_values
            else:
                args = (pixel_values, *args[1:])
        return original(self, *args, **kwargs)

    return forward


def _plan() -> Plan:
    replacements, reasons = [], []
    for name in CLASSES:
        cls, reason = transformers_class(name, since="4.37")
        if cls is None:
            reasons.append(reason)
        else:
            replacements.append(Replacement(cls, "forward", _forward))
    return Plan(replacements, reason="; ".join(reasons))


PATCH = Patch(
    name="vision_input_grad",
    summary="SigLIP vision towers with LoRA get a grad-requiring input (reentrant gradient checkpointing)",
    plan=_plan,
)

"""A grad-requiring input for a vision tower that holds trainable (LoRA) weights.

LoRA's usual targets ``q_proj``/``v_proj`` also match the SigLIP vision towers of LLaVA-OneVision,
Gemma 3 and PaliGemma; and peft<0.5 matched target names by bare suffix, so BLIP-2's T5 target ``v``
also hit the fused ``qkv`` of the BLIP-2 / InstructBLIP vision models. Under reentrant gradient
checkpointing (the default ``use_reentrant`` before transformers 5.0) a checkpointed block whose
inputs need no grad returns outputs without a graph, and ``enable_input_require_grads()`` covers
only the text embeddings: the tower's LoRA weights get no gradient and silently stay untrained
(torch only warns ``None of the inputs have requires_grad=True``). The patched vision-model
``forward`` hands the tower a grad-requiring view of ``pixel_values`` when grad is on and the tower
has trainable parameters — what the patched LLaVA forward does for CLIP — and is the stock forward
otherwise.
"""

from __future__ import annotations

import functools

from vlmcompat.patches import Patch, Plan, Replacement, transformers_class

CLASSES = {"SiglipVisionModel": "4.37", "Blip2VisionModel": "4.26", "InstructBlipVisionModel": "4.31"}  # -> first in


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
    for name, since in CLASSES.items():
        cls, reason = transformers_class(name, since=since)
        if cls is None:
            reasons.append(reason)
        else:
            replacements.append(Replacement(cls, "forward", _forward))
    return Plan(replacements, reason="; ".join(reasons))


PATCH = Patch(
    name="vision_input_grad",
    summary="SigLIP and BLIP-2 vision towers with LoRA get a grad-requiring input (reentrant gradient checkpointing)",
    plan=_plan,
)

"""Patch ``LlavaForConditionalGeneration.forward`` with :func:`vlmcompat.forwards.llava.forward`:
one ``<image>`` token or processor-expanded inputs on every release that has LLaVA (4.36 → 5.x),
the language model found by feature, PEFT's ``inputs_embeds=None`` and Trainer's
``num_items_in_batch`` accepted, and the vision tower given a grad-requiring input under
reentrant checkpointing when it holds LoRA weights.
"""

from __future__ import annotations

from vlmcompat.forwards.llava import forward
from vlmcompat.patches import Patch, Plan, forward_plan

CLASS_NAME = "LlavaForConditionalGeneration"


def _plan() -> Plan:
    return forward_plan(CLASS_NAME, forward, since="4.36")


PATCH = Patch(
    name="llava_forward",
    summary="version-aware LLaVA forward: one <image> token or processor-expanded, LM found by feature",
    plan=_plan,
)

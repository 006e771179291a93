"""Patch ``Blip2ForConditionalGeneration.forward`` (and ``generate`` where the stock one needs
an image token id) with the version-aware BLIP-2 forward of :mod:`vlmcompat.forwards.qformer`.
"""

from __future__ import annotations

from vlmcompat.forwards.qformer import blip2_forward, make_blip2_generate
from vlmcompat.patches import Patch, Plan, forward_plan

CLASS_NAME = "Blip2ForConditionalGeneration"


def _plan() -> Plan:
    return forward_plan(CLASS_NAME, blip2_forward, make_blip2_generate)


PATCH = Patch(
    name="blip2_forward",
    summary="version-aware BLIP-2 forward/generate: PEFT inputs_embeds, both image-token formats",
    plan=_plan,
)

"""Patch ``InstructBlipForConditionalGeneration.forward`` (and ``generate`` where the stock one
needs an image token id) with the version-aware InstructBLIP forward of
:mod:`vlmcompat.forwards.qformer` — the same one vlmcompat's backport uses on 4.27-4.30.
"""

from __future__ import annotations

from vlmcompat.forwards.qformer import instructblip_forward, make_instructblip_generate
from vlmcompat.patches import Patch, Plan, forward_plan

CLASS_NAME = "InstructBlipForConditionalGeneration"


def _plan() -> Plan:
    return forward_plan(CLASS_NAME, instructblip_forward, make_instructblip_generate)


PATCH = Patch(
    name="instructblip_forward",
    summary="version-aware InstructBLIP forward/generate: PEFT inputs_embeds, both image-token formats",
    plan=_plan,
)

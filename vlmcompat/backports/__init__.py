"""Model classes for transformers releases that lack them, built on what those releases have.

Each backport keeps the stock class's parameter names and shapes, so checkpoints move both
ways. ``vlmcompat.patches.backport_classes`` installs them as ``transformers`` attributes
(``import vlmcompat.patch``); importing a backport module directly works without the patch.
Importing this package imports nothing heavy.
"""

from __future__ import annotations

# name exported by transformers -> (backport module, first transformers release that has it natively)
INSTRUCTBLIP_MODULE = "vlmcompat.backports.instructblip"
BACKPORTS: dict[str, tuple[str, str]] = {
    name: (INSTRUCTBLIP_MODULE, "4.31")
    for name in (
        "InstructBlipConfig",
        "InstructBlipVisionConfig",
        "InstructBlipQFormerConfig",
        "InstructBlipVisionModel",
        "InstructBlipQFormerModel",
        "InstructBlipPreTrainedModel",
        "InstructBlipForConditionalGeneration",
    )
}
# The backport needs BLIP-2's vision model and Q-Former layers (first in transformers 4.27).
INSTRUCTBLIP_NEEDS = "4.27"

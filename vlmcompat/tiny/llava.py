"""A tiny, seeded LLaVA (CLIP vision tower, two-layer MLP projector, LLaMA language model)
and the batches its processors produce, built from a shrunken llava-1.5-7b config (real sizes
in the comments).

Two input formats:

- ``legacy``: one ``<image>`` token per example; the model expands it into the patch features
  (transformers 4.36-4.47 models; processors before 4.45);
- ``expanded``: one ``<image>`` token per patch feature, written by the processor
  (>= 4.45 processors; the only format models accept from 4.48).

Both describe the same sequence: the same weights give the same loss.
"""

from __future__ import annotations

from typing import Any

from vlmcompat.tiny import batches, instructblip

IMAGE_SIZE = 28  # 336
PATCH_SIZE = 14  # 14
NUM_PATCHES = (IMAGE_SIZE // PATCH_SIZE) ** 2  # 576 features per image (the CLS embedding is dropped)
TEXT_VOCAB = instructblip.TEXT_VOCAB  # 32064
IMAGE_TOKEN_ID = TEXT_VOCAB - 1  # 32000 ("<image>")
LLAMA = instructblip.LLAMA  # vicuna-7b shape, shrunk
CLIP = dict(
    model_type="clip_vision_model",
    hidden_size=32,  # 1024
    intermediate_size=64,  # 4096
    projection_dim=32,  # 768
    num_hidden_layers=2,  # 24
    num_attention_heads=4,  # 16
    image_size=IMAGE_SIZE,
    patch_size=PATCH_SIZE,
)
# Set after construction: older configs store unknown kwargs, newer ones may reject them.
LATE_ATTRS = dict(pad_token_id=LLAMA["pad_token_id"], image_seq_length=NUM_PATCHES)


def build(lm: str = "llama", seed: int = 0, image_token: bool = True):
    """A random-initialised tiny LLaVA in eval mode. LLaVA configs always name the image token."""
    import torch
    import transformers

    config = transformers.LlavaConfig(
        vision_config=dict(CLIP), text_config=dict(LLAMA), image_token_index=IMAGE_TOKEN_ID,
        projector_hidden_act="gelu", vision_feature_select_strategy="default", vision_feature_layer=-2,
    )
    for attr, value in LATE_ATTRS.items():
        try:
            setattr(config, attr, value)
        except (AttributeError, TypeError, ValueError):
            pass
    torch.manual_seed(seed)
    return transformers.LlavaForConditionalGeneration(config).eval()


def make_batch(lm: str = "llama", expanded: bool = True, seed: int = 0, batch_size: int = 2) -> dict[str, Any]:
    """``<bos> <image>×k prompt answer <pad>...`` with labels on the answer only; padded right."""
    return batches.image_then_text(seed=2000 + seed, image_size=IMAGE_SIZE, image_token=IMAGE_TOKEN_ID,
                                   k=NUM_PATCHES if expanded else 1, bos=LLAMA["bos_token_id"],
                                   pad=LLAMA["pad_token_id"],
                                   vocab_end=IMAGE_TOKEN_ID, batch_size=batch_size)

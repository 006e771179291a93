"""A tiny, seeded Qwen2-VL (``Qwen2VLForConditionalGeneration``, transformers >= 4.45) and the
batches its processor produces, built from a shrunken Qwen2-VL-2B-Instruct config (real sizes in
the comments).

The processor resizes each image to a multiple of ``patch_size * merge_size``, cuts it into
``temporal_patch_size`` x ``patch_size`` x ``patch_size`` patches and returns them flattened:
``pixel_values`` is ``(sum of t*h*w over the images, C*T*P*P)`` and ``image_grid_thw`` holds
``(t, h, w)`` per image; the text gets ``t*h*w / merge_size**2`` ``<|image_pad|>`` tokens
between ``<|vision_start|>`` and ``<|vision_end|>``. Images differ in size per example, so the
two examples carry different numbers of image tokens, as real batches do.

Qwen2.5-VL and Qwen3-VL share this layout (``qwen2_5_vl.py``, ``qwen3_vl.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vlmcompat.tiny import chat_rows, configs

VOCAB = 128  # 151936
PAD = 0  # 151643 <|endoftext|>
IM_START = 1  # 151644 <|im_start|>
IM_END = 2  # 151645 <|im_end|> (eos)
VISION_START = 3  # 151652 <|vision_start|>
VISION_END = 4  # 151653 <|vision_end|>
IMAGE = 5  # 151655 <|image_pad|>
VIDEO = 6  # 151656 <|video_pad|>
FIRST_TEXT = 8  # ordinary text ids start here
TOKEN_IDS = dict(image_token_id=IMAGE, video_token_id=VIDEO, vision_start_token_id=VISION_START,
                 vision_end_token_id=VISION_END)

TEXT = dict(
    vocab_size=VOCAB,
    hidden_size=32,  # 1536
    intermediate_size=64,  # 8960
    num_hidden_layers=2,  # 28
    num_attention_heads=4,  # 12
    num_key_value_heads=2,  # 2
    max_position_embeddings=512,  # 32768
    bos_token_id=PAD,  # 151643
    eos_token_id=IM_END,  # 151645
    pad_token_id=PAD,
)
ROPE_THETA = 1000000.0
MROPE_SECTION = [2, 1, 1]  # [16, 24, 24]: sums to head_dim / 2 (8 / 2 here, 128 / 2 there)
PATCH_SIZE = 14  # 14
MERGE_SIZE = 2  # 2
TEMPORAL_PATCH_SIZE = 2  # 2
VISION = dict(
    depth=2,  # 32
    embed_dim=32,  # 1280
    hidden_size=TEXT["hidden_size"],  # 1536: the merger's output is the text width
    mlp_ratio=2,  # 4
    num_heads=4,  # 16
    patch_size=PATCH_SIZE,
    spatial_merge_size=MERGE_SIZE,
    temporal_patch_size=TEMPORAL_PATCH_SIZE,
)
# (t, h, w) in patches per example: 56x84 and 56x56 pixel images (the processor's min_pixels is 3136 = 56*56)
GRIDS = ((1, 4, 6), (1, 4, 4))


def build(lm: str = "qwen2", seed: int = 0, image_token: bool = True, text_at_top: bool = True):
    """A random-initialised tiny Qwen2-VL in eval mode (its config always names the image token).
    ``text_at_top=False``: the text settings only in ``text_config`` (as 5.x saves them), where the
    release takes one."""
    config_cls = configs.transformers_class("Qwen2VLConfig", "4.45")
    text = dict(TEXT, **configs.rope_kwargs(configs.text_config_class(config_cls), ROPE_THETA,
                                            mrope_section=list(MROPE_SECTION)))
    config = configs.composite(config_cls, text, VISION, text_at_top=text_at_top, **TOKEN_IDS)  # as config.json
    return configs.seeded(configs.transformers_class("Qwen2VLForConditionalGeneration", "4.45"), config, seed)


@dataclass(frozen=True)
class PatchLayout:
    patch_size: int
    temporal_patch_size: int
    merge_size: int
    channels: int = 3

    @property
    def patch_dim(self) -> int:
        return self.channels * self.temporal_patch_size * self.patch_size ** 2

    def image_tokens(self, grid: tuple[int, int, int]) -> int:
        t, h, w = grid
        return t * h * w // self.merge_size ** 2


QWEN2_LAYOUT = PatchLayout(PATCH_SIZE, TEMPORAL_PATCH_SIZE, MERGE_SIZE)


def takes_mm_token_type_ids(model_class_name: str) -> bool:
    """Whether this release's model reads ``mm_token_type_ids`` (0 text, 1 image, 2 video): the
    releases whose processors return it by default (their M-RoPE index is computed from it)."""
    import inspect

    import transformers

    forward = getattr(transformers, model_class_name).forward
    return "mm_token_type_ids" in inspect.signature(forward).parameters


def qwen_batch(layout: PatchLayout, seed: int, batch_size: int, model_class_name: str,
               expanded: bool = True) -> dict[str, Any]:
    """The chat-template batch Qwen2-VL, Qwen2.5-VL and Qwen3-VL processors produce."""
    import torch

    gen = torch.Generator().manual_seed(3000 + seed)
    grids = [GRIDS[i % len(GRIDS)] for i in range(batch_size)]
    prompts, answers = [], []
    for grid, answer_len in zip(grids, chat_rows.answer_lengths(batch_size, 4)):
        k = layout.image_tokens(grid) if expanded else 1
        user = chat_rows.random_text(gen, 4, FIRST_TEXT, VOCAB)
        prompts.append([IM_START, *chat_rows.random_text(gen, 1, FIRST_TEXT, VOCAB), VISION_START, *[IMAGE] * k,
                        VISION_END, *user, IM_END, IM_START, *chat_rows.random_text(gen, 1, FIRST_TEXT, VOCAB)])
        answers.append([*chat_rows.random_text(gen, answer_len - 1, FIRST_TEXT, VOCAB), IM_END])
    batch = chat_rows.assemble(prompts, answers, PAD)
    n_patches = sum(t * h * w for t, h, w in grids)
    batch["pixel_values"] = torch.randn(n_patches, layout.patch_dim, generator=gen)
    batch["image_grid_thw"] = torch.tensor(grids, dtype=torch.long)
    if takes_mm_token_type_ids(model_class_name):
        batch["mm_token_type_ids"] = (batch["input_ids"] == IMAGE).long()
    return batch


def make_batch(lm: str = "qwen2", expanded: bool = True, seed: int = 0, batch_size: int = 2) -> dict[str, Any]:
    """``<|im_start|>user <|vision_start|><|image_pad|>×k<|vision_end|> text<|im_end|><|im_start|>assistant
    answer<|im_end|> <pad>...``; labels on the answer only; padded right. ``expanded=False`` keeps one
    ``<|image_pad|>`` per image (what a processor older than the model, or none, would write)."""
    return qwen_batch(QWEN2_LAYOUT, seed, batch_size, "Qwen2VLForConditionalGeneration", expanded=expanded)

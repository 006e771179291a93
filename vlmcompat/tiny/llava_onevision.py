"""A tiny, seeded LLaVA-OneVision (``LlavaOnevisionForConditionalGeneration``, transformers >= 4.45:
SigLIP vision tower, two-layer MLP projector, Qwen2 language model) and the batches its processor
produces, built from a shrunken llava-onevision-qwen2-0.5b-ov-hf config (real sizes in comments).

"anyres": the processor picks the best of ``image_grid_pinpoints`` for each image, cuts the
resized image into ``image_size`` tiles and puts the whole image first: ``pixel_values`` is
``(batch, max tiles + 1, C, H, W)`` (rows with fewer tiles are zero-padded) and ``image_sizes``
holds each original ``(height, width)``. The text gets one ``<image>`` per feature: the base
image's features, the unpadded tile features and one newline feature per row. Newer releases
also return ``batch_num_images`` (images per example), which their model reads.
"""

from __future__ import annotations

import math
from typing import Any

from vlmcompat.tiny import chat_rows, configs

VOCAB = 128  # 152000
PAD = 0  # 151643 <|endoftext|>
IM_START = 1  # 151644 <|im_start|>
IM_END = 2  # 151645 <|im_end|>
IMAGE = 3  # 151646 <image>
VIDEO = 4  # 151647 <video>
FIRST_TEXT = 8
IMAGE_SIZE = 28  # 384
PATCH_SIZE = 14  # 14
TILE_FEATURES = (IMAGE_SIZE // PATCH_SIZE) ** 2  # 729 features per tile (no CLS in SigLIP)
GRID_PINPOINTS = [[IMAGE_SIZE * a, IMAGE_SIZE * b] for a in (1, 2) for b in (1, 2)]  # a, b in 1..6 (384 * a)
VISION_ASPECT_RATIO = "anyres_max_9"
# (height, width) of each example's image: a 2x2 and a 1x2 grid of tiles
IMAGE_SIZES = ((2 * IMAGE_SIZE, 2 * IMAGE_SIZE), (IMAGE_SIZE, 2 * IMAGE_SIZE))

QWEN2 = dict(
    model_type="qwen2",
    vocab_size=VOCAB,
    hidden_size=32,  # 896
    intermediate_size=64,  # 4864
    num_hidden_layers=2,  # 24
    num_attention_heads=4,  # 14
    num_key_value_heads=2,  # 2
    max_position_embeddings=512,  # 32768
    bos_token_id=PAD,  # 151643
    eos_token_id=IM_END,  # 151645
    pad_token_id=PAD,
    tie_word_embeddings=True,  # True
)
SIGLIP = configs.siglip_vision(IMAGE_SIZE, PATCH_SIZE)  # so400m, 26 layers


def build(lm: str = "qwen2", seed: int = 0, image_token: bool = True):
    """A random-initialised tiny LLaVA-OneVision in eval mode (its config always names the image token)."""
    config_cls = configs.transformers_class("LlavaOnevisionConfig", "4.45")
    config = configs.composite(
        config_cls, QWEN2, SIGLIP, image_token_index=IMAGE, video_token_index=VIDEO,
        vision_feature_select_strategy="full", vision_feature_layer=-1, image_grid_pinpoints=GRID_PINPOINTS,
        vision_aspect_ratio=VISION_ASPECT_RATIO, tie_word_embeddings=True,
    )
    configs.set_late(config, pad_token_id=PAD)
    model_cls = configs.transformers_class("LlavaOnevisionForConditionalGeneration", "4.45")
    return configs.seeded(model_cls, config, seed)


def tiles(height: int, width: int) -> tuple[int, int]:
    """(rows, columns) of tiles for an image whose size is one of the pinpoints."""
    if [height, width] not in GRID_PINPOINTS:
        raise ValueError(f"image size {height}x{width} is not one of the pinpoints {GRID_PINPOINTS}")
    return height // IMAGE_SIZE, width // IMAGE_SIZE


def image_tokens(height: int, width: int) -> int:
    """The processor's ``_get_number_of_features`` for an image of that size."""
    rows, cols = tiles(height, width)
    side = IMAGE_SIZE // PATCH_SIZE
    cur_h, cur_w = side * rows, side * cols
    if width / height > cur_w / cur_h:
        cur_h -= ((cur_h - int(round(height * (cur_w / width), 7))) // 2) * 2
    else:
        cur_w -= ((cur_w - int(round(width * (cur_h / height), 7))) // 2) * 2
    unpadded, newlines = cur_h * cur_w, cur_h
    max_tiles = int(VISION_ASPECT_RATIO.removeprefix("anyres_max_"))
    ratio = math.sqrt(cur_h * cur_w / (max_tiles * side ** 2))
    if ratio > 1.1:
        unpadded, newlines = int(cur_h // ratio) * int(cur_w // ratio), int(cur_h // ratio)
    return TILE_FEATURES + unpadded + newlines


def _reads_batch_num_images() -> bool:
    import inspect

    import transformers

    forward = transformers.LlavaOnevisionForConditionalGeneration.forward
    return "batch_num_images" in inspect.signature(forward).parameters


def make_batch(lm: str = "qwen2", expanded: bool = True, seed: int = 0, batch_size: int = 2) -> dict[str, Any]:
    """``<|im_start|>user <image>×k text<|im_end|><|im_start|>assistant answer<|im_end|> <pad>...``;
    labels on the answer only; padded right."""
    import torch

    gen = torch.Generator().manual_seed(4000 + seed)
    sizes = [IMAGE_SIZES[i % len(IMAGE_SIZES)] for i in range(batch_size)]
    prompts, answers = [], []
    for (h, w), answer_len in zip(sizes, chat_rows.answer_lengths(batch_size, 4)):
        k = image_tokens(h, w) if expanded else 1
        prompts.append([IM_START, *chat_rows.random_text(gen, 1, FIRST_TEXT, VOCAB), *[IMAGE] * k,
                        *chat_rows.random_text(gen, 4, FIRST_TEXT, VOCAB), IM_END, IM_START,
                        *chat_rows.random_text(gen, 1, FIRST_TEXT, VOCAB)])
        answers.append([*chat_rows.random_text(gen, answer_len - 1, FIRST_TEXT, VOCAB), IM_END])
    batch = chat_rows.assemble(prompts, answers, PAD)
    n_tiles = [1 + math.prod(tiles(h, w)) for h, w in sizes]
    pixel_values = torch.zeros(batch_size, max(n_tiles), 3, IMAGE_SIZE, IMAGE_SIZE)
    for i, n in enumerate(n_tiles):
        pixel_values[i, :n] = torch.randn(n, 3, IMAGE_SIZE, IMAGE_SIZE, generator=gen)
    batch["pixel_values"] = pixel_values
    batch["image_sizes"] = torch.tensor(sizes, dtype=torch.long)
    if _reads_batch_num_images():
        batch["batch_num_images"] = torch.ones(batch_size, dtype=torch.long)
    return batch

"""A tiny, seeded SmolVLM (SigLIP-style vision tower, pixel-shuffle connector, SmolLM2 (LLaMA)
language model) and the batches its processor produces, built from a shrunken SmolVLM-256M config
(real sizes in the comments).

Two classes carry this architecture, chosen by the first argument of ``build``/``make_batch``:

- ``"smolvlm"``: ``SmolVLMForConditionalGeneration`` (transformers >= 4.50), what SmolVLM2
  checkpoints name in ``architectures``;
- ``"idefics3"``: ``Idefics3ForConditionalGeneration`` (transformers >= 4.46), what the first
  SmolVLM checkpoints (SmolVLM-256M/500M/2.2B-Instruct) name; it loads them on every release.

The processor splits a large image into a grid of tiles plus the whole image, scaled down:
``pixel_values`` is ``(batch, images, C, H, W)`` with ``pixel_attention_mask``
``(batch, images, H, W)``; rows with fewer images are zero-padded (mask ``False``). Each image
becomes ``<fake_token_around_image><row_r_col_c>`` (tiles) or
``<fake_token_around_image><global-img>`` (the whole image) followed by ``image_seq_len``
``<image>`` tokens, ``image_seq_len = (image_size / patch_size)**2 / scale_factor**2``.
"""

from __future__ import annotations

from typing import Any

from vlmcompat.tiny import chat_rows, configs

VOCAB = 128  # 49280
PAD = 0  # 2 (<|im_end|> doubles as padding)
IM_START = 1  # 1 <|im_start|>
END_OF_UTTERANCE = 2  # 49279 <end_of_utterance> (the chat's eos)
IMAGE = 3  # 49190 <image>
FAKE_AROUND_IMAGE = 4  # 49189 <fake_token_around_image>
GLOBAL_IMAGE = 5  # 49152 <global-img>
ROW_COL = {(1, 1): 6, (1, 2): 7}  # 49153... <row_1_col_1>, <row_1_col_2>
NEWLINE = 8  # 198 "\n"
FIRST_TEXT = 10
IMAGE_SIZE = 16  # 512
PATCH_SIZE = 4  # 16
SCALE_FACTOR = 2  # 4
# 64; a multiple of patch_size as in the 256M/500M checkpoints: transformers 5.20 cuts the image
# features into blocks of vision_config.patch_size (4.50-5.19: of image_seq_len)
IMAGE_SEQ_LEN = (IMAGE_SIZE // PATCH_SIZE) ** 2 // SCALE_FACTOR ** 2
# tile grid (rows, cols) per example: a 1x2 split image, then one small image (not split)
SPLITS = ((1, 2), (0, 0))

LLAMA = dict(
    model_type="llama",
    vocab_size=VOCAB,
    hidden_size=32,  # 576
    intermediate_size=64,  # 1536
    num_hidden_layers=2,  # 30
    num_attention_heads=4,  # 9
    num_key_value_heads=2,  # 3
    max_position_embeddings=512,  # 8192
    rope_theta=100000.0,  # 100000
    bos_token_id=IM_START,
    eos_token_id=END_OF_UTTERANCE,
    pad_token_id=PAD,
    tie_word_embeddings=False,  # True on the 256M, False on the 2.2B
)
VISION = dict(
    hidden_size=32,  # 768
    intermediate_size=64,  # 3072
    num_hidden_layers=2,  # 12
    num_attention_heads=4,  # 12
    image_size=IMAGE_SIZE,
    patch_size=PATCH_SIZE,
)
ARCHITECTURES = {  # (config class, model class, first transformers release)
    "smolvlm": ("SmolVLMConfig", "SmolVLMForConditionalGeneration", "4.50"),
    "idefics3": ("Idefics3Config", "Idefics3ForConditionalGeneration", "4.46"),
}


def _classes(lm: str):
    if lm not in ARCHITECTURES:
        raise ValueError(f"unknown SmolVLM architecture {lm!r}; choose from {', '.join(ARCHITECTURES)}")
    config_name, model_name, since = ARCHITECTURES[lm]
    return configs.transformers_class(config_name, since), configs.transformers_class(model_name, since)


def build(lm: str = "smolvlm", seed: int = 0, image_token: bool = True):
    """A random-initialised tiny SmolVLM (``lm``: "smolvlm" or "idefics3") in eval mode."""
    config_cls, model_cls = _classes(lm)
    config = configs.composite(config_cls, LLAMA, VISION, image_token_id=IMAGE, scale_factor=SCALE_FACTOR)
    configs.set_late(config, pad_token_id=PAD)
    return configs.seeded(model_cls, config, seed)


def image_prompt(rows: int, cols: int) -> list[int]:
    """The processor's ``get_image_prompt_string`` for one image split into rows x cols tiles."""
    block = [*[IMAGE] * IMAGE_SEQ_LEN]
    if rows == 0 and cols == 0:
        return [FAKE_AROUND_IMAGE, GLOBAL_IMAGE, *block, FAKE_AROUND_IMAGE]
    out: list[int] = []
    for r in range(1, rows + 1):
        for c in range(1, cols + 1):
            out += [FAKE_AROUND_IMAGE, ROW_COL[(r, c)], *block]
        out.append(NEWLINE)
    return out + [NEWLINE, FAKE_AROUND_IMAGE, GLOBAL_IMAGE, *block, FAKE_AROUND_IMAGE]


def make_batch(lm: str = "smolvlm", expanded: bool = True, seed: int = 0, batch_size: int = 2) -> dict[str, Any]:
    """``<|im_start|>User:<image block> text<end_of_utterance>\\nAssistant: answer<end_of_utterance>
    <pad>...``; labels on the answer only; padded right. ``expanded=False`` keeps one ``<image>``."""
    import torch

    gen = torch.Generator().manual_seed(5000 + seed)
    splits = [SPLITS[i % len(SPLITS)] for i in range(batch_size)]
    prompts, answers = [], []
    for (rows, cols), answer_len in zip(splits, chat_rows.answer_lengths(batch_size, 4)):
        image = image_prompt(rows, cols) if expanded else [IMAGE]
        prompts.append([IM_START, *chat_rows.random_text(gen, 1, FIRST_TEXT, VOCAB), *image,
                        *chat_rows.random_text(gen, 4, FIRST_TEXT, VOCAB), END_OF_UTTERANCE, NEWLINE,
                        *chat_rows.random_text(gen, 1, FIRST_TEXT, VOCAB)])
        answers.append([*chat_rows.random_text(gen, answer_len - 1, FIRST_TEXT, VOCAB), END_OF_UTTERANCE])
    batch = chat_rows.assemble(prompts, answers, PAD)
    n_images = [rows * cols + 1 for rows, cols in splits]
    pixel_values = torch.zeros(batch_size, max(n_images), 3, IMAGE_SIZE, IMAGE_SIZE)
    pixel_attention_mask = torch.zeros(batch_size, max(n_images), IMAGE_SIZE, IMAGE_SIZE, dtype=torch.bool)
    for i, n in enumerate(n_images):
        pixel_values[i, :n] = torch.randn(n, 3, IMAGE_SIZE, IMAGE_SIZE, generator=gen)
        pixel_attention_mask[i, :n] = True
    batch.update(pixel_values=pixel_values, pixel_attention_mask=pixel_attention_mask)
    return batch

"""A tiny, seeded Gemma 3 (``Gemma3ForConditionalGeneration``, transformers >= 4.50: SigLIP vision
tower, average-pooling projector, Gemma 3 language model) and the batches its processor produces,
built from a shrunken gemma-3-4b-it config (real sizes in the comments).

The processor replaces each ``<start_of_image>`` with ``\\n\\n<start_of_image>``,
``mm_tokens_per_image`` ``<image_soft_token>`` and ``<end_of_image>\\n\\n``, returns
``pixel_values`` ``(images, C, H, W)`` and ``token_type_ids`` (1 on the image soft tokens, 0
elsewhere). The model attends bidirectionally within an image where it gets ``token_type_ids``;
transformers 5.0 refuses to train without them.
"""

from __future__ import annotations

from typing import Any

from vlmcompat.tiny import chat_rows, configs

VOCAB = 128  # 262208
PAD = 0  # 0
EOS = 1  # 1
BOS = 2  # 2
START_OF_TURN = 3  # 105
END_OF_TURN = 4  # 106
BOI = 5  # 255999 <start_of_image>
EOI = 6  # 256000 <end_of_image>
IMAGE = 7  # 262144 <image_soft_token>
DOUBLE_NEWLINE = 8  # 108 "\n\n"
NEWLINE = 9  # 107 "\n"
FIRST_TEXT = 10
IMAGE_SIZE = 56  # 896
PATCH_SIZE = 14  # 14
MM_TOKENS_PER_IMAGE = 4  # 256: a 4x4 patch grid pooled 2x2 here, 64x64 pooled 4x4 there

GEMMA3_TEXT = dict(
    vocab_size=VOCAB,
    hidden_size=32,  # 2560
    intermediate_size=64,  # 10240
    num_hidden_layers=2,  # 34
    num_attention_heads=4,  # 8
    num_key_value_heads=2,  # 4
    head_dim=8,  # 256
    query_pre_attn_scalar=8,  # 256
    sliding_window=16,  # 1024
    max_position_embeddings=512,  # 131072
    pad_token_id=PAD,
    eos_token_id=EOS,
    bos_token_id=BOS,
)
SIGLIP = configs.siglip_vision(IMAGE_SIZE, PATCH_SIZE)  # so400m, 27 layers


def build(lm: str = "gemma3", seed: int = 0, image_token: bool = True):
    """A random-initialised tiny Gemma 3 in eval mode (its config always names the image token)."""
    config_cls = configs.transformers_class("Gemma3Config", "4.50")
    model_cls = configs.transformers_class("Gemma3ForConditionalGeneration", "4.50")
    config = configs.composite(config_cls, GEMMA3_TEXT, SIGLIP, mm_tokens_per_image=MM_TOKENS_PER_IMAGE,
                               boi_token_index=BOI, eoi_token_index=EOI, image_token_index=IMAGE)
    configs.set_late(config, pad_token_id=PAD)
    return configs.seeded(model_cls, config, seed)


def make_batch(lm: str = "gemma3", expanded: bool = True, seed: int = 0, batch_size: int = 2,
               token_type_ids: bool = True) -> dict[str, Any]:
    """``<bos><start_of_turn>user\\n text \\n\\n<start_of_image><image_soft_token>×k<end_of_image>\\n\\n
    text<end_of_turn>\\n<start_of_turn>model\\n answer<end_of_turn> <pad>...``; labels on the answer
    only; padded right. ``token_type_ids=False`` drops them (a collator that forgets them)."""
    import torch

    gen = torch.Generator().manual_seed(6000 + seed)
    k = MM_TOKENS_PER_IMAGE if expanded else 1
    image = [DOUBLE_NEWLINE, BOI, *[IMAGE] * k, EOI, DOUBLE_NEWLINE] if expanded else [BOI]
    prompts, answers = [], []
    for answer_len in chat_rows.answer_lengths(batch_size, 4):
        prompts.append([BOS, START_OF_TURN, *chat_rows.random_text(gen, 1, FIRST_TEXT, VOCAB), NEWLINE, *image,
                        *chat_rows.random_text(gen, 4, FIRST_TEXT, VOCAB), END_OF_TURN, NEWLINE, START_OF_TURN,
                        *chat_rows.random_text(gen, 1, FIRST_TEXT, VOCAB), NEWLINE])
        answers.append([*chat_rows.random_text(gen, answer_len - 1, FIRST_TEXT, VOCAB), END_OF_TURN])
    batch = chat_rows.assemble(prompts, answers, PAD)
    batch["pixel_values"] = torch.randn(batch_size, 3, IMAGE_SIZE, IMAGE_SIZE, generator=gen)
    if token_type_ids:
        batch["token_type_ids"] = (batch["input_ids"] == IMAGE).long()
    return batch

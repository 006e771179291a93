"""A tiny, seeded PaliGemma (``PaliGemmaForConditionalGeneration``: SigLIP vision tower, linear
projector, Gemma language model) and the batches its processor produces, built from shrunken
paligemma2-3b-pt-224 (``lm="gemma2"``, PaliGemma 2) and paligemma-3b-pt-224 (``lm="gemma"``,
PaliGemma 1, transformers >= 4.41) configs (real sizes in the comments). With Gemma 2 the tiny model
trains from transformers 4.42 and generates from 4.45.

The processor writes ``num_image_tokens`` ``<image>`` tokens, ``<bos>``, the prefix (prompt) and
``\\n``, then the suffix (answer) and ``<eos>``; ``token_type_ids`` are 0 on the prefix (image
included) and 1 on the suffix, and its ``labels`` are ``input_ids`` with ``-100`` wherever
``token_type_ids`` is 0 (padding included). The model attends bidirectionally over the prefix.
"""

from __future__ import annotations

from typing import Any

from vlmcompat.tiny import chat_rows, configs

VOCAB = 128  # 257216
PAD = 0  # 0
EOS = 1  # 1
BOS = 2  # 2
IMAGE = 3  # 257152 <image>
NEWLINE = 4  # 108 "\n"
FIRST_TEXT = 8
IMAGE_SIZE = 28  # 224
PATCH_SIZE = 14  # 14
NUM_IMAGE_TOKENS = (IMAGE_SIZE // PATCH_SIZE) ** 2  # 256
HIDDEN = 32  # 2304 (PaliGemma 2 3B), 2048 (PaliGemma 1 3B)

TEXT_CONFIGS = {
    "gemma2": dict(
        model_type="gemma2",
        vocab_size=VOCAB,
        hidden_size=HIDDEN,  # 2304
        intermediate_size=64,  # 9216
        num_hidden_layers=2,  # 26
        num_attention_heads=4,  # 8
        num_key_value_heads=2,  # 4
        head_dim=8,  # 256
        query_pre_attn_scalar=8,  # 256
        sliding_window=16,  # 4096
        max_position_embeddings=512,  # 8192
        pad_token_id=PAD, eos_token_id=EOS, bos_token_id=BOS,
    ),
    "gemma": dict(
        model_type="gemma",
        vocab_size=VOCAB,
        hidden_size=HIDDEN,  # 2048
        intermediate_size=64,  # 16384
        num_hidden_layers=2,  # 18
        num_attention_heads=4,  # 8
        num_key_value_heads=1,  # 1
        head_dim=8,  # 256
        max_position_embeddings=512,  # 8192
        pad_token_id=PAD, eos_token_id=EOS, bos_token_id=BOS,
    ),
}
SINCE = {"gemma2": "4.42", "gemma": "4.41"}  # Gemma 2 first ships in 4.42
SIGLIP = configs.siglip_vision(IMAGE_SIZE, PATCH_SIZE)  # so400m, 27 layers


def build(lm: str = "gemma2", seed: int = 0, image_token: bool = True):
    """A random-initialised tiny PaliGemma (``lm``: "gemma2" or "gemma") in eval mode."""
    if lm not in TEXT_CONFIGS:
        raise ValueError(f"unknown PaliGemma language model {lm!r}; choose from {', '.join(TEXT_CONFIGS)}")
    config_cls = configs.transformers_class("PaliGemmaConfig", SINCE[lm])
    model_cls = configs.transformers_class("PaliGemmaForConditionalGeneration", SINCE[lm])
    config = configs.composite(config_cls, TEXT_CONFIGS[lm], dict(SIGLIP, projection_dim=HIDDEN),
                               image_token_index=IMAGE, vocab_size=VOCAB, projection_dim=HIDDEN, hidden_size=HIDDEN)
    configs.set_late(config, pad_token_id=PAD)
    return configs.seeded(model_cls, config, seed)


def make_batch(lm: str = "gemma2", expanded: bool = True, seed: int = 0, batch_size: int = 2,
               token_type_ids: bool = True) -> dict[str, Any]:
    """``<image>×k <bos> prefix \\n suffix <eos> <pad>...``; labels on the suffix only; padded right.
    ``token_type_ids=False`` drops them (a collator that forgets them)."""
    import torch

    gen = torch.Generator().manual_seed(7000 + seed)
    k = NUM_IMAGE_TOKENS if expanded else 1
    prompts, answers = [], []
    for answer_len in chat_rows.answer_lengths(batch_size, 4):
        prompts.append([*[IMAGE] * k, BOS, *chat_rows.random_text(gen, 4, FIRST_TEXT, VOCAB), NEWLINE])
        answers.append([*chat_rows.random_text(gen, answer_len - 1, FIRST_TEXT, VOCAB), EOS])
    batch = chat_rows.assemble(prompts, answers, PAD)
    batch["pixel_values"] = torch.randn(batch_size, 3, IMAGE_SIZE, IMAGE_SIZE, generator=gen)
    if token_type_ids:
        batch["token_type_ids"] = (batch["labels"] != chat_rows.IGNORE_INDEX).long()
    return batch

"""The batch a LLaVA-style processor and collator produce: ``<bos> <image>×k prompt answer <pad>...``,
right-padded (the second example ends in two pads), labels on the answer only (``-100`` on the
prompt, the image tokens and the padding). Shared by the families whose image tokens sit in the
text (LLaVA, the TinyLLaVA composition); seeded, so the same seed gives the same batch."""

from __future__ import annotations

from typing import Any


def image_then_text(*, seed: int, image_size: int, image_token: int, k: int, bos: int, pad: int, vocab_end: int,
                    batch_size: int = 2, prompt_len: int = 4, answer_len: int = 4) -> dict[str, Any]:
    """``k`` copies of ``image_token`` after BOS, then text ids drawn from ``[3, vocab_end)``."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    pixel_values = torch.randn(batch_size, 3, image_size, image_size, generator=gen)
    text = torch.randint(3, vocab_end, (batch_size, prompt_len + answer_len), generator=gen)
    image = torch.full((batch_size, k), image_token, dtype=torch.long)
    bos_ids = torch.full((batch_size, 1), bos, dtype=torch.long)
    input_ids = torch.cat([bos_ids, image, text], dim=1)
    attention_mask = torch.ones_like(input_ids)
    input_ids[1, -2:] = pad
    attention_mask[1, -2:] = 0
    labels = input_ids.clone()
    labels[:, : 1 + k + prompt_len] = -100
    labels[attention_mask == 0] = -100
    return dict(pixel_values=pixel_values, input_ids=input_ids, attention_mask=attention_mask, labels=labels)

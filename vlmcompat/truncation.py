"""Truncation that never cuts inside an image's tokens.

Processors of the current VLMs expand each image into many tokens of ``input_ids`` and count them
toward ``max_length`` (TRL's SFT default is 1024). A tokenizer call with ``truncation=True`` cuts
wherever the limit falls; the image features stay whole, so the model finds fewer image tokens
than features (``Image features and image tokens do not match``) or, on some releases, trains on
a silently mismatched image. :func:`truncate_example` cuts text only: an example whose last image
token lies beyond the limit is refused with a message saying how long it needs to be.
"""

from __future__ import annotations

from typing import Any

CUT_KEYS = ("input_ids", "labels", "attention_mask", "token_type_ids", "mm_token_type_ids")


class ImageTokensWouldBeCut(ValueError):
    """The limit falls inside (or before the end of) an example's image tokens."""


def last_image_position(input_ids, image_token_id: int | None) -> int | None:
    """The index of the last image token in a 1-D ``input_ids``, or None."""
    if image_token_id is None:
        return None
    positions = (input_ids == image_token_id).nonzero()
    return int(positions.max()) if positions.numel() else None


def truncate_example(example: dict[str, Any], max_length: int, image_token_id: int | None,
                     index: int = 0) -> dict[str, Any]:
    """``example`` with its per-token tensors cut to ``max_length``, or :class:`ImageTokensWouldBeCut`
    when that would remove any of its image tokens. Image inputs are kept as they are."""
    if max_length < 1:
        raise ValueError(f"max_length must be at least 1, got {max_length}")
    length = int(example["input_ids"].shape[-1])
    if length <= max_length:
        return example
    last = last_image_position(example["input_ids"], image_token_id)
    if last is not None and last >= max_length:
        count = int((example["input_ids"] == image_token_id).sum())
        raise ImageTokensWouldBeCut(
            f"example {index}: max_length={max_length} would cut inside its image tokens ({count} image tokens, "
            f"the last at position {last}; {length} tokens in all); raise max_length to at least {last + 1} "
            "(better: above the longest example), lower the image resolution so images take fewer tokens, "
            "or drop the example")
    return {key: (value[..., :max_length] if key in CUT_KEYS else value) for key, value in example.items()}

"""Batches as a chat-template processor plus an assistant-only collator write them.

Every family lays one example out as *prompt* (special tokens, image tokens, the user's text,
the assistant header) followed by the *answer*. Labels are the answer only (``-100`` on the
prompt, image tokens and padding), rows are padded on the right, and the last example's answer
is two tokens shorter so that one row of every batch is padded.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

IGNORE_INDEX = -100
SHORTER_BY = 2  # how much shorter the padded example's answer is


def random_text(gen, n: int, low: int, high: int) -> list[int]:
    """``n`` ordinary token ids in ``[low, high)`` (no special tokens)."""
    import torch

    return torch.randint(low, high, (n,), generator=gen).tolist()


def answer_lengths(batch_size: int, answer_len: int) -> list[int]:
    """Answer length per example: the last example of a batch of two or more is shorter."""
    return [answer_len - SHORTER_BY if (i == batch_size - 1 and batch_size > 1) else answer_len
            for i in range(batch_size)]


def assemble(prompts: Sequence[Sequence[int]], answers: Sequence[Sequence[int]], pad_id: int) -> dict[str, Any]:
    """``input_ids``, ``attention_mask`` and ``labels`` for prompt + answer rows, padded right."""
    import torch

    rows = [list(p) + list(a) for p, a in zip(prompts, answers)]
    width = max(len(r) for r in rows)
    input_ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros_like(input_ids)
    labels = torch.full_like(input_ids, IGNORE_INDEX)
    for i, (prompt, row) in enumerate(zip(prompts, rows)):
        input_ids[i, : len(row)] = torch.tensor(row)
        attention_mask[i, : len(row)] = 1
        labels[i, len(prompt): len(row)] = torch.tensor(row[len(prompt):])
    return dict(input_ids=input_ids, attention_mask=attention_mask, labels=labels)


def prompt_only(batch: dict[str, Any]) -> dict[str, Any]:
    """A one-example batch cut before its answer, for ``generate``: the per-token tensors stop
    where the labels start; image tensors are kept as they are."""
    if batch["input_ids"].shape[0] != 1:
        raise ValueError(f"prompt_only takes a batch of one example, got {batch['input_ids'].shape[0]}; "
                         "build it with make_batch(..., batch_size=1)")
    start = int((batch["labels"][0] != IGNORE_INDEX).nonzero()[0])
    per_token = ("input_ids", "attention_mask", "token_type_ids", "mm_token_type_ids")
    return {key: (value[:, :start] if key in per_token else value)
            for key, value in batch.items() if key != "labels"}

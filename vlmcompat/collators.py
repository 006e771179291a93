"""The data collator people write for vision-language fine-tuning, and examples to feed it.

``VisionLanguageCollator`` pads a list of examples (1-D ``input_ids``, optional 1-D ``labels``
and ``qformer_input_ids``, ``pixel_values`` per image) into a batch:

- ``input_ids`` padded with the pad token (right padding, as for training), ``attention_mask``
  0 on padding;
- causal LMs: ``labels`` are the example's labels (or a copy of ``input_ids``) with ``-100`` on
  padding *and* on image-token positions, so the loss never trains on placeholders;
- encoder-decoder LMs: ``labels`` are the target ids padded with ``-100``.

``examples_from_batch`` turns a padded batch back into the per-example dicts a dataset
holds (padding stripped), so the tiny families can be trained through a real collator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vlmcompat.forwards.merge import IGNORE_INDEX


@dataclass
class VisionLanguageCollator:
    pad_token_id: int
    image_token_id: int | None = None
    causal: bool = True
    qformer_pad_token_id: int = 0

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        if not examples:
            raise ValueError("VisionLanguageCollator got an empty list of examples")
        input_ids = _pad([e["input_ids"] for e in examples], self.pad_token_id)
        attention_mask = _pad([torch.ones_like(e["input_ids"]) for e in examples], 0)
        batch: dict[str, Any] = {"input_ids": input_ids, "attention_mask": attention_mask}
        if self.causal:
            raw = [e.get("labels", e["input_ids"]) for e in examples]
            labels = _pad([torch.as_tensor(x).clone() for x in raw], IGNORE_INDEX)
            labels[attention_mask == 0] = IGNORE_INDEX
            if self.image_token_id is not None:
                labels[input_ids == self.image_token_id] = IGNORE_INDEX
            batch["labels"] = labels
        elif "labels" in examples[0]:
            batch["labels"] = _pad([e["labels"] for e in examples], IGNORE_INDEX)
        if "qformer_input_ids" in examples[0]:
            qformer = [e["qformer_input_ids"] for e in examples]
            batch["qformer_input_ids"] = _pad(qformer, self.qformer_pad_token_id)
            batch["qformer_attention_mask"] = _pad([torch.ones_like(q) for q in qformer], 0)
        batch["pixel_values"] = torch.stack([e["pixel_values"] for e in examples])
        return batch


def _pad(rows: list, value: int):
    import torch

    length = max(int(r.shape[0]) for r in rows)
    out = torch.full((len(rows), length), value, dtype=rows[0].dtype)
    for i, row in enumerate(rows):
        out[i, : row.shape[0]] = row
    return out


def examples_from_batch(batch: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-example dicts with padding stripped (the inverse of the collator, right padding)."""
    examples = []
    mask = batch["attention_mask"].bool()
    qmask = batch["qformer_attention_mask"].bool() if "qformer_attention_mask" in batch else None
    same_length_labels = "labels" in batch and batch["labels"].shape == batch["input_ids"].shape
    for i in range(batch["input_ids"].shape[0]):
        example: dict[str, Any] = {"input_ids": batch["input_ids"][i][mask[i]],
                                   "pixel_values": batch["pixel_values"][i]}
        if "labels" in batch:
            labels = batch["labels"][i]
            if same_length_labels:  # causal: labels align with input_ids
                example["labels"] = labels[mask[i]]
            else:  # encoder-decoder targets: strip trailing -100 padding
                keep = int((labels != IGNORE_INDEX).nonzero().max()) + 1 if bool((labels != IGNORE_INDEX).any()) else 0
                example["labels"] = labels[:keep]
        if qmask is not None:
            example["qformer_input_ids"] = batch["qformer_input_ids"][i][qmask[i]]
        examples.append(example)
    return examples


@dataclass
class ChatCollator:
    """The collator of the TRL vision recipe: chat template → processor → labels are
    ``input_ids`` with padding (and image tokens) set to ``-100``.

    ``processor(texts, images)`` returns a batch with ``input_ids``; examples hold
    ``messages`` (a chat) and the image under ``image_key``.
    """

    tokenizer: Any
    processor: Any
    image_token_id: int | None = None
    image_key: str = "images"

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        texts = [self.tokenizer.apply_chat_template(e["messages"], tokenize=False) for e in examples]
        batch = self.processor(texts, [e[self.image_key] for e in examples])
        labels = batch["input_ids"].clone()
        labels[batch["attention_mask"] == 0] = IGNORE_INDEX
        if self.image_token_id is not None:
            labels[batch["input_ids"] == self.image_token_id] = IGNORE_INDEX
        batch["labels"] = labels
        return batch

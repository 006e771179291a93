"""The data collator people write for vision-language fine-tuning, and examples to feed it.

``VisionLanguageCollator`` pads a list of examples (1-D ``input_ids``, optional 1-D ``labels``
and ``qformer_input_ids``, ``pixel_values`` per image) into a batch:

- ``input_ids`` padded with the pad token (right padding, as for training), ``attention_mask``
  0 on padding;
- causal LMs: ``labels`` are the example's labels (or a copy of ``input_ids``) with ``-100`` on
  padding *and* on image-token positions, so the loss never trains on placeholders;
- encoder-decoder LMs: ``labels`` are the target ids padded with ``-100``.

The current VLMs' processor outputs are kept as they come: per-token ``token_type_ids`` /
``mm_token_type_ids`` are padded with 0; Qwen's flattened patches (``pixel_values`` rows, one
``image_grid_thw`` row per image) are concatenated; every other image input (``image_sizes``,
``pixel_attention_mask``, ``batch_num_images``) is stacked like ``pixel_values``. With
``token_type_ids="image"`` (Gemma 3: 1 on image tokens) or ``"labels"`` (PaliGemma: 1 on the
suffix it trains on) the collator writes ``token_type_ids`` where the examples lack them, as the
processors do: Gemma 3 and PaliGemma refuse to train without them on transformers 5.0-5.5 and
5.0-5.8. ``max_length`` truncates without ever cutting into an image's tokens
(:mod:`vlmcompat.truncation`).

``examples_from_batch`` turns a padded batch back into the per-example dicts a dataset
holds (padding stripped), so the tiny families can be trained through a real collator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vlmcompat.forwards.merge import IGNORE_INDEX

PER_TOKEN = ("token_type_ids", "mm_token_type_ids")  # padded with 0 like the attention mask
TEXT_KEYS = ("input_ids", "attention_mask", "labels", "qformer_input_ids", "qformer_attention_mask", *PER_TOKEN)


@dataclass
class VisionLanguageCollator:
    pad_token_id: int
    image_token_id: int | None = None
    causal: bool = True
    qformer_pad_token_id: int = 0
    token_type_ids: str | None = None  # "image" | "labels": write token_type_ids where examples lack them
    max_length: int | None = None  # truncate text, never inside an image's tokens (else ValueError)

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        if not examples:
            raise ValueError("VisionLanguageCollator got an empty list of examples")
        if self.max_length is not None:
            from vlmcompat.truncation import truncate_example

            examples = [truncate_example(e, self.max_length, self.image_token_id, i) for i, e in enumerate(examples)]
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
        self._per_token(examples, batch)
        self._images(examples, batch)
        return batch

    def _per_token(self, examples: list[dict[str, Any]], batch: dict[str, Any]) -> None:
        for key in PER_TOKEN:
            if key in examples[0]:
                batch[key] = _pad([e[key] for e in examples], 0)
        if self.token_type_ids is None or "token_type_ids" in batch:
            return
        if self.token_type_ids == "labels" and "labels" in batch:
            batch["token_type_ids"] = (batch["labels"] != IGNORE_INDEX).long()
        elif self.token_type_ids == "image" and self.image_token_id is not None:
            batch["token_type_ids"] = (batch["input_ids"] == self.image_token_id).long()
        else:
            raise ValueError(f"VisionLanguageCollator(token_type_ids={self.token_type_ids!r}) needs 'image' with an "
                             "image_token_id, or 'labels' with a causal LM's labels")

    @staticmethod
    def _images(examples: list[dict[str, Any]], batch: dict[str, Any]) -> None:
        """Image inputs: Qwen's flattened patches are concatenated, everything else stacked."""
        import torch

        join = torch.cat if "image_grid_thw" in examples[0] else torch.stack
        for key in examples[0]:
            if key not in TEXT_KEYS:
                batch[key] = join([torch.as_tensor(e[key]) for e in examples])


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
    images = _images_per_example(batch)
    for i in range(batch["input_ids"].shape[0]):
        example: dict[str, Any] = {"input_ids": batch["input_ids"][i][mask[i]], **images[i]}
        for key in PER_TOKEN:
            if key in batch:
                example[key] = batch[key][i][mask[i]]
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


def _images_per_example(batch: dict[str, Any]) -> list[dict[str, Any]]:
    """Each example's image inputs: Qwen's flattened patches split by ``image_grid_thw`` (one image
    per example, as the tiny batches hold), every other image input indexed by example."""
    size = batch["input_ids"].shape[0]
    keys = [key for key in batch if key not in TEXT_KEYS]
    if "image_grid_thw" not in batch:
        return [{key: batch[key][i] for key in keys} for i in range(size)]
    grids = batch["image_grid_thw"]
    if grids.shape[0] != size:
        raise ValueError(f"examples_from_batch splits one image per example; got {grids.shape[0]} images for {size}")
    rows = [int(g.prod()) for g in grids]
    starts = [sum(rows[:i]) for i in range(size)]
    return [{"pixel_values": batch["pixel_values"][s: s + n], "image_grid_thw": grids[i: i + 1]}
            for i, (s, n) in enumerate(zip(starts, rows))]


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

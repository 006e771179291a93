"""``image-truncation``: truncation that cuts into an image's tokens.

The current VLMs' processors expand each image into many ``input_ids`` and the tokenizer's
``truncation=True, max_length=L`` counts them (TRL's SFT default is 1024): a limit inside an image
leaves fewer image tokens than image features. The model then raises ``Image features and image
tokens do not match`` (Qwen2-VL and OneVision from 4.46, Qwen2.5/3-VL, Gemma 3, PaliGemma, SmolVLM
from 5.21) or trains on a mismatched image without a word (Qwen2-VL / OneVision 4.45, SmolVLM with
whole tiles cut 4.50-5.20, Idefics3 4.54-5.20): ``image-tokens-truncated`` either way.

- native: the batch's text goes through a real fast tokenizer with ``truncation=True`` at a limit
  halfway through the first example's image tokens, then one training forward;
- patched: :class:`~vlmcompat.collators.VisionLanguageCollator` with ``max_length`` refuses that
  limit with one clear error, and at a limit one token short of the longest example truncates
  the text only: every image token stays and the training forward gives a finite loss.
"""

from __future__ import annotations

import math

from vlmcompat import tiny
from vlmcompat.collators import PER_TOKEN, VisionLanguageCollator, examples_from_batch
from vlmcompat.forwards.language_model import image_token_id
from vlmcompat.forwards.merge import IGNORE_INDEX
from vlmcompat.parts import text_config
from vlmcompat.probes.base import Metrics, Probe, ProbeFailed
from vlmcompat.probes.common import require_class
from vlmcompat.results import Mode
from vlmcompat.tiny.modern_families import MODERN_FAMILIES
from vlmcompat.truncation import ImageTokensWouldBeCut


def word_tokenizer(vocab_size: int, pad_id: int):
    """A fast tokenizer whose word ``t<i>`` is token ``i``: text made of the batch's ids reads back exactly."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(WordLevel({f"t{i}": i for i in range(vocab_size)}, unk_token=f"t{pad_id}"))
    backend.pre_tokenizer = WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token=f"t{pad_id}", padding_side="right")


def tokenizer_truncated(batch, tokenizer, max_length: int):
    """``batch`` as the tokenizer truncates its text at ``max_length``; labels and per-token ids cut alike,
    image inputs untouched."""
    mask = batch["attention_mask"].bool()
    texts = [" ".join(f"t{i}" for i in row[m].tolist()) for row, m in zip(batch["input_ids"], mask)]
    encoded = tokenizer(texts, truncation=True, max_length=max_length, padding="longest", add_special_tokens=False,
                        return_tensors="pt")
    width = encoded["input_ids"].shape[1]
    out = dict(batch, input_ids=encoded["input_ids"], attention_mask=encoded["attention_mask"])
    out["labels"] = batch["labels"][:, :width].clone()
    out["labels"][encoded["attention_mask"] == 0] = IGNORE_INDEX
    for key in PER_TOKEN:
        if key in batch:
            out[key] = batch[key][:, :width]
    return out


def train_loss(family: str, batch) -> float:
    model = tiny.model(family, seed=0, image_token=True)
    model.train()
    return float(model(**batch).loss)


def run(family: str, mode: Mode) -> Metrics:
    require_class(family)
    batch = tiny.make_batch(family, True)
    config = tiny.config(family)
    image_id = image_token_id(config)
    first_image = batch["input_ids"][0] == image_id
    count, start = int(first_image.sum()), int(first_image.nonzero().min())
    cut = start + count // 2
    metrics: Metrics = {"image_tokens": count, "max_length": cut}
    if mode is Mode.NATIVE:
        settings = text_config(config)
        truncated = tokenizer_truncated(batch, word_tokenizer(settings.vocab_size, settings.pad_token_id or 0), cut)
        kept = int((truncated["input_ids"][0] == image_id).sum())
        metrics["image_tokens_kept"] = kept
        try:
            loss = train_loss(family, truncated)
        except (ValueError, RuntimeError, IndexError) as exc:
            raise ProbeFailed("image-tokens-truncated", f"truncation=True, max_length={cut} kept {kept} of {count} "
                              f"image tokens: {type(exc).__name__}: {exc}", metrics) from exc
        metrics["loss"] = loss
        raise ProbeFailed("image-tokens-truncated", f"truncation=True, max_length={cut} kept {kept} of {count} image "
                          f"tokens and the model trained on without a word (loss {loss:.4f}; the cut took the answer "
                          "too): its image features no longer match the text", metrics)
    examples = examples_from_batch(batch)
    try:
        VisionLanguageCollator(pad_token_id=0, image_token_id=image_id, max_length=cut)(examples)
    except ImageTokensWouldBeCut as exc:
        metrics["refused"] = str(exc)
    else:
        raise ProbeFailed(None, f"VisionLanguageCollator(max_length={cut}) cut into an image's tokens", metrics)
    # one token short of the longest example: its last answer token goes, every image token stays
    safe = max(int(e["input_ids"].shape[0]) for e in examples) - 1
    collated = VisionLanguageCollator(pad_token_id=0, image_token_id=image_id, max_length=safe)(examples)
    metrics.update(text_max_length=safe, width=int(collated["input_ids"].shape[1]))
    if int((collated["input_ids"] == image_id).sum()) != int((batch["input_ids"] == image_id).sum()):
        raise ProbeFailed(None, f"VisionLanguageCollator(max_length={safe}) lost image tokens", metrics)
    metrics["loss"] = loss = train_loss(family, collated)
    if not math.isfinite(loss):
        raise ProbeFailed(None, f"non-finite loss after truncating the text only: {loss}", metrics)
    return metrics


PROBE = Probe(
    name="image-truncation",
    summary="tokenizer truncation inside the image tokens (native) vs a collator that truncates text only or refuses",
    run=run,
    families=tuple(MODERN_FAMILIES),
)

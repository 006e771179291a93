"""Merging image features into text embeddings (prepend or scatter), the language-model call
with ``inputs_embeds`` only, and the losses the stock models compute — the pieces every patched
VLM forward (and vlmcompat's own compositions) share.
"""

from __future__ import annotations

import sys
from typing import Any

from vlmcompat.errors import ForwardInputError
from vlmcompat.forwards.language_model import LanguageModel, call_supported

IGNORE_INDEX = -100


def merge_image_features(text_embeds, attention_mask, features, input_ids, token_id, labels=None,
                         causal=True):
    """Put ``features`` (batch, n, hidden) into the text embeddings.

    Expanded inputs (``input_ids`` hold ``n`` image tokens per example): scatter, out of place
    (no in-place write on a tensor that may require grad), and mask those positions in causal
    labels. Legacy inputs (no image tokens): prepend, extend the attention mask and, for causal
    LMs, prepend ``-100`` labels. Returns ``(embeds, attention_mask, labels, mode)``.
    """
    import torch

    batch, n, _ = features.shape
    features = features.to(text_embeds.device, text_embeds.dtype)
    mask = None
    if input_ids is not None and token_id is not None:
        mask = input_ids == token_id
        if not bool(mask.any()):
            mask = None
    if mask is not None:
        counts = mask.sum(dim=1)
        if bool((counts != n).any()):
            raise ForwardInputError(
                f"image token count per example is {counts.tolist()} but the model produces {n} image features; "
                f"the processor must insert exactly num_query_tokens={n} image tokens (id {token_id}) per image"
            )
        expand = mask.unsqueeze(-1).expand_as(text_embeds)
        embeds = text_embeds.masked_scatter(expand, features.reshape(-1))
        if labels is not None and causal and labels.shape == input_ids.shape:
            labels = labels.masked_fill(mask, IGNORE_INDEX)
        return embeds, attention_mask, labels, "expanded"
    embeds = torch.cat([features, text_embeds], dim=1)
    if attention_mask is not None:
        attention_mask = torch.cat(
            [torch.ones(batch, n, dtype=attention_mask.dtype, device=attention_mask.device), attention_mask], dim=1
        )
    return embeds, attention_mask, labels, "legacy"


def causal_lm_loss(logits, labels, num_items_in_batch=None):
    """Next-token loss on the last ``labels.size(1)`` positions (what the stock models do).

    Mean over label tokens, or their sum divided by ``num_items_in_batch`` when given
    (gradient accumulation, as Trainer passes it).
    """
    import torch.nn.functional as F

    logits = logits[:, -labels.size(1):, :]
    shift_logits = logits[:, :-1, :].float().reshape(-1, logits.size(-1))
    shift_labels = labels[:, 1:].reshape(-1).to(logits.device)
    return _reduce(F.cross_entropy(shift_logits, shift_labels, ignore_index=IGNORE_INDEX, reduction="sum"),
                   shift_labels, num_items_in_batch)


def seq2seq_loss(logits, labels, num_items_in_batch=None):
    import torch.nn.functional as F

    flat_labels = labels.reshape(-1).to(logits.device)
    total = F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), flat_labels, ignore_index=IGNORE_INDEX,
                            reduction="sum")
    return _reduce(total, flat_labels, num_items_in_batch)


def _reduce(total, flat_labels, num_items_in_batch):
    if num_items_in_batch is not None:
        return total / num_items_in_batch
    return total / (flat_labels != IGNORE_INDEX).sum()  # 0/0 = NaN when all are masked, as stock


def run_language_model(lm: LanguageModel, embeds, attention_mask, labels=None, num_items_in_batch=None,
                       decoder_input_ids=None, decoder_attention_mask=None, **common: Any):
    """Call the language model with ``inputs_embeds`` only; returns ``(outputs, logits, loss)``.

    Causal LMs: logits over every position (the head applied separately for layouts with a
    bare decoder) and :func:`causal_lm_loss`. Encoder-decoder LMs: the LM's own loss, or
    :func:`seq2seq_loss` when ``num_items_in_batch`` is given.
    """
    common.update(inputs_embeds=embeds, attention_mask=attention_mask, return_dict=True)
    if not lm.is_encoder_decoder:
        outputs = call_supported(lm.module, **common)
        logits = outputs.logits if lm.head is None else lm.head(outputs[0])
        loss = None if labels is None else causal_lm_loss(logits, labels, num_items_in_batch)
        return outputs, logits, loss
    outputs = call_supported(lm.module, decoder_input_ids=decoder_input_ids,
                             decoder_attention_mask=decoder_attention_mask, labels=labels, **common)
    loss = None
    if labels is not None:
        loss = outputs.loss if num_items_in_batch is None else seq2seq_loss(outputs.logits, labels, num_items_in_batch)
    return outputs, outputs.logits, loss


def pop_injected(kwargs: dict[str, Any], *names: str) -> None:
    """Drop arguments PEFT's task-type wrappers inject as None (``decoder_inputs_embeds`` ...)."""
    for name in names:
        if name in kwargs and kwargs[name] is None:
            del kwargs[name]


def output_class(model: Any, name: str):
    """The ``ModelOutput`` class ``name`` from the module of the model's class (or a base class)."""
    for cls in type(model).__mro__:
        out = getattr(sys.modules.get(cls.__module__), name, None)
        if out is not None:
            return out
    raise ForwardInputError(f"{type(model).__name__}'s module has no {name}")

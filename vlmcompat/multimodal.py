"""Pieces every patched VLM forward shares: finding the language model by feature, calling
modules with only the arguments they accept, merging image features into text embeddings
(prepend or scatter), and the language-model losses.

Nothing here depends on a transformers version: everything is detected on the objects.
"""

from __future__ import annotations

import functools
import inspect
from dataclasses import dataclass
from typing import Any, Callable

from vlmcompat.errors import ForwardInputError

IGNORE_INDEX = -100


@functools.lru_cache(maxsize=256)
def _signature(fn: Callable[..., Any]) -> tuple[frozenset[str], bool]:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return frozenset(), True
    names = frozenset(params)
    var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    return names, var_kw


def accepts(fn: Callable[..., Any], name: str) -> bool:
    """Whether ``fn`` takes ``name`` as an explicit parameter."""
    return name in _signature(getattr(fn, "__func__", fn))[0]


def call_supported(module: Any, **kwargs: Any) -> Any:
    """Call ``module`` with the keyword arguments its forward accepts.

    Arguments the forward does not name are dropped when they are None or False (defaults),
    passed on when it has ``**kwargs``, and otherwise dropped too.
    """
    forward = type(module).forward if hasattr(type(module), "forward") else module
    names, var_kw = _signature(forward)
    call = {}
    for key, value in kwargs.items():
        if key in names or (var_kw and value is not None and value is not False):
            call[key] = value
    return module(**call)


@dataclass
class LanguageModel:
    module: Any  # the language model (with its head, or the bare decoder when ``head`` is set)
    head: Any | None  # a separate LM head (newer LLaVA layout), else None
    is_encoder_decoder: bool

    def embed(self, input_ids):
        return self.module.get_input_embeddings()(input_ids)


def _search_language_model(model: Any) -> tuple[str, LanguageModel]:
    """The model's language model, found by feature rather than by attribute path.

    Looks for the sub-module whose config is the model's ``text_config`` (or has its model
    type), preferring one that has an output embedding (an LM head).
    """
    text_config = getattr(model.config, "text_config", None)
    text_type = getattr(text_config, "model_type", None)
    best = None
    for name, module in model.named_modules():
        if module is model or name.count(".") > 2:
            continue
        config = getattr(module, "config", None)
        if config is None or not hasattr(module, "get_input_embeddings"):
            continue
        if config is not text_config and getattr(config, "model_type", None) != text_type:
            continue
        try:
            has_head = module.get_output_embeddings() is not None
        except (AttributeError, NotImplementedError):
            has_head = False
        if has_head:
            return name, LanguageModel(module, None, bool(getattr(config, "is_encoder_decoder", False)))
        if best is None:
            best, best_name = module, name
    if best is None:
        raise ForwardInputError(
            f"{type(model).__name__} has no sub-module configured as its text model ({text_type}); "
            "vlmcompat cannot find its language model"
        )
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return best_name, LanguageModel(best, head, bool(getattr(best.config, "is_encoder_decoder", False)))


_CACHE_ATTR = "_vlmcompat_language_model"


def find_language_model(model: Any) -> LanguageModel:
    """The model's language model, found by feature rather than by attribute path.

    Looks for the sub-module whose config is the model's ``text_config`` (or has its model
    type), preferring one that has an output embedding (an LM head). The answer is cached on the
    model and checked on every call (the cached path must still lead to the same module), so a
    forward pays one attribute walk, not a search of every module.
    """
    cached = model.__dict__.get(_CACHE_ATTR)
    if cached is not None:
        name, lm = cached
        try:
            if model.get_submodule(name) is lm.module:
                return lm
        except AttributeError:
            pass
    name, lm = _search_language_model(model)
    model.__dict__[_CACHE_ATTR] = (name, lm)
    return lm


def image_token_id(config: Any) -> int | None:
    for attr in ("image_token_id", "image_token_index"):
        value = getattr(config, attr, None)
        if value is not None:
            return int(value)
    return None


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
    import sys

    for cls in type(model).__mro__:
        out = getattr(sys.modules.get(cls.__module__), name, None)
        if out is not None:
            return out
    raise ForwardInputError(f"{type(model).__name__}'s module has no {name}")


# Measured with a tiny LLaMA on every minor 4.31-4.43: GenerationMixin.generate(inputs_embeds=...) on a
# decoder-only LM returns BOS, then the new tokens, through 4.37, and only the new tokens from 4.38.
EMBEDS_GENERATE_NEW_ONLY_SINCE = "4.38"


def generate_from_embeds(lm: LanguageModel, embeds, attention_mask, **generate_kwargs):
    """``lm.module.generate(inputs_embeds=...)`` returning, for a decoder-only LM, only the new
    tokens on every release (older releases put the BOS they start from in front)."""
    from vlmcompat import versions

    outputs = lm.module.generate(inputs_embeds=embeds, attention_mask=attention_mask, **generate_kwargs)
    if not lm.is_encoder_decoder and not versions.transformers_at_least(EMBEDS_GENERATE_NEW_ONLY_SINCE):
        sequences = outputs.sequences if hasattr(outputs, "sequences") else outputs
        sequences = sequences[:, 1:]
        if hasattr(outputs, "sequences"):
            outputs.sequences = sequences
        else:
            outputs = sequences
    return outputs


def generate_prepended(model, features, input_ids=None, attention_mask=None, **generate_kwargs):
    """Generate with the image features prepended to the prompt (the legacy path, for configs
    without an image token id). Decoder-only LMs return the prompt, then the new tokens, as the
    stock legacy path of 4.47-4.54 did; encoder-decoder LMs return the decoder's tokens."""
    import torch

    lm = find_language_model(model)
    if input_ids is None:
        bos = model.config.text_config.bos_token_id
        input_ids = torch.full((features.shape[0], 1), bos if bos is not None else 0, dtype=torch.long,
                               device=features.device)
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    embeds, attn, _, _ = merge_image_features(lm.embed(input_ids), attention_mask, features, input_ids, None)
    outputs = generate_from_embeds(lm, embeds, attn, **generate_kwargs)
    if not lm.is_encoder_decoder:
        outputs = torch.cat([input_ids, outputs], dim=-1)
    return outputs

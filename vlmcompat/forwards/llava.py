"""The version-aware LLaVA forward: both input formats on every release that has LLaVA.

Vision tower (hidden states of ``vision_feature_layer``, CLS dropped for the "default"
strategy) → multi-modal projector → merge → language model, found by feature (the
``LlamaForCausalLM`` at ``model.language_model`` before 4.52, the bare decoder at
``model.model.language_model`` plus ``model.lm_head`` from 4.52, BC properties gone in 5.0).
The merge takes either format:

- one ``<image>`` token per example (legacy; the model expanded it in 4.36-4.47, it is
  rejected from 4.48): the token is replaced by the patch features, the attention mask and
  labels (``-100``) grow with it, as the stock legacy path did (4.36 did not grow the labels);
- one token per patch feature (processor-expanded, >= 4.45 processors): scattered in place,
  out of place in autograd terms, like the stock model from 4.45.

PEFT's injected ``inputs_embeds=None`` and Trainer's ``num_items_in_batch`` are accepted.
"""

from __future__ import annotations

from typing import Any

from vlmcompat.errors import ForwardInputError
from vlmcompat.forwards.language_model import call_supported, find_language_model, image_token_id
from vlmcompat.forwards.merge import IGNORE_INDEX, merge_image_features, output_class, run_language_model


def _part(model, name):
    """``model.<name>`` on every layout: directly (< 4.52) or under ``model.model`` (>= 4.52)."""
    inner = model._modules.get("model")
    if inner is not None and name in inner._modules:
        return inner._modules[name]
    return getattr(model, name)


def image_features(model, pixel_values, vision_feature_layer=None, vision_feature_select_strategy=None):
    """Patch features ``(batch, patches, hidden)`` projected into the LM's embedding space."""
    import torch

    config = model.config
    layer = vision_feature_layer if vision_feature_layer is not None else config.vision_feature_layer
    strategy = vision_feature_select_strategy or config.vision_feature_select_strategy
    tower = _part(model, "vision_tower")
    if torch.is_grad_enabled() and not pixel_values.requires_grad \
            and any(p.requires_grad for p in tower.parameters()):
        # LoRA in the vision tower: a reentrant gradient checkpoint whose input needs no grad gives
        # its parameters no gradient (reentrant-checkpoint-no-grad); a grad-requiring view fixes that
        pixel_values = pixel_values.detach().requires_grad_(True)
    outputs = call_supported(tower, pixel_values=pixel_values, output_hidden_states=True, return_dict=True)
    layers = [layer] if isinstance(layer, int) else list(layer)
    selected = [outputs.hidden_states[i] for i in layers]
    if strategy == "default":
        selected = [hs[:, 1:] for hs in selected]
    elif strategy != "full":
        raise ForwardInputError(f"unknown vision_feature_select_strategy {strategy!r}; use 'default' or 'full'")
    return _part(model, "multi_modal_projector")(torch.cat(selected, dim=-1))


def expand_single_image_token(text_embeds, attention_mask, labels, input_ids, features, token_id):
    """Replace the one image token of each example by its features (the legacy, model-side expansion)."""
    import torch

    positions = (input_ids == token_id).nonzero()
    _batch, n, _ = features.shape
    embeds, masks, new_labels = [], [], []
    for row, col in positions.tolist():
        embeds.append(torch.cat([text_embeds[row, :col], features[row], text_embeds[row, col + 1:]]))
        image_mask = attention_mask.new_ones(n)
        masks.append(torch.cat([attention_mask[row, :col], image_mask, attention_mask[row, col + 1:]]))
        if labels is not None:
            ignored = labels.new_full((n,), IGNORE_INDEX)
            new_labels.append(torch.cat([labels[row, :col], ignored, labels[row, col + 1:]]))
    return (torch.stack(embeds), torch.stack(masks), torch.stack(new_labels) if labels is not None else None)


def merge(text_embeds, attention_mask, labels, input_ids, features, token_id):
    """Either format; returns ``(embeds, attention_mask, labels, mode)``."""
    counts = (input_ids == token_id).sum(dim=1)
    n = features.shape[1]
    if bool((counts == 1).all()) and n != 1:
        embeds, mask, labels = expand_single_image_token(text_embeds, attention_mask, labels, input_ids,
                                                         features.to(text_embeds.dtype), token_id)
        return embeds, mask, labels, "legacy"
    if not bool((counts == n).all()):
        raise ForwardInputError(
            f"image tokens per example are {counts.tolist()}; LLaVA needs one <image> token (id {token_id}) per "
            f"image, or {n} (one per patch feature, as processors from transformers 4.45 write them)")
    return merge_image_features(text_embeds, attention_mask, features, input_ids, token_id, labels)


def _grow_to_cache(attention_mask, past_key_values, new_tokens):
    """The caller's mask counts one position for the legacy <image> token; the cache holds the
    expanded sequence. The missing positions are the image features (attended): prepend ones."""
    import torch

    if hasattr(past_key_values, "get_seq_length"):
        past = int(past_key_values.get_seq_length())
    else:
        past = int(past_key_values[0][0].shape[-2])
    missing = past + new_tokens - attention_mask.shape[1]
    if missing <= 0:
        return attention_mask
    return torch.cat([attention_mask.new_ones(attention_mask.shape[0], missing), attention_mask], dim=1)


def forward(self, input_ids=None, pixel_values=None, attention_mask=None, position_ids=None, past_key_values=None,
            inputs_embeds=None, vision_feature_layer=None, vision_feature_select_strategy=None, labels=None,
            use_cache=None, output_attentions=None, output_hidden_states=None, return_dict=None, **kwargs: Any):
    import torch

    num_items_in_batch = kwargs.pop("num_items_in_batch", None)
    if inputs_embeds is not None and input_ids is not None:
        raise ForwardInputError(
            "got both input_ids and inputs_embeds; pass one of them (PEFT's inputs_embeds=None is fine)")
    lm = find_language_model(self)
    text_embeds = inputs_embeds if inputs_embeds is not None else lm.embed(input_ids)
    if attention_mask is None:
        attention_mask = torch.ones(text_embeds.shape[:2], dtype=torch.long, device=text_embeds.device)
    if pixel_values is not None and past_key_values is not None and input_ids is not None \
            and not bool((input_ids == image_token_id(self.config)).any()):
        # a decoding step of generate() that re-sends the image (4.36-4.47): already in the cache
        pixel_values = None
        attention_mask = _grow_to_cache(attention_mask, past_key_values, input_ids.shape[1])
    if pixel_values is not None:
        if input_ids is None:
            raise ForwardInputError("LLaVA needs input_ids with <image> tokens to place the image features")
        features = image_features(self, pixel_values, vision_feature_layer, vision_feature_select_strategy)
        text_embeds, attention_mask, labels, _mode = merge(
            text_embeds, attention_mask, labels, input_ids, features, image_token_id(self.config))
        position_ids = None  # the sequence may have grown; the LM derives positions itself
    elif past_key_values is not None and attention_mask is not None and input_ids is not None:
        attention_mask = _grow_to_cache(attention_mask, past_key_values, input_ids.shape[1])
    outputs, logits, loss = run_language_model(
        lm, text_embeds, attention_mask, labels, num_items_in_batch, position_ids=position_ids,
        past_key_values=past_key_values, use_cache=use_cache, output_attentions=output_attentions,
        output_hidden_states=output_hidden_states, **kwargs)
    result = output_class(self, "LlavaCausalLMOutputWithPast")(
        loss=loss, logits=logits, past_key_values=getattr(outputs, "past_key_values", None),
        hidden_states=getattr(outputs, "hidden_states", None), attentions=getattr(outputs, "attentions", None))
    use_dict = return_dict if return_dict is not None else getattr(self.config, "use_return_dict", True)
    return result if use_dict else result.to_tuple()

"""The version-aware InstructBLIP forward (and generate where the stock one needs image tokens).

One implementation for every transformers release that has InstructBLIP (4.31 → 5.x) and for
vlmcompat's backport (4.27-4.30): vision encoder → Q-Former (with the instruction) → language
projection → text embeddings → merge (prepend for legacy inputs, scatter for image-token-
expanded inputs) → language model called with ``inputs_embeds`` only. It fixes:

- ``inputs-embeds-unexpected`` / ``inputs-embeds-duplicate``: PEFT's injected
  ``inputs_embeds=None`` / ``decoder_inputs_embeds=None`` are accepted and dropped; a caller
  passing real ``inputs_embeds`` *and* ``input_ids`` gets a clear error;
- ``image-token-expansion``: both input formats work whatever the config says;
- arguments the language model does not accept (e.g. Trainer's ``num_items_in_batch`` for a
  T5 without ``**kwargs``) are consumed here: the loss honours ``num_items_in_batch``.
"""

from __future__ import annotations

from typing import Any

from vlmcompat.errors import ForwardInputError
from vlmcompat.multimodal import (
    call_supported,
    causal_lm_loss,
    find_language_model,
    generate_prepended,
    image_token_id,
    merge_image_features,
    seq2seq_loss,
)
from vlmcompat.patches import Patch, Plan, forward_plan

CLASS_NAME = "InstructBlipForConditionalGeneration"


def image_features(model, pixel_values, qformer_input_ids, qformer_attention_mask=None,
                   interpolate_pos_encoding=False):
    """Vision encoder → Q-Former (queries + instruction) → language projection."""
    import torch

    vision_outputs = call_supported(model.vision_model, pixel_values=pixel_values, return_dict=True,
                                    interpolate_pos_encoding=interpolate_pos_encoding)
    image_embeds = vision_outputs[0]
    image_attention_mask = torch.ones(image_embeds.shape[:-1], dtype=torch.long, device=image_embeds.device)
    query_tokens = model.query_tokens.expand(image_embeds.shape[0], -1, -1)
    query_attention_mask = torch.ones(query_tokens.shape[:-1], dtype=torch.long, device=image_embeds.device)
    if qformer_input_ids is None:
        raise ForwardInputError("InstructBLIP needs qformer_input_ids (the instruction for the Q-Former); "
                                "pass what InstructBlipProcessor returns")
    if qformer_attention_mask is None:
        qformer_attention_mask = torch.ones_like(qformer_input_ids)
    qformer_attention_mask = torch.cat([query_attention_mask, qformer_attention_mask.to(query_attention_mask)], dim=1)
    query_outputs = call_supported(
        model.qformer, input_ids=qformer_input_ids, attention_mask=qformer_attention_mask, query_embeds=query_tokens,
        encoder_hidden_states=image_embeds, encoder_attention_mask=image_attention_mask, return_dict=True,
    )
    query_output = query_outputs[0][:, : query_tokens.size(1), :]
    return model.language_projection(query_output), vision_outputs, query_outputs


def _output_class(model):
    import sys

    module = sys.modules[type(model).__module__]
    for cls in type(model).__mro__:
        out = getattr(sys.modules.get(cls.__module__), "InstructBlipForConditionalGenerationModelOutput", None)
        if out is not None:
            return out
    return getattr(module, "InstructBlipForConditionalGenerationModelOutput")


def forward(self, pixel_values=None, qformer_input_ids=None, qformer_attention_mask=None, input_ids=None,
            attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None, output_attentions=None,
            output_hidden_states=None, labels=None, return_dict=None, interpolate_pos_encoding=False,
            use_cache=None, inputs_embeds=None, **kwargs: Any):
    for injected in ("decoder_inputs_embeds",):
        if kwargs.get(injected) is None:
            kwargs.pop(injected, None)
    num_items_in_batch = kwargs.pop("num_items_in_batch", None)
    if inputs_embeds is not None and input_ids is not None:
        raise ForwardInputError(
            "got both input_ids and inputs_embeds; pass one of them (PEFT's inputs_embeds=None is fine)"
        )
    if pixel_values is None:
        raise ForwardInputError("InstructBLIP's forward needs pixel_values; pass what the processor returns")
    features, vision_outputs, query_outputs = image_features(
        self, pixel_values, qformer_input_ids, qformer_attention_mask, interpolate_pos_encoding)
    lm = find_language_model(self)
    text_embeds = inputs_embeds if inputs_embeds is not None else lm.embed(input_ids)
    if attention_mask is None:
        import torch

        attention_mask = torch.ones(text_embeds.shape[:2], dtype=torch.long, device=text_embeds.device)
    causal = not lm.is_encoder_decoder
    embeds, attention_mask, labels, _mode = merge_image_features(
        text_embeds, attention_mask, features, input_ids, image_token_id(self.config), labels, causal=causal)
    common = dict(inputs_embeds=embeds, attention_mask=attention_mask, output_attentions=output_attentions,
                  output_hidden_states=output_hidden_states, return_dict=True, use_cache=use_cache, **kwargs)
    if causal:
        outputs = call_supported(lm.module, **common)
        logits = outputs.logits if lm.head is None else lm.head(outputs[0])
        loss = None if labels is None else causal_lm_loss(logits, labels, num_items_in_batch)
    else:
        outputs = call_supported(lm.module, decoder_input_ids=decoder_input_ids,
                                 decoder_attention_mask=decoder_attention_mask, labels=labels, **common)
        logits = outputs.logits
        loss = None
        if labels is not None:
            loss = outputs.loss if num_items_in_batch is None else seq2seq_loss(logits, labels, num_items_in_batch)
    result = _output_class(self)(loss=loss, logits=logits, vision_outputs=vision_outputs,
                                 qformer_outputs=query_outputs, language_model_outputs=outputs)
    use_dict = return_dict if return_dict is not None else getattr(self.config, "use_return_dict", True)
    return result if use_dict else result.to_tuple()


def make_generate(original):
    """Stock generate, except for legacy configs (no image token id) where the stock one needs one."""

    def generate(self, pixel_values=None, qformer_input_ids=None, qformer_attention_mask=None, input_ids=None,
                 attention_mask=None, interpolate_pos_encoding=False, **generate_kwargs):
        if image_token_id(self.config) is not None:
            return original(self, pixel_values=pixel_values, qformer_input_ids=qformer_input_ids,
                            qformer_attention_mask=qformer_attention_mask, input_ids=input_ids,
                            attention_mask=attention_mask, interpolate_pos_encoding=interpolate_pos_encoding,
                            **generate_kwargs)
        features, _, _ = image_features(self, pixel_values, qformer_input_ids, qformer_attention_mask,
                                        interpolate_pos_encoding)
        return generate_prepended(self, features, input_ids, attention_mask, **generate_kwargs)

    generate.__wrapped__ = original
    return generate


def _plan() -> Plan:
    return forward_plan(CLASS_NAME, forward, make_generate)



PATCH = Patch(
    name="instructblip_forward",
    summary="version-aware InstructBLIP forward/generate: PEFT inputs_embeds, both image-token formats",
    fixes=("inputs-embeds-unexpected", "inputs-embeds-duplicate", "image-token-expansion", "legacy-loss-shape"),
    plan=_plan,
)

"""The version-aware BLIP-2 forward (and generate where the stock one needs image tokens).

The InstructBLIP patch's structure without the instruction: vision encoder → Q-Former
(learned queries only) → language projection → text embeddings → merge (prepend for legacy
inputs, scatter for image-token-expanded inputs) → language model (OPT or Flan-T5) called with
``inputs_embeds`` only. One implementation for transformers 4.27 → 5.x. It fixes:

- ``inputs-embeds-unexpected`` (4.27-4.51) / ``inputs-embeds-duplicate`` (4.52-4.53): PEFT's
  injected ``inputs_embeds=None`` / ``decoder_inputs_embeds=None`` are accepted and dropped;
- ``image-token-expansion``: both input formats work whatever the config says (4.27-4.44
  treat expanded inputs as text; >= 4.55 reject legacy ones);
- Trainer's ``num_items_in_batch`` is consumed here (T5 4.52-4.57 has no ``**kwargs``).
"""

from __future__ import annotations

from typing import Any

from vlmcompat.errors import ForwardInputError
from vlmcompat.multimodal import (
    call_supported,
    find_language_model,
    generate_prepended,
    image_token_id,
    merge_image_features,
    output_class,
    pop_injected,
    run_language_model,
)
from vlmcompat.patches import Patch, Plan, forward_plan

CLASS_NAME = "Blip2ForConditionalGeneration"


def image_features(model, pixel_values, interpolate_pos_encoding=False):
    """Vision encoder → Q-Former (queries only) → language projection."""
    import torch

    vision_outputs = call_supported(model.vision_model, pixel_values=pixel_values, return_dict=True,
                                    interpolate_pos_encoding=interpolate_pos_encoding)
    image_embeds = vision_outputs[0]
    image_attention_mask = torch.ones(image_embeds.shape[:-1], dtype=torch.long, device=image_embeds.device)
    query_tokens = model.query_tokens.expand(image_embeds.shape[0], -1, -1)
    query_outputs = call_supported(model.qformer, query_embeds=query_tokens, encoder_hidden_states=image_embeds,
                                   encoder_attention_mask=image_attention_mask, return_dict=True)
    query_output = query_outputs[0]
    if query_output.dtype != image_embeds.dtype:
        query_output = query_output.to(image_embeds.dtype)
    return model.language_projection(query_output), vision_outputs, query_outputs


def forward(self, pixel_values=None, input_ids=None, attention_mask=None, decoder_input_ids=None,
            decoder_attention_mask=None, output_attentions=None, output_hidden_states=None, labels=None,
            return_dict=None, interpolate_pos_encoding=False, use_cache=None, inputs_embeds=None, **kwargs: Any):
    pop_injected(kwargs, "decoder_inputs_embeds")
    num_items_in_batch = kwargs.pop("num_items_in_batch", None)
    if inputs_embeds is not None and input_ids is not None:
        raise ForwardInputError(
            "got both input_ids and inputs_embeds; pass one of them (PEFT's inputs_embeds=None is fine)")
    if pixel_values is None:
        raise ForwardInputError("BLIP-2's forward needs pixel_values; pass what the processor returns")
    features, vision_outputs, query_outputs = image_features(self, pixel_values, interpolate_pos_encoding)
    lm = find_language_model(self)
    text_embeds = inputs_embeds if inputs_embeds is not None else lm.embed(input_ids)
    if attention_mask is None:
        import torch

        attention_mask = torch.ones(text_embeds.shape[:2], dtype=torch.long, device=text_embeds.device)
    embeds, attention_mask, labels, _mode = merge_image_features(
        text_embeds, attention_mask, features, input_ids, image_token_id(self.config), labels,
        causal=not lm.is_encoder_decoder)
    outputs, logits, loss = run_language_model(
        lm, embeds, attention_mask, labels, num_items_in_batch, decoder_input_ids, decoder_attention_mask,
        output_attentions=output_attentions, output_hidden_states=output_hidden_states, use_cache=use_cache,
        **kwargs)
    result = output_class(self, "Blip2ForConditionalGenerationModelOutput")(
        loss=loss, logits=logits, vision_outputs=vision_outputs, qformer_outputs=query_outputs,
        language_model_outputs=outputs)
    use_dict = return_dict if return_dict is not None else getattr(self.config, "use_return_dict", True)
    return result if use_dict else result.to_tuple()


def make_generate(original):
    """Stock generate, except for legacy configs (no image token id) where the stock one needs one."""

    def generate(self, pixel_values=None, input_ids=None, attention_mask=None, interpolate_pos_encoding=False,
                 **generate_kwargs):
        if image_token_id(self.config) is not None:
            return original(self, pixel_values=pixel_values, input_ids=input_ids, attention_mask=attention_mask,
                            interpolate_pos_encoding=interpolate_pos_encoding, **generate_kwargs)
        features, _, _ = image_features(self, pixel_values, interpolate_pos_encoding)
        return generate_prepended(self, features, input_ids, attention_mask, **generate_kwargs)

    generate.__wrapped__ = original
    return generate


def _plan() -> Plan:
    return forward_plan(CLASS_NAME, forward, make_generate)



PATCH = Patch(
    name="blip2_forward",
    summary="version-aware BLIP-2 forward/generate: PEFT inputs_embeds, both image-token formats",
    fixes=("inputs-embeds-unexpected", "inputs-embeds-duplicate", "image-token-expansion"),
    plan=_plan,
)

"""The version-aware BLIP-2 and InstructBLIP forward and generate: one implementation for every
transformers release that has the class (BLIP-2 4.27 → 5.x, InstructBLIP 4.31 → 5.x) and for
vlmcompat's InstructBLIP backport (4.27-4.30).

vision encoder → Q-Former (learned queries; InstructBLIP adds the instruction) → language
projection → text embeddings → merge (prepend for legacy inputs, scatter for image-token-expanded
inputs) → language model (OPT, LLaMA or Flan-T5) called with ``inputs_embeds`` only. It fixes:

- ``inputs-embeds-unexpected`` (4.27-4.51) / ``inputs-embeds-duplicate`` (4.52-4.53): PEFT's
  injected ``inputs_embeds=None`` / ``decoder_inputs_embeds=None`` are accepted and dropped; a
  caller passing real ``inputs_embeds`` *and* ``input_ids`` gets a clear error;
- ``image-token-expansion``: both input formats work whatever the config says (4.27-4.44 treat
  expanded inputs as text; >= 4.55 reject legacy ones); ``legacy-loss-shape``: causal logits are
  sliced to the labels before the loss; ``inplace-image-scatter``: the scatter is out of place;
- ``num-items-in-batch-unexpected``: Trainer's ``num_items_in_batch`` is consumed here (the loss
  is the summed loss over that count), not handed to a T5 without ``**kwargs``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from vlmcompat.errors import ForwardInputError
from vlmcompat.forwards.generation import generate_prepended
from vlmcompat.forwards.language_model import call_supported, find_language_model, image_token_id
from vlmcompat.forwards.merge import merge_image_features, output_class, pop_injected, run_language_model

BLIP2_OUTPUT = "Blip2ForConditionalGenerationModelOutput"
INSTRUCTBLIP_OUTPUT = "InstructBlipForConditionalGenerationModelOutput"


def _vision(model, pixel_values, interpolate_pos_encoding=False):
    import torch

    if pixel_values is None:
        raise ForwardInputError(f"{type(model).__name__} needs pixel_values; pass what the processor returns")
    vision_outputs = call_supported(model.vision_model, pixel_values=pixel_values, return_dict=True,
                                    interpolate_pos_encoding=interpolate_pos_encoding)
    image_embeds = vision_outputs[0]
    image_attention_mask = torch.ones(image_embeds.shape[:-1], dtype=torch.long, device=image_embeds.device)
    return vision_outputs, image_embeds, image_attention_mask, model.query_tokens.expand(image_embeds.shape[0], -1, -1)


def blip2_features(model, pixel_values, interpolate_pos_encoding=False):
    """Vision encoder → Q-Former (queries only) → language projection."""
    vision_outputs, image_embeds, image_mask, query_tokens = _vision(model, pixel_values, interpolate_pos_encoding)
    query_outputs = call_supported(model.qformer, query_embeds=query_tokens, encoder_hidden_states=image_embeds,
                                   encoder_attention_mask=image_mask, return_dict=True)
    query_output = query_outputs[0]
    if query_output.dtype != image_embeds.dtype:
        query_output = query_output.to(image_embeds.dtype)
    return model.language_projection(query_output), vision_outputs, query_outputs


def instructblip_features(model, pixel_values, qformer_input_ids=None, qformer_attention_mask=None,
                          interpolate_pos_encoding=False):
    """Vision encoder → Q-Former (queries + instruction) → language projection."""
    import torch

    vision_outputs, image_embeds, image_mask, query_tokens = _vision(model, pixel_values, interpolate_pos_encoding)
    if qformer_input_ids is None:
        raise ForwardInputError("InstructBLIP needs qformer_input_ids (the instruction for the Q-Former); "
                                "pass what InstructBlipProcessor returns")
    if qformer_attention_mask is None:
        qformer_attention_mask = torch.ones_like(qformer_input_ids)
    query_mask = torch.ones(query_tokens.shape[:-1], dtype=torch.long, device=image_embeds.device)
    qformer_attention_mask = torch.cat([query_mask, qformer_attention_mask.to(query_mask)], dim=1)
    query_outputs = call_supported(
        model.qformer, input_ids=qformer_input_ids, attention_mask=qformer_attention_mask, query_embeds=query_tokens,
        encoder_hidden_states=image_embeds, encoder_attention_mask=image_mask, return_dict=True,
    )
    query_output = query_outputs[0][:, : query_tokens.size(1), :]
    return model.language_projection(query_output), vision_outputs, query_outputs


def _forward(self, output_name: str, image: tuple, input_ids, attention_mask, decoder_input_ids,
             decoder_attention_mask, output_attentions, output_hidden_states, labels, return_dict, use_cache,
             inputs_embeds, kwargs: dict[str, Any]):
    """Everything after the image features, shared by BLIP-2 and InstructBLIP."""
    import torch

    pop_injected(kwargs, "decoder_inputs_embeds")
    num_items_in_batch = kwargs.pop("num_items_in_batch", None)
    features, vision_outputs, query_outputs = image
    lm = find_language_model(self)
    text_embeds = inputs_embeds if inputs_embeds is not None else lm.embed(input_ids)
    if attention_mask is None:
        attention_mask = torch.ones(text_embeds.shape[:2], dtype=torch.long, device=text_embeds.device)
    embeds, attention_mask, labels, _mode = merge_image_features(
        text_embeds, attention_mask, features, input_ids, image_token_id(self.config), labels,
        causal=not lm.is_encoder_decoder)
    outputs, logits, loss = run_language_model(
        lm, embeds, attention_mask, labels, num_items_in_batch, decoder_input_ids, decoder_attention_mask,
        output_attentions=output_attentions, output_hidden_states=output_hidden_states, use_cache=use_cache,
        **kwargs)
    result = output_class(self, output_name)(loss=loss, logits=logits, vision_outputs=vision_outputs,
                                             qformer_outputs=query_outputs, language_model_outputs=outputs)
    use_dict = return_dict if return_dict is not None else getattr(self.config, "use_return_dict", True)
    return result if use_dict else result.to_tuple()


def _refuse_both(input_ids, inputs_embeds) -> None:
    if inputs_embeds is not None and input_ids is not None:
        raise ForwardInputError(
            "got both input_ids and inputs_embeds; pass one of them (PEFT's inputs_embeds=None is fine)")


def blip2_forward(self, pixel_values=None, input_ids=None, attention_mask=None, decoder_input_ids=None,
                  decoder_attention_mask=None, output_attentions=None, output_hidden_states=None, labels=None,
                  return_dict=None, interpolate_pos_encoding=False, use_cache=None, inputs_embeds=None,
                  **kwargs: Any):
    _refuse_both(input_ids, inputs_embeds)
    image = blip2_features(self, pixel_values, interpolate_pos_encoding)
    return _forward(self, BLIP2_OUTPUT, image, input_ids, attention_mask, decoder_input_ids, decoder_attention_mask,
                    output_attentions, output_hidden_states, labels, return_dict, use_cache, inputs_embeds, kwargs)


def instructblip_forward(self, pixel_values=None, qformer_input_ids=None, qformer_attention_mask=None,
                         input_ids=None, attention_mask=None, decoder_input_ids=None, decoder_attention_mask=None,
                         output_attentions=None, output_hidden_states=None, labels=None, return_dict=None,
                         interpolate_pos_encoding=False, use_cache=None, inputs_embeds=None, **kwargs: Any):
    _refuse_both(input_ids, inputs_embeds)
    image = instructblip_features(self, pixel_values, qformer_input_ids, qformer_attention_mask,
                                  interpolate_pos_encoding)
    return _forward(self, INSTRUCTBLIP_OUTPUT, image, input_ids, attention_mask, decoder_input_ids,
                    decoder_attention_mask, output_attentions, output_hidden_states, labels, return_dict, use_cache,
                    inputs_embeds, kwargs)


BLIP2_GENERATE_PARAMS = ("pixel_values", "input_ids", "attention_mask", "interpolate_pos_encoding")
INSTRUCTBLIP_GENERATE_PARAMS = ("pixel_values", "qformer_input_ids", "qformer_attention_mask", "input_ids",
                                "attention_mask", "interpolate_pos_encoding")


def make_generate(features: Callable[..., tuple], params: tuple[str, ...]) -> Callable[[Any], Callable[..., Any]]:
    """A ``Replacement.make`` for ``generate``: the stock one, except for legacy configs (no image
    token id), where the stock one (>= 4.55) needs one; those get the prepended-features path.
    ``params`` are the stock generate's parameters (so positional calls keep working)."""
    image_params = [p for p in params if p not in ("input_ids", "attention_mask")]

    def factory(original):
        def generate(self, *args, **kwargs):
            kwargs.update(zip(params, args))
            if image_token_id(self.config) is not None:
                return original(self, **kwargs)
            image = {name: kwargs.pop(name) for name in image_params if name in kwargs}
            feats, _, _ = features(self, **image)
            return generate_prepended(self, feats, kwargs.pop("input_ids", None), kwargs.pop("attention_mask", None),
                                      **kwargs)

        generate.__wrapped__ = original
        return generate

    return factory


make_blip2_generate = make_generate(blip2_features, BLIP2_GENERATE_PARAMS)
make_instructblip_generate = make_generate(instructblip_features, INSTRUCTBLIP_GENERATE_PARAMS)

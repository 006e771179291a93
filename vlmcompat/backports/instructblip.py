"""InstructBLIP for transformers releases that lack it (4.27-4.30), loadable from stock checkpoints.

Built on what those releases have: BLIP-2's vision model (``Blip2VisionModel``, the same
architecture and parameter names), the language model from ``AutoModelForSeq2SeqLM`` /
``AutoModelForCausalLM`` (T5, LLaMA, OPT, ...), and vlmcompat's instruction-aware Q-Former.
Parameter names and shapes are transformers 4.31's, so ``save_pretrained`` folders move both
ways between this class and the stock one. The forward is vlmcompat's version-aware one
(legacy and image-token-expanded inputs, PEFT's ``inputs_embeds=None``), and ``generate`` its
legacy-path generate.

Importing this module registers the three InstructBLIP model types with ``AutoConfig`` where
transformers does not know them (never replacing a registered one). ``import vlmcompat.patch``
makes ``from transformers import InstructBlipForConditionalGeneration`` resolve here.
"""

from __future__ import annotations

import torch
from torch import nn
from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM
from transformers.models.blip_2.modeling_blip_2 import Blip2VisionModel

from vlmcompat.backports.instructblip_base import (
    InstructBlipForConditionalGenerationModelOutput,
    InstructBlipPreTrainedModel,
)
from vlmcompat.backports.instructblip_config import (
    InstructBlipConfig,
    InstructBlipQFormerConfig,
    InstructBlipVisionConfig,
    register_auto_config,
)
from vlmcompat.backports.instructblip_qformer import InstructBlipQFormerModel
from vlmcompat.forwards.generation import generate_from_embeds
from vlmcompat.forwards.language_model import find_language_model, image_token_id
from vlmcompat.forwards.merge import merge_image_features
from vlmcompat.forwards.qformer import instructblip_features, instructblip_forward, make_instructblip_generate

__all__ = [
    "InstructBlipConfig",
    "InstructBlipForConditionalGeneration",
    "InstructBlipForConditionalGenerationModelOutput",
    "InstructBlipPreTrainedModel",
    "InstructBlipQFormerConfig",
    "InstructBlipQFormerModel",
    "InstructBlipVisionConfig",
    "InstructBlipVisionModel",
]


class InstructBlipVisionModel(Blip2VisionModel):
    """BLIP-2's vision encoder (InstructBLIP's is the same network) under InstructBLIP's config."""

    config_class = InstructBlipVisionConfig


def _generate_with_image_tokens(self, pixel_values=None, qformer_input_ids=None, qformer_attention_mask=None,
                                input_ids=None, attention_mask=None, interpolate_pos_encoding=False,
                                **generate_kwargs):
    """Generate for configs that name an image token: features scattered into the image-token slots."""
    features, _, _ = instructblip_features(self, pixel_values, qformer_input_ids, qformer_attention_mask)
    lm = find_language_model(self)
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    embeds, attn, _, _ = merge_image_features(lm.embed(input_ids), attention_mask, features, input_ids,
                                              image_token_id(self.config))
    outputs = generate_from_embeds(lm, embeds, attn, **generate_kwargs)
    if not lm.is_encoder_decoder:
        outputs = torch.cat([input_ids, outputs], dim=-1)
    return outputs


class InstructBlipForConditionalGeneration(InstructBlipPreTrainedModel):
    config_class = InstructBlipConfig
    main_input_name = "pixel_values"

    def __init__(self, config: InstructBlipConfig):
        super().__init__(config)
        self._no_split_modules = list(self._no_split_modules)
        self._keep_in_fp32_modules = list(self._keep_in_fp32_modules)

        self.vision_model = InstructBlipVisionModel(config.vision_config)
        self.query_tokens = nn.Parameter(torch.zeros(1, config.num_query_tokens, config.qformer_config.hidden_size))
        self.qformer = InstructBlipQFormerModel(config.qformer_config)
        self.language_projection = nn.Linear(config.qformer_config.hidden_size, config.text_config.hidden_size)
        if config.use_decoder_only_language_model:
            language_model = AutoModelForCausalLM.from_config(config.text_config)
        else:
            language_model = AutoModelForSeq2SeqLM.from_config(config.text_config)
        for attr in ("_no_split_modules", "_keep_in_fp32_modules"):
            extra = getattr(language_model, attr, None)
            if extra:
                getattr(self, attr).extend(extra)
        self.language_model = language_model
        self.post_init()

    def get_input_embeddings(self):
        return self.language_model.get_input_embeddings()

    def set_input_embeddings(self, value):
        self.language_model.set_input_embeddings(value)

    def set_output_embeddings(self, new_embeddings):
        self.language_model.set_output_embeddings(new_embeddings)

    def get_output_embeddings(self) -> nn.Module:
        return self.language_model.get_output_embeddings()

    def get_encoder(self):
        return self.language_model.get_encoder()

    def get_decoder(self):
        return self.language_model.get_decoder()

    def _tie_weights(self):
        if not self.config.use_decoder_only_language_model:
            self.language_model.encoder.embed_tokens = self.language_model.shared
            self.language_model.decoder.embed_tokens = self.language_model.shared

    forward = instructblip_forward
    generate = torch.no_grad()(make_instructblip_generate(_generate_with_image_tokens))


register_auto_config()

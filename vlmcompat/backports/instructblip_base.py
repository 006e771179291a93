"""The base class every backported InstructBLIP model shares, and the model's output class.

As in transformers 4.31: ``base_model_prefix`` "blip", BLIP-2's weight initialisation (the
vision embeddings from BLIP-2's vision model, which the backport reuses), gradient
checkpointing support.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedModel
from transformers.models.blip_2.modeling_blip_2 import Blip2VisionEmbeddings
from transformers.utils import ModelOutput

from vlmcompat.backports.instructblip_config import InstructBlipConfig


@dataclass
class InstructBlipForConditionalGenerationModelOutput(ModelOutput):
    """Loss, logits, and the vision, Q-Former and language-model outputs."""

    loss: tuple[torch.FloatTensor] | None = None
    logits: tuple[torch.FloatTensor] | None = None
    vision_outputs: torch.FloatTensor | None = None
    qformer_outputs: tuple[torch.FloatTensor] | None = None
    language_model_outputs: tuple[torch.FloatTensor] | None = None

    def to_tuple(self) -> tuple[Any]:
        return tuple(
            self[k] if k not in ("vision_outputs", "qformer_outputs", "language_model_outputs")
            else getattr(self, k).to_tuple()
            for k in self.keys()
        )


class InstructBlipPreTrainedModel(PreTrainedModel):
    config_class = InstructBlipConfig
    base_model_prefix = "blip"
    supports_gradient_checkpointing = True
    _no_split_modules = ["Blip2Attention", "Blip2QFormerMultiHeadAttention"]
    _keep_in_fp32_modules: list[str] = []

    def _init_weights(self, module):
        factor = self.config.initializer_range
        if isinstance(module, (nn.Conv2d, nn.Embedding, nn.Linear)):
            module.weight.data.normal_(mean=0.0, std=factor)
            if getattr(module, "bias", None) is not None:
                module.bias.data.zero_()
        if isinstance(module, Blip2VisionEmbeddings):
            if hasattr(self.config, "vision_config"):
                factor = self.config.vision_config.initializer_range
            nn.init.trunc_normal_(module.position_embedding, mean=0.0, std=factor)
            nn.init.trunc_normal_(module.class_embedding, mean=0.0, std=factor)
        elif isinstance(module, nn.LayerNorm):
            module.bias.data.zero_()
            module.weight.data.fill_(1.0)

    def _set_gradient_checkpointing(self, module, value=False):
        # the vision encoder, and the language model's stack (T5Stack, LlamaModel, ...) as well
        if hasattr(module, "gradient_checkpointing"):
            module.gradient_checkpointing = value

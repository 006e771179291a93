"""``TinyLlavaForConditionalGeneration`` and its config: a TinyLLaVA-style composition (the
TinyLLaVA Factory recipe) assembled from the transformers classes the installed release has —
vision tower (SigLIP where transformers has it, 4.37+, else CLIP) → ``mlp2x_gelu`` connector →
causal LM — merged as TinyLLaVA's ``prepare_inputs_labels_for_multimodal`` does (see
:mod:`vlmcompat.tiny.tinyllava` for the input formats and the tiny sizes).

This module imports torch and transformers; :mod:`vlmcompat.tiny.tinyllava` imports it only when
a model is built, so importing vlmcompat never does.
"""

from __future__ import annotations

from typing import Any

import torch
import transformers
from torch import nn
from transformers.modeling_outputs import CausalLMOutputWithPast

from vlmcompat.errors import ForwardInputError
from vlmcompat.forwards.generation import generate_from_embeds
from vlmcompat.forwards.language_model import LanguageModel, call_supported
from vlmcompat.forwards.merge import IGNORE_INDEX, causal_lm_loss

IMAGE_TOKEN_INDEX = -200  # TinyLLaVA's placeholder id in input_ids
# model_type -> (config class, model class); the first one the installed transformers has is used.
VISION_TOWERS = {"siglip_vision_model": ("SiglipVisionConfig", "SiglipVisionModel"),
                 "clip_vision_model": ("CLIPVisionConfig", "CLIPVisionModel")}
LANGUAGE_MODELS = {"llama": ("LlamaConfig", "LlamaForCausalLM")}


def vision_tower_type() -> str:
    """``siglip_vision_model`` where transformers has SigLIP (4.37+), else ``clip_vision_model``."""
    for model_type, (_, model_class) in VISION_TOWERS.items():
        if hasattr(transformers, model_class):
            return model_type
    raise ImportError(f"transformers {transformers.__version__} has neither SiglipVisionModel nor CLIPVisionModel")


def _sub_config(value: Any, table: dict[str, tuple[str, str]], default_type: str):
    """A sub-config object from a dict (its ``model_type`` picks the class), or as given."""
    if value is not None and not isinstance(value, dict):
        return value
    value = dict(value or {})
    model_type = value.pop("model_type", default_type)
    return getattr(transformers, table[model_type][0])(**value)


class TinyLlavaConfig(transformers.PretrainedConfig):
    model_type = "tinyllava"

    def __init__(self, vision_config=None, text_config=None, image_token_index=IMAGE_TOKEN_INDEX,
                 connector_type="mlp2x_gelu", vision_feature_layer=-2, **kwargs):
        super().__init__(**kwargs)
        self.vision_config = _sub_config(vision_config, VISION_TOWERS, vision_tower_type())
        self.text_config = _sub_config(text_config, LANGUAGE_MODELS, "llama")
        self.image_token_index = image_token_index
        self.connector_type = connector_type
        self.vision_feature_layer = vision_feature_layer
        self.pad_token_id = self.text_config.pad_token_id

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        for key in ("vision_config", "text_config"):
            if hasattr(getattr(self, key, None), "to_dict"):
                out[key] = getattr(self, key).to_dict()
        return out


def merge_row(ids, embeds, labels, features, token_id: int, row: int):
    """One example's real tokens with its image placeholder(s) replaced by ``features``.

    One placeholder: spliced in (the sequence grows by ``n - 1``); ``n`` placeholders: scattered
    (out of place, so an embedding output that requires grad is never written in place).
    Labels become ``-100`` at every image position.
    """
    import torch

    mask = ids == token_id
    count, n = int(mask.sum()), features.shape[0]
    if count == n:
        embeds = embeds.masked_scatter(mask.unsqueeze(-1).expand_as(embeds), features)
        return embeds, None if labels is None else labels.masked_fill(mask, IGNORE_INDEX)
    if count == 1:
        col = int(mask.nonzero()[0, 0])
        embeds = torch.cat([embeds[:col], features, embeds[col + 1:]])
        if labels is not None:
            labels = torch.cat([labels[:col], labels.new_full((n,), IGNORE_INDEX), labels[col + 1:]])
        return embeds, labels
    raise ForwardInputError(
        f"example {row} has {count} image placeholders (id {token_id}); TinyLLaVA needs 1 per image (expanded in "
        f"the model) or {n} (one per patch feature)")


def pad_rows(rows: list, labels: list | None, padding_side: str):
    """Stack variable-length rows: ``(embeds, attention_mask, position_ids, labels)``.

    Position ids count each row's real tokens from 0 (padding gets 0), as TinyLLaVA builds them.
    """
    import torch

    longest = max(r.shape[0] for r in rows)
    first = rows[0]
    embeds = first.new_zeros((len(rows), longest, first.shape[-1]))
    attention = torch.zeros((len(rows), longest), dtype=torch.long, device=first.device)
    positions = torch.zeros_like(attention)
    new_labels = None if labels is None else torch.full_like(attention, IGNORE_INDEX)
    for i, row in enumerate(rows):
        length = row.shape[0]
        span = slice(0, length) if padding_side == "right" else slice(longest - length, longest)
        embeds[i, span] = row
        attention[i, span] = 1
        positions[i, span] = torch.arange(length, device=first.device)
        if new_labels is not None:
            new_labels[i, span] = labels[i]
    return embeds, attention, positions, new_labels


class TinyLlavaForConditionalGeneration(nn.Module):
    """TinyLLaVA: ``vision_tower``, ``connector`` (mlp2x_gelu), ``language_model``."""

    config_class = TinyLlavaConfig
    base_model_prefix = ""  # as PreTrainedModel's default: transformers' weight-conversion lookup reads it

    def __init__(self, config):
        super().__init__()
        self.config = config
        vision, text = config.vision_config, config.text_config
        self.vision_tower = getattr(transformers, VISION_TOWERS[vision.model_type][1])(vision)
        if config.connector_type != "mlp2x_gelu":
            raise ValueError(f"unknown connector_type {config.connector_type!r}; this model has mlp2x_gelu")
        self.connector = nn.Sequential(nn.Linear(vision.hidden_size, text.hidden_size), nn.GELU(),
                                       nn.Linear(text.hidden_size, text.hidden_size))
        self.language_model = getattr(transformers, LANGUAGE_MODELS[text.model_type][1])(text)

    # -- what PEFT, generation and training utilities look for ---------------------------
    def get_input_embeddings(self):
        return self.language_model.get_input_embeddings()

    def get_output_embeddings(self):
        return self.language_model.get_output_embeddings()

    def prepare_inputs_for_generation(self, *args, **kwargs):
        return self.language_model.prepare_inputs_for_generation(*args, **kwargs)

    @property
    def generation_config(self):
        return self.language_model.generation_config

    @generation_config.setter
    def generation_config(self, value):  # PEFT's generate() hands it back
        self.language_model.generation_config = value

    @property
    def is_gradient_checkpointing(self) -> bool:
        return bool(getattr(self.language_model, "is_gradient_checkpointing", False))

    def gradient_checkpointing_enable(self, **kwargs):
        return self.language_model.gradient_checkpointing_enable(**kwargs)

    def enable_input_require_grads(self):
        return self.language_model.enable_input_require_grads()

    # -- the recipe --------------------------------------------------------------------------
    def image_features(self, pixel_values):
        """Penultimate-layer patch features (CLS dropped for CLIP), projected by the connector."""
        outputs = call_supported(self.vision_tower, pixel_values=pixel_values.to(self.vision_tower.dtype),
                                 output_hidden_states=True, return_dict=True)
        hidden = outputs.hidden_states[self.config.vision_feature_layer]
        if self.config.vision_config.model_type == "clip_vision_model":
            hidden = hidden[:, 1:]
        return self.connector(hidden)

    def prepare_inputs_labels_for_multimodal(self, input_ids, pixel_values, attention_mask=None, labels=None,
                                             padding_side: str = "right"):
        """``(inputs_embeds, attention_mask, position_ids, labels)`` with the image features merged."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        token_id = self.config.image_token_index
        placeholders = input_ids == token_id
        text = self.get_input_embeddings()(input_ids.masked_fill(placeholders, 0))
        features = None
        if pixel_values is not None:
            features = self.image_features(pixel_values).to(text.dtype)
        elif bool(placeholders.any()):
            raise ForwardInputError(f"input_ids hold image placeholders (id {token_id}) but no pixel_values")
        rows, new_labels = [], None if labels is None else []
        for i in range(input_ids.shape[0]):
            real = attention_mask[i].bool()
            row_labels = None if labels is None else labels[i][real]
            row = text[i][real]
            if features is not None:
                row, row_labels = merge_row(input_ids[i][real], row, row_labels, features[i], token_id, i)
            rows.append(row)
            if new_labels is not None:
                new_labels.append(row_labels)
        return pad_rows(rows, new_labels, padding_side)

    def forward(self, pixel_values=None, input_ids=None, attention_mask=None, labels=None, position_ids=None,
                inputs_embeds=None, past_key_values=None, use_cache=None, output_attentions=None,
                output_hidden_states=None, return_dict=None, num_items_in_batch=None, **kwargs: Any):
        if inputs_embeds is not None and input_ids is not None:
            raise ForwardInputError("got both input_ids and inputs_embeds; pass one of them "
                                    "(PEFT's inputs_embeds=None is fine)")
        if inputs_embeds is None:
            if input_ids is None:
                raise ForwardInputError("TinyLLaVA needs input_ids (with image placeholders) or inputs_embeds")
            inputs_embeds, attention_mask, position_ids, labels = self.prepare_inputs_labels_for_multimodal(
                input_ids, pixel_values, attention_mask, labels)
        outputs = call_supported(self.language_model, inputs_embeds=inputs_embeds, attention_mask=attention_mask,
                                 position_ids=position_ids, past_key_values=past_key_values,
                                 use_cache=use_cache, output_attentions=output_attentions,
                                 output_hidden_states=output_hidden_states, return_dict=True, **kwargs)
        loss = None if labels is None else causal_lm_loss(outputs.logits, labels, num_items_in_batch)
        result = CausalLMOutputWithPast(
            loss=loss, logits=outputs.logits, past_key_values=getattr(outputs, "past_key_values", None),
            hidden_states=getattr(outputs, "hidden_states", None), attentions=getattr(outputs, "attentions", None))
        return result if return_dict is not False else result.to_tuple()

    @torch.no_grad()
    def generate(self, pixel_values=None, input_ids=None, attention_mask=None, max_new_tokens: int = 20,
                 **kwargs: Any):
        """New tokens only: the LM generates from the merged embeddings (padded left)."""
        inputs_embeds, attention_mask, _, _ = self.prepare_inputs_labels_for_multimodal(
            input_ids, pixel_values, attention_mask, padding_side="left")
        kwargs.setdefault("pad_token_id", self.config.text_config.pad_token_id)
        lm = LanguageModel(self.language_model, None, False)
        return generate_from_embeds(lm, inputs_embeds, attention_mask, max_new_tokens=max_new_tokens, **kwargs)

    # -- a plain save/load, enough for tiny models ------------------------------------------
    def save_pretrained(self, save_directory, **_: Any):
        from pathlib import Path

        out = Path(save_directory)
        out.mkdir(parents=True, exist_ok=True)
        self.config.to_json_file(str(out / "config.json"))
        torch.save(self.state_dict(), out / "pytorch_model.bin")

    @classmethod
    def from_pretrained(cls, directory):
        from pathlib import Path

        config = cls.config_class.from_json_file(str(Path(directory) / "config.json"))
        model = cls(config)
        model.load_state_dict(torch.load(Path(directory) / "pytorch_model.bin", map_location="cpu"))
        return model.eval()

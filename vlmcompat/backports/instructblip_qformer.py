"""InstructBLIP's instruction-aware Q-Former, built on the BLIP-2 Q-Former of transformers 4.27-4.30.

What differs from BLIP-2's Q-Former (and is reproduced here with transformers 4.31's parameter
names): the embeddings hold word + position embeddings and a LayerNorm (BLIP-2 has only the
LayerNorm, at model level), the instruction ``input_ids`` are embedded and concatenated after
the query embeddings, and every layer has the text feed-forward (``intermediate``/``output``)
next to the query one. Attention, cross-attention and the layer/encoder forwards are BLIP-2's,
unchanged between the two models.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from transformers.modeling_outputs import BaseModelOutputWithPoolingAndCrossAttentions
from transformers.models.blip_2.modeling_blip_2 import (
    Blip2QFormerEncoder,
    Blip2QFormerIntermediate,
    Blip2QFormerLayer,
    Blip2QFormerOutput,
)

from vlmcompat.backports.instructblip_base import InstructBlipPreTrainedModel

# The stock layer's sub-module order (state dicts and named_parameters() list them in this order).
_LAYER_ORDER = ("attention", "crossattention", "intermediate", "output", "intermediate_query", "output_query")


class InstructBlipQFormerEmbeddings(nn.Module):
    """Word and position embeddings of the instruction, after the query embeddings, then LayerNorm."""

    def __init__(self, config):
        super().__init__()
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(config.max_position_embeddings, config.hidden_size)
        self.layernorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)
        self.register_buffer(
            "position_ids", torch.arange(config.max_position_embeddings).expand((1, -1)), persistent=False
        )
        self.position_embedding_type = getattr(config, "position_embedding_type", "absolute")
        self.config = config

    def forward(self, input_ids=None, position_ids=None, query_embeds=None, past_key_values_length=0):
        seq_length = input_ids.size()[1] if input_ids is not None else 0
        if position_ids is None:
            position_ids = self.position_ids[:, past_key_values_length: seq_length + past_key_values_length].clone()
        if input_ids is not None:
            embeddings = self.word_embeddings(input_ids)
            if self.position_embedding_type == "absolute":
                embeddings = embeddings + self.position_embeddings(position_ids.to(embeddings.device))
            if query_embeds is not None:
                embeddings = torch.cat((query_embeds, embeddings), dim=1)
        else:
            embeddings = query_embeds
        return self.dropout(self.layernorm(embeddings))


class InstructBlipQFormerLayer(Blip2QFormerLayer):
    """BLIP-2's layer plus the feed-forward for the instruction tokens."""

    def __init__(self, config, layer_idx):
        super().__init__(config, layer_idx)
        self.intermediate = Blip2QFormerIntermediate(config)
        self.output = Blip2QFormerOutput(config)
        self._modules = OrderedDict((name, self._modules[name]) for name in _LAYER_ORDER if name in self._modules)


class InstructBlipQFormerEncoder(Blip2QFormerEncoder):
    """BLIP-2's encoder forward over InstructBLIP layers."""

    def __init__(self, config):
        nn.Module.__init__(self)
        self.config = config
        self.layer = nn.ModuleList([InstructBlipQFormerLayer(config, i) for i in range(config.num_hidden_layers)])
        self.gradient_checkpointing = False


class InstructBlipQFormerModel(InstructBlipPreTrainedModel):
    """Querying Transformer that also reads the instruction (transformers 4.31's parameter names)."""

    def __init__(self, config):
        super().__init__(config)
        self.config = config
        self.embeddings = InstructBlipQFormerEmbeddings(config)
        self.encoder = InstructBlipQFormerEncoder(config)
        self.post_init()

    def get_input_embeddings(self):
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value):
        self.embeddings.word_embeddings = value

    def _prune_heads(self, heads_to_prune):
        for layer, heads in heads_to_prune.items():
            self.encoder.layer[layer].attention.prune_heads(heads)

    def get_extended_attention_mask(self, attention_mask, input_shape, device=None, has_query=False):
        if attention_mask.dim() == 3:
            extended = attention_mask[:, None, :, :]
        elif attention_mask.dim() == 2:
            extended = attention_mask[:, None, None, :]
        else:
            raise ValueError(f"Wrong shape for input_ids (shape {input_shape}) or attention_mask "
                             f"(shape {attention_mask.shape})")
        extended = extended.to(dtype=self.dtype)
        return (1.0 - extended) * -10000.0

    def forward(self, input_ids, attention_mask=None, position_ids=None, query_embeds=None, head_mask=None,
                encoder_hidden_states=None, encoder_attention_mask=None, past_key_values=None, use_cache=None,
                output_attentions=None, output_hidden_states=None, return_dict=None):
        config = self.config
        output_attentions = output_attentions if output_attentions is not None else config.output_attentions
        output_hidden_states = (output_hidden_states if output_hidden_states is not None
                                else config.output_hidden_states)
        return_dict = return_dict if return_dict is not None else config.use_return_dict
        if input_ids is None and query_embeds is None:
            raise ValueError("You have to specify query_embeds when input_ids is None")
        past_length = past_key_values[0][0].shape[2] - config.query_length if past_key_values is not None else 0
        query_length = query_embeds.shape[1] if query_embeds is not None else 0
        embedding_output = self.embeddings(input_ids=input_ids, position_ids=position_ids,
                                           query_embeds=query_embeds, past_key_values_length=past_length)
        input_shape = embedding_output.size()[:-1]
        batch_size, seq_length = input_shape
        device = embedding_output.device
        if attention_mask is None:
            attention_mask = torch.ones((batch_size, seq_length + past_length), device=device)
        extended_attention_mask = self.get_extended_attention_mask(attention_mask, input_shape, device)

        encoder_extended_attention_mask = None
        if encoder_hidden_states is not None:
            first = encoder_hidden_states[0] if isinstance(encoder_hidden_states, list) else encoder_hidden_states
            if isinstance(encoder_attention_mask, list):
                encoder_extended_attention_mask = [self.invert_attention_mask(m) for m in encoder_attention_mask]
            else:
                if encoder_attention_mask is None:
                    encoder_attention_mask = torch.ones(first.size()[:2], device=device)
                encoder_extended_attention_mask = self.invert_attention_mask(encoder_attention_mask)
        head_mask = self.get_head_mask(head_mask, config.num_hidden_layers)

        encoder_outputs = self.encoder(
            embedding_output, attention_mask=extended_attention_mask, head_mask=head_mask,
            encoder_hidden_states=encoder_hidden_states, encoder_attention_mask=encoder_extended_attention_mask,
            past_key_values=past_key_values, use_cache=use_cache, output_attentions=output_attentions,
            output_hidden_states=output_hidden_states, return_dict=return_dict, query_length=query_length,
        )
        sequence_output = encoder_outputs[0]
        pooled_output = sequence_output[:, 0, :]
        if not return_dict:
            return (sequence_output, pooled_output) + encoder_outputs[1:]
        return BaseModelOutputWithPoolingAndCrossAttentions(
            last_hidden_state=sequence_output, pooler_output=pooled_output,
            past_key_values=encoder_outputs.past_key_values, hidden_states=encoder_outputs.hidden_states,
            attentions=encoder_outputs.attentions, cross_attentions=encoder_outputs.cross_attentions,
        )

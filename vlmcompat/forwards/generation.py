"""Generation from merged embeddings: the same new-token layout on every release, and the
legacy (prepend) path for checkpoints whose config names no image token.
"""

from __future__ import annotations

from vlmcompat import versions
from vlmcompat.forwards.language_model import LanguageModel, find_language_model
from vlmcompat.forwards.merge import merge_image_features

# Measured with a tiny LLaMA on every minor 4.31-4.43: GenerationMixin.generate(inputs_embeds=...) on a
# decoder-only LM returns BOS, then the new tokens, through 4.37, and only the new tokens from 4.38.
EMBEDS_GENERATE_NEW_ONLY_SINCE = "4.38"


def generate_from_embeds(lm: LanguageModel, embeds, attention_mask, **generate_kwargs):
    """``lm.module.generate(inputs_embeds=...)`` returning, for a decoder-only LM, only the new
    tokens on every release (older releases put the BOS they start from in front)."""
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

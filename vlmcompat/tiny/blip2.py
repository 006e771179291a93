"""Tiny, seeded BLIP-2 models (OPT and Flan-T5 language models) and the batches their
processors produce, built from shrunken real configs (real sizes in the comments:
blip2-opt-2.7b and blip2-flan-t5-xl).

BLIP-2 is InstructBLIP without the instruction: the Q-Former sees only the learned queries
and the image. The vision, Q-Former and Flan-T5 configs and both input formats are the
InstructBLIP ones (see :mod:`vlmcompat.tiny.instructblip`):

- ``legacy``: text-only ``input_ids``, the model prepends the query embeddings
  (transformers 4.27-4.44 processors; no ``image_token_index`` in the config);
- ``expanded``: ``num_query_tokens`` image tokens in front of the text, the config names
  the token id (transformers >= 4.45 processors).
"""

from __future__ import annotations

from typing import Any

from vlmcompat.tiny import instructblip

NUM_QUERY_TOKENS = instructblip.NUM_QUERY_TOKENS
IMAGE_TOKEN_ID = instructblip.IMAGE_TOKEN_ID
OPT = dict(
    model_type="opt",
    architectures=["OPTForCausalLM"],
    vocab_size=instructblip.TEXT_VOCAB,  # 50272
    hidden_size=32,  # 2560
    word_embed_proj_dim=32,  # 2560
    ffn_dim=64,  # 10240
    num_hidden_layers=2,  # 32
    num_attention_heads=4,  # 32
    max_position_embeddings=128,  # 2048
    pad_token_id=1,
    bos_token_id=2,
    eos_token_id=2,
)
TEXT_CONFIGS = {"opt": OPT, "t5": instructblip.T5}
# the LLaMA layout of the causal batch (bos first, pad ids) differs from OPT only in ids
_CAUSAL_IDS = dict(bos_token_id=OPT["bos_token_id"], pad_token_id=OPT["pad_token_id"])


def config_kwargs(lm: str, image_token: bool = False) -> dict[str, Any]:
    """Keyword arguments for ``Blip2Config``."""
    if lm not in TEXT_CONFIGS:
        raise ValueError(f"unknown language model {lm!r}; choose from {', '.join(TEXT_CONFIGS)}")
    qformer = dict(instructblip.QFORMER)
    kwargs: dict[str, Any] = dict(
        vision_config=dict(instructblip.VISION),
        qformer_config=qformer,
        text_config=dict(TEXT_CONFIGS[lm]),
        num_query_tokens=NUM_QUERY_TOKENS,
    )
    if image_token:
        kwargs["image_token_index"] = IMAGE_TOKEN_ID
    return kwargs


def build(lm: str, seed: int = 0, image_token: bool = False):
    """A random-initialised tiny BLIP-2 in eval mode, on CPU, float32."""
    import torch
    import transformers

    config = transformers.Blip2Config(**config_kwargs(lm, image_token))
    if not image_token:
        instructblip.drop_image_token_id(config)
    torch.manual_seed(seed)
    return transformers.Blip2ForConditionalGeneration(config).eval()


def make_batch(lm: str, expanded: bool, seed: int = 0, batch_size: int = 2) -> dict[str, Any]:
    """The InstructBLIP batch without the Q-Former instruction (OPT ids for the causal LM)."""
    import torch

    batch = instructblip.make_batch("t5" if lm == "t5" else "llama", expanded=expanded, seed=seed,
                                    batch_size=batch_size)
    batch.pop("qformer_input_ids")
    batch.pop("qformer_attention_mask")
    if lm == "opt":
        ids = batch["input_ids"]
        llama = instructblip.LLAMA
        remapped = ids.clone()
        remapped[ids == llama["bos_token_id"]] = _CAUSAL_IDS["bos_token_id"]
        remapped[(ids == llama["pad_token_id"]) & (batch["attention_mask"] == 0)] = _CAUSAL_IDS["pad_token_id"]
        batch["input_ids"] = remapped
        labels = batch["labels"]
        batch["labels"] = torch.where(labels == llama["bos_token_id"], torch.full_like(labels, OPT["bos_token_id"]),
                                      labels)
    return batch

"""Tiny, seeded InstructBLIP models (T5 and LLaMA language models) and the batches their
processors produce, built from shrunken real configs (the real size is in each comment:
instructblip-flan-t5-xl and instructblip-vicuna-7b).

Two input formats, because users run old checkpoints on new transformers and vice versa:

- ``legacy``: ``input_ids`` hold only text; the model prepends the query embeddings
  (transformers 4.31-4.44 processors; a config without ``image_token_index``);
- ``expanded``: the processor puts ``num_query_tokens`` image tokens in front of the text and
  the config names ``image_token_index`` (transformers >= 4.45 processors).
"""

from __future__ import annotations

from typing import Any

NUM_QUERY_TOKENS = 4  # 32
IMAGE_SIZE = 28  # 224
PATCH_SIZE = 14  # 14
TEXT_VOCAB = 128  # 32128 (flan-t5), 32001 (vicuna)
QFORMER_VOCAB = 96  # 30523
IMAGE_TOKEN_ID = TEXT_VOCAB - 1  # the processor's added "<image>" token sits at the end of the vocab

VISION = dict(
    hidden_size=32,  # 1408
    intermediate_size=64,  # 6144
    num_hidden_layers=2,  # 39
    num_attention_heads=4,  # 16
    image_size=IMAGE_SIZE,
    patch_size=PATCH_SIZE,
)
QFORMER = dict(
    hidden_size=32,  # 768
    intermediate_size=64,  # 3072
    num_hidden_layers=2,  # 12
    num_attention_heads=4,  # 12
    vocab_size=QFORMER_VOCAB,
    max_position_embeddings=64,  # 512
    cross_attention_frequency=1,  # 2
    encoder_hidden_size=32,  # 1408 (the vision width)
    pad_token_id=0,
)
T5 = dict(
    model_type="t5",
    architectures=["T5ForConditionalGeneration"],
    vocab_size=TEXT_VOCAB,
    d_model=32,  # 2048
    d_ff=64,  # 5120
    d_kv=8,  # 64
    num_layers=2,  # 24
    num_decoder_layers=2,  # 24
    num_heads=4,  # 32
    feed_forward_proj="gated-gelu",
    tie_word_embeddings=False,
    decoder_start_token_id=0,
    pad_token_id=0,
    eos_token_id=1,
)
LLAMA = dict(
    model_type="llama",
    architectures=["LlamaForCausalLM"],
    vocab_size=TEXT_VOCAB,
    hidden_size=32,  # 4096
    intermediate_size=64,  # 11008
    num_hidden_layers=2,  # 32
    num_attention_heads=4,  # 32
    num_key_value_heads=4,  # 32
    max_position_embeddings=128,  # 2048
    pad_token_id=0,
    bos_token_id=1,
    eos_token_id=2,
    tie_word_embeddings=False,
)
TEXT_CONFIGS = {"t5": T5, "llama": LLAMA}


def config_kwargs(lm: str, image_token: bool = False) -> dict[str, Any]:
    """Keyword arguments for ``InstructBlipConfig`` (stock or backport)."""
    if lm not in TEXT_CONFIGS:
        raise ValueError(f"unknown language model {lm!r}; choose from {', '.join(TEXT_CONFIGS)}")
    kwargs: dict[str, Any] = dict(
        vision_config=dict(VISION),
        qformer_config=dict(QFORMER),
        text_config=dict(TEXT_CONFIGS[lm]),
        num_query_tokens=NUM_QUERY_TOKENS,
    )
    if image_token:
        kwargs["image_token_index"] = IMAGE_TOKEN_ID
    return kwargs


def drop_image_token_id(config) -> None:
    """Make ``config`` look like a checkpoint saved before 4.45: no image token id at all."""
    for attr in ("image_token_index", "image_token_id"):
        try:
            setattr(config, attr, None)
        except AttributeError:
            pass


def build(lm: str, seed: int = 0, image_token: bool = False):
    """A random-initialised tiny InstructBLIP in eval mode, on CPU, float32."""
    import torch
    import transformers

    config_cls = transformers.InstructBlipConfig
    model_cls = transformers.InstructBlipForConditionalGeneration
    config = config_cls(**config_kwargs(lm, image_token))
    if not image_token:
        drop_image_token_id(config)
    torch.manual_seed(seed)
    model = model_cls(config)
    return model.eval()


def make_batch(lm: str, expanded: bool, seed: int = 0, batch_size: int = 2) -> dict[str, Any]:
    """What the processor produces (plus labels as a collator writes them), deterministic per seed.

    Example 0 is full length; example 1 is padded (right for LLaMA, like training collators).
    """
    import torch

    gen = torch.Generator().manual_seed(1000 + seed)
    prompt_len, answer_len = 5, 4
    pixel_values = torch.randn(batch_size, 3, IMAGE_SIZE, IMAGE_SIZE, generator=gen)
    qformer_input_ids = torch.randint(3, QFORMER_VOCAB, (batch_size, 6), generator=gen)
    qformer_attention_mask = torch.ones_like(qformer_input_ids)
    qformer_attention_mask[1, -2:] = 0

    def text(n: int) -> torch.Tensor:
        return torch.randint(3, IMAGE_TOKEN_ID, (batch_size, n), generator=gen)

    batch: dict[str, Any] = dict(pixel_values=pixel_values, qformer_input_ids=qformer_input_ids,
                                 qformer_attention_mask=qformer_attention_mask)
    image = torch.full((batch_size, NUM_QUERY_TOKENS), IMAGE_TOKEN_ID, dtype=torch.long)
    if lm == "t5":
        input_ids = text(prompt_len)
        input_ids[:, -1] = T5["eos_token_id"]
        attention_mask = torch.ones_like(input_ids)
        input_ids[1, -2:] = T5["pad_token_id"]
        attention_mask[1, -2:] = 0
        labels = text(answer_len)
        labels[:, -1] = T5["eos_token_id"]
        labels[1, -1] = -100  # padded target
        if expanded:
            input_ids = torch.cat([image, input_ids], dim=1)
            attention_mask = torch.cat([torch.ones_like(image), attention_mask], dim=1)
        batch.update(input_ids=input_ids, attention_mask=attention_mask, labels=labels)
        return batch
    # causal LM: prompt + answer in one sequence; labels -100 on the prompt, padding (and image tokens)
    seq = text(prompt_len + answer_len)
    seq[:, 0] = LLAMA["bos_token_id"]
    attention_mask = torch.ones_like(seq)
    seq[1, -2:] = LLAMA["pad_token_id"]
    attention_mask[1, -2:] = 0
    labels = seq.clone()
    labels[:, :prompt_len] = -100
    labels[attention_mask == 0] = -100
    if expanded:
        seq = torch.cat([image, seq], dim=1)
        attention_mask = torch.cat([torch.ones_like(image), attention_mask], dim=1)
        labels = torch.cat([torch.full_like(image, -100), labels], dim=1)
    batch.update(input_ids=seq, attention_mask=attention_mask, labels=labels)
    return batch

"""A TinyLLaVA-style composition (the TinyLLaVA Factory recipe) assembled from the transformers
classes the installed release has, and the batches its preprocessing produces.

- vision tower: ``SiglipVisionModel`` where transformers has it (4.37+), ``CLIPVisionModel``
  before; features are the penultimate hidden state, CLS dropped for CLIP, every patch for SigLIP;
- connector: ``mlp2x_gelu`` (Linear → GELU → Linear);
- language model: ``LlamaForCausalLM`` shaped like TinyLlama-1.1B, shrunk (real sizes in comments).

``input_ids`` carry TinyLLaVA's image placeholder ``IMAGE_TOKEN_INDEX = -200`` (outside the
vocabulary). Two formats, both accepted by
:class:`~vlmcompat.tiny.tinyllava_model.TinyLlavaForConditionalGeneration`:

- ``legacy``: one placeholder per example, expanded inside the model into the patch features
  (TinyLLaVA's ``prepare_inputs_labels_for_multimodal``);
- ``expanded``: one placeholder per patch feature; the features are scattered into them.

Labels are ``-100`` at image positions, sequences are re-padded right (left for ``generate``)
and position ids count the real tokens of each row. The model is vlmcompat's own class: its
``forward`` takes PEFT's injected ``inputs_embeds=None``, so it needs no patch.
"""

from __future__ import annotations

from typing import Any

from vlmcompat.tiny import batches

IMAGE_TOKEN_INDEX = -200  # TinyLLaVA's placeholder id in input_ids (tinyllava_model has the same)
IMAGE_SIZE = 28  # 384 (siglip-so400m-patch14-384), 336 (clip-vit-large-patch14-336)
PATCH_SIZE = 14  # 14
NUM_PATCHES = (IMAGE_SIZE // PATCH_SIZE) ** 2  # 729 (SigLIP), 576 (CLIP, CLS dropped)
TEXT_VOCAB = 128  # 32000
TINYLLAMA = dict(
    vocab_size=TEXT_VOCAB,
    hidden_size=32,  # 2048
    intermediate_size=88,  # 5632
    num_hidden_layers=2,  # 22
    num_attention_heads=4,  # 32
    num_key_value_heads=2,  # 4
    max_position_embeddings=128,  # 2048
    rms_norm_eps=1e-5,
    pad_token_id=0,  # TinyLLaVA pads with <unk>
    bos_token_id=1,
    eos_token_id=2,
    tie_word_embeddings=False,
)
VISION = dict(
    hidden_size=32,  # 1152 (SigLIP), 1024 (CLIP)
    intermediate_size=64,  # 4304, 4096
    num_hidden_layers=2,  # 27, 24
    num_attention_heads=4,  # 16, 16
    image_size=IMAGE_SIZE,
    patch_size=PATCH_SIZE,
)
# LoRA on the language model only: a bare "q_proj" would also match the vision tower's attention.
LORA_TARGETS = tuple(f"language_model.model.layers.{i}.self_attn.{proj}"
                     for i in range(TINYLLAMA["num_hidden_layers"]) for proj in ("q_proj", "v_proj"))


def describe_composition() -> str:
    """What the composition is built from here, e.g.
    ``TinyLlava(SiglipVisionModel + mlp2x_gelu + LlamaForCausalLM)``."""
    from vlmcompat.tiny import tinyllava_model

    vision = tinyllava_model.VISION_TOWERS[tinyllava_model.vision_tower_type()][1]
    return f"vlmcompat.tiny.tinyllava_model.TinyLlavaForConditionalGeneration({vision} + mlp2x_gelu + LlamaForCausalLM)"


def build(lm: str = "llama", seed: int = 0, image_token: bool = True):
    """A random-initialised tiny TinyLLaVA in eval mode; the config always names the placeholder."""
    import torch

    from vlmcompat.tiny import tinyllava_model

    if lm not in tinyllava_model.LANGUAGE_MODELS:
        raise ValueError(f"unknown language model {lm!r}; choose from {', '.join(tinyllava_model.LANGUAGE_MODELS)}")
    vision = dict(VISION, model_type=tinyllava_model.vision_tower_type())
    config = tinyllava_model.TinyLlavaConfig(vision_config=vision, text_config=dict(TINYLLAMA, model_type=lm))
    torch.manual_seed(seed)
    return tinyllava_model.TinyLlavaForConditionalGeneration(config).eval()


def make_batch(lm: str = "llama", expanded: bool = True, seed: int = 0, batch_size: int = 2) -> dict[str, Any]:
    """``<bos> <image>×k prompt answer <pad>...`` with labels on the answer only; padded right."""
    return batches.image_then_text(seed=3000 + seed, image_size=IMAGE_SIZE, image_token=IMAGE_TOKEN_INDEX,
                                   k=NUM_PATCHES if expanded else 1, bos=TINYLLAMA["bos_token_id"],
                                   pad=TINYLLAMA["pad_token_id"],
                                   vocab_end=TEXT_VOCAB, batch_size=batch_size)

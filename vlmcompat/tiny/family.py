"""What a tiny-model family is: a model class, its language-model kind, the first release that
ships it, and where its builder and batcher live (``vlmcompat.tiny.FAMILIES`` holds them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    name: str
    model_class: str  # the transformers class name
    lm_kind: str  # "seq2seq" | "causal"
    since: str  # first transformers release that ships model_class
    builder: str  # module:function building the model (lm, seed, image_token)
    batcher: str  # module:function building a batch (lm, expanded, seed)
    lm: str  # the builder's language-model argument
    lora_targets: tuple[str, ...]  # LoRA target modules in the language model
    peft_task_type: str  # the task type people use with get_peft_model
    extra_trainable: tuple[str, ...] = ()  # name parts of non-LoRA parameters the recipe also trains
    # whether a checkpoint/processor format without expanded image tokens exists (BLIP-2, InstructBLIP,
    # LLaVA before 4.45); the current VLMs' processors always expanded them
    legacy_format: bool = True
    # other transformers classes the tiny model is built from, with their first release
    # (InstructBLIP-LLaMA on 4.27-4.30, where vlmcompat's backport provides InstructBLIP: no LLaMA before 4.28)
    requires: tuple[tuple[str, str], ...] = ()

    @property
    def is_seq2seq(self) -> bool:
        return self.lm_kind == "seq2seq"

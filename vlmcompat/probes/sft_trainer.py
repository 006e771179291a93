"""``sft-trainer``: the trainer probe through TRL's ``SFTTrainer`` (causal families).

The TRL vision recipe: a dataset of chats with an image, a collator that applies the chat
template, runs the processor and sets labels to ``input_ids`` with padding and image tokens
masked (:class:`~vlmcompat.collators.ChatCollator`), ``skip_prepare_dataset``. The tiny
families have no hub processor, so a word-level tokenizer (with a chat template) is built over
the tiny vocabulary and the processor's output (image tokens expanded or not, as the installed
transformers' processors do; Q-Former ids for InstructBLIP) is built in code. Passes like
``trainer``: finite logged losses, lower eval-mode loss, adapter round trip.

The current VLMs (Qwen2-VL ... PaliGemma 2: no legacy format) go the pre-tokenized way instead:
a dataset of the processor's per-example outputs and the padding collator of the trainer probe
(:class:`~vlmcompat.collators.VisionLanguageCollator`), as their TRL recipes do after processing.

TRL renamed its arguments: ``SFTTrainer(tokenizer=)`` became ``processing_class=`` (0.12; the old
name refused from 0.16) and ``SFTConfig(max_seq_length=)`` became ``max_length`` (0.16; the old
name refused from 0.20). The probe passes each under the name the installed trl takes (read from
the signatures) and records which (``trl_arguments``).

Skips with a reason naming the library when trl is not installed, or when the installed trl
cannot be imported here (the import error is recorded).
"""

from __future__ import annotations

import tempfile
from typing import Any

from vlmcompat import known_issues, tiny, versions
from vlmcompat.collators import ChatCollator
from vlmcompat.forwards.language_model import image_token_id
from vlmcompat.parts import text_config
from vlmcompat.probes.base import Metrics, Probe, ProbeFailed, ProbeSkipped
from vlmcompat.probes.common import eval_loss, input_format, lora_model, processor_expands, require_class
from vlmcompat.probes.hf_trainer import BATCH_SIZE, supported_kwargs, train_and_check, training_arguments
from vlmcompat.results import Mode
from vlmcompat.tiny import instructblip as tiny_instructblip
from vlmcompat.tiny import llava as tiny_llava

CHAT_TEMPLATE = ("{{ bos_token }}{% for m in messages %}{{ m['role'] | upper }} {{ m['content'] }} {% endfor %}"
                 "{{ eos_token }}")
ROLES = ("USER", "ASSISTANT")
NUM_EXAMPLES = 4
MAX_LENGTH = 512  # longer than every tiny example: the limit is passed, nothing is cut
RENAMES = {"processing_class": ("processing_class", "tokenizer"), "max_length": ("max_length", "max_seq_length")}


def import_trl():
    """``(SFTTrainer, SFTConfig)``, or skip saying why trl cannot be used here."""
    if versions.installed("trl") is None:
        raise ProbeSkipped("trl is not installed in this environment")
    try:
        from trl import SFTConfig, SFTTrainer
    except Exception as exc:  # RuntimeError wrapping ImportError, AttributeError on mismatched stacks
        cause = exc.__cause__ or exc
        known = known_issues.environment_issue(f"{type(exc).__name__}: {exc}\n{type(cause).__name__}: {cause}")
        if known:  # a known break of the environment under trl (pyarrow against numpy ...), not a version skip
            raise ProbeFailed(known, f"{versions.describe('trl')} cannot be imported here: "
                              f"{type(cause).__name__}: {cause}") from None
        raise ProbeSkipped(f"{versions.describe('trl')} cannot be imported with {versions.describe('transformers')}: "
                           f"{type(cause).__name__}: {str(cause).splitlines()[0] if str(cause) else ''}") from None
    return SFTTrainer, SFTConfig


def tiny_tokenizer(text_config, image_id: int | None = None):
    """A fast word-level tokenizer over the tiny vocabulary, with the family's special ids and a
    chat template; token ``i`` is ``w<i>`` unless it is special (``image_id``: ``<image>``, by default
    the BLIP/LLaVA families' id)."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from tokenizers.pre_tokenizers import WhitespaceSplit
    from transformers import PreTrainedTokenizerFast

    names = {i: f"w{i}" for i in range(text_config.vocab_size)}
    names[text_config.pad_token_id] = "<pad>"
    names[text_config.eos_token_id] = "</s>"
    bos = "</s>" if text_config.bos_token_id == text_config.eos_token_id else "<s>"
    names[text_config.bos_token_id] = bos
    names[tiny_instructblip.IMAGE_TOKEN_ID if image_id is None else image_id] = "<image>"
    free = [i for i in range(3, text_config.vocab_size) if names[i].startswith("w")]
    for role, i in zip(ROLES, free):
        names[i] = role
    model = WordLevel({name: i for i, name in names.items()}, unk_token="<pad>")
    backend = Tokenizer(model)
    backend.pre_tokenizer = WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", bos_token=bos, eos_token="</s>",
                                  unk_token="<pad>", padding_side="right")
    tok.chat_template = CHAT_TEMPLATE
    return tok


def tiny_processor(tokenizer, config, expanded: bool):
    """What the family's processor returns for ``(texts, images)``: the one ``<image>`` in each text
    becomes k image tokens (expanded), stays one (LLaVA legacy) or goes (BLIP legacy, the model prepends)."""
    import torch

    from vlmcompat.collators import _pad

    image_id = tiny_instructblip.IMAGE_TOKEN_ID
    is_blip = hasattr(config, "num_query_tokens")
    k = config.num_query_tokens if is_blip else tiny_llava.NUM_PATCHES
    copies = k if expanded else (0 if is_blip else 1)
    qformer_vocab = config.qformer_config.vocab_size if hasattr(config, "qformer_config") else None

    def process(texts: list[str], images: list[Any]) -> dict[str, Any]:
        rows, qrows = [], []
        for text in texts:
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            out = []
            for i in ids:
                out.extend([image_id] * copies if i == image_id else [i])
            rows.append(torch.tensor(out, dtype=torch.long))
            if qformer_vocab is not None:  # the instruction in the Q-Former's own vocabulary
                qids = [3 + i % (qformer_vocab - 3) for i in ids if i != image_id]
                qrows.append(torch.tensor(qids, dtype=torch.long))
        batch = {"input_ids": _pad(rows, tokenizer.pad_token_id),
                 "attention_mask": _pad([torch.ones_like(r) for r in rows], 0),
                 "pixel_values": torch.stack(images)}
        if qrows:
            batch["qformer_input_ids"] = _pad(qrows, 0)
            batch["qformer_attention_mask"] = _pad([torch.ones_like(r) for r in qrows], 0)
        return batch

    return process


def chat_examples(family: str, expanded: bool, tokenizer) -> list[dict[str, Any]]:
    """Four chats ("<image> question" → answer) with the tiny batches' images, answers of two lengths.

    The image sits under ``pixel_values``: trl 0.24 treats an ``images`` key as a request for its own
    vision collator and then demands a hub ``ProcessorMixin``; the collator here replaces that one."""
    import torch

    gen = torch.Generator().manual_seed(3000)
    vocab = tokenizer.get_vocab()
    words = sorted((t for t in vocab if t.startswith("w")), key=vocab.get)
    examples = []
    for seed in range(NUM_EXAMPLES // 2):
        pixels = tiny.make_batch(family, expanded, seed)["pixel_values"]
        for i, image in enumerate(pixels):
            pick = torch.randint(0, len(words), (4 + 3 - i,), generator=gen).tolist()
            question, answer = " ".join(words[j] for j in pick[:3]), " ".join(words[j] for j in pick[3:])
            examples.append({"messages": [{"role": "user", "content": f"<image> {question}"},
                                          {"role": "assistant", "content": answer}], "pixel_values": image})
    return examples


def as_dataset(examples: list[dict[str, Any]]):
    """A ``datasets.Dataset`` (newer trl accept nothing else) whose images come back as tensors;
    the plain list where ``datasets`` is not installed (older trl take any sequence)."""
    try:
        import datasets
    except ImportError:
        return examples
    rows = [{**e, "pixel_values": e["pixel_values"].tolist()} for e in examples]
    dataset = datasets.Dataset.from_list(rows)
    dataset.set_format("torch", columns=["pixel_values"], output_all_columns=True)
    return dataset


def pretokenized_dataset(examples: list[dict[str, Any]]):
    """The processor's per-example outputs as a ``datasets.Dataset`` returning tensors (the list
    where ``datasets`` is not installed)."""
    try:
        import datasets
    except ImportError:
        return examples
    dataset = datasets.Dataset.from_list([{k: v.tolist() for k, v in e.items()} for e in examples])
    dataset.set_format("torch")
    return dataset


def _chat_setup(family: str, model, expanded: bool):
    """``(tokenizer, dataset, collator, fixed batch)`` for the families trained from chats."""
    config = model.config if hasattr(model.config, "text_config") else model.get_base_model().config
    tokenizer = tiny_tokenizer(text_config(config))
    collator = ChatCollator(tokenizer, tiny_processor(tokenizer, config, expanded), image_token_id(config),
                            image_key="pixel_values")
    examples = chat_examples(family, expanded, tokenizer)
    return tokenizer, as_dataset(examples), collator, collator(examples[:BATCH_SIZE])


def _pretokenized_setup(family: str, model, expanded: bool):
    """The same for the current VLMs: processed examples and the padding collator."""
    from vlmcompat.probes.trainer import dataset_and_collator

    examples, collator, fixed = dataset_and_collator(family, expanded)
    config = model.config if hasattr(model.config, "text_config") else model.get_base_model().config
    return tiny_tokenizer(text_config(config), image_token_id(config)), pretokenized_dataset(examples), collator, fixed


def run(family: str, mode: Mode) -> Metrics:
    fam = require_class(family)
    if fam.is_seq2seq:
        raise ProbeSkipped(f"SFTTrainer trains causal language models; {family} has an encoder-decoder (T5) LM "
                           "(see the trainer probe)")
    sft_trainer_cls, sft_config_cls = import_trl()
    expanded = processor_expands()
    model, backend = lora_model(family, mode, expanded)
    setup = _chat_setup if fam.legacy_format else _pretokenized_setup
    tokenizer, dataset, collator, fixed = setup(family, model, expanded)
    metrics: Metrics = {"backend": backend, "input_format": input_format(expanded),
                        "trl": str(versions.installed("trl"))}
    before = eval_loss(model, fixed)
    with tempfile.TemporaryDirectory() as out:
        length = supported_kwargs(sft_config_cls, {"max_length": MAX_LENGTH}, max_length=RENAMES["max_length"])
        args = training_arguments(sft_config_cls, out, dataset_kwargs={"skip_prepare_dataset": True},
                                  dataset_text_field="", packing=False, **length)
        extra = supported_kwargs(sft_trainer_cls.__init__, {"processing_class": tokenizer},
                                 processing_class=RENAMES["processing_class"])
        metrics["trl_arguments"] = ", ".join([*extra, *length]) or "neither (SFTTrainer takes max_seq_length)"
        trainer = sft_trainer_cls(model=model, args=args, train_dataset=dataset, data_collator=collator, **extra)
        return train_and_check(trainer, metrics, family, expanded, model, backend, fixed, before)


PROBE = Probe(
    name="sft-trainer",
    summary="TRL SFTTrainer with LoRA and the chat-template collator (causal families): finite decreasing loss, "
    "adapter saves and reloads",
    run=run,
    families=tuple(f for f in tiny.FAMILIES if f != "tinyllava"),
)

"""Batches made with a checkpoint's own tokenizer and image-processor settings on a generated image.

The text goes through the user's tokenizer (its vocabulary, special tokens and added tokens such as
``<image>``); the image is a seeded random picture at the size the user's preprocessor_config.json
asks for, rescaled and normalised with its mean and std, as the image processor does to a picture
that already has the target size (so no Pillow is needed). The token layout is the one each
family's processor writes, in the format the probe asks for: ``expanded`` (one image token per
query or feature, >= 4.45 processors) or legacy (BLIP-2/InstructBLIP: no image tokens; LLaVA and
Qwen: one per image). Labels cover the answer only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vlmcompat.errors import UsageError
from vlmcompat.tiny import chat_rows

PROMPTS = ("What is shown in this picture?", "Which colour is it?")
ANSWERS = ("A red square on a white background.", "Red.")
LAYOUTS = {"Blip2ForConditionalGeneration": "blip", "InstructBlipForConditionalGeneration": "blip",
           "LlavaForConditionalGeneration": "llava", "Qwen2VLForConditionalGeneration": "qwen",
           "Qwen2_5_VLForConditionalGeneration": "qwen", "Qwen3VLForConditionalGeneration": "qwen"}
QWEN_GRIDS = ((1, 4, 6), (1, 4, 4))  # (t, h, w) in patches per example


def layout(model_class: str) -> str:
    if model_class not in LAYOUTS:
        supported = sorted({c for c in LAYOUTS})
        raise UsageError(f"batches for {model_class} checkpoints are not built yet; --model supports "
                         f"{', '.join(supported)}")
    return LAYOUTS[model_class]


def load_tokenizer(folder: Path, trust_remote_code: bool, sub: str = ""):
    from transformers import AutoTokenizer

    path = folder / sub if sub else folder
    if not any(path.glob("tokenizer*")) and not (path / "vocab.json").exists():
        raise UsageError(f"the checkpoint folder has no tokenizer files{' in ' + sub if sub else ''} "
                         "(tokenizer.json, tokenizer_config.json, vocab.json ...); batches are made with them")
    return AutoTokenizer.from_pretrained(str(path), trust_remote_code=trust_remote_code, local_files_only=True)


def preprocessor(folder: Path) -> dict[str, Any]:
    path = folder / "preprocessor_config.json"
    return json.loads(path.read_text()) if path.exists() else {}


def _side(settings: dict[str, Any], default: int) -> tuple[int, int]:
    for key in ("crop_size", "size"):
        size = settings.get(key)
        if key == "crop_size" and not settings.get("do_center_crop", True):
            continue
        if isinstance(size, dict) and "height" in size:
            return int(size["height"]), int(size["width"])
        if isinstance(size, dict) and "shortest_edge" in size:
            return int(size["shortest_edge"]), int(size["shortest_edge"])
        if isinstance(size, int):
            return size, size
    return default, default


def pixel_values(settings: dict[str, Any], batch_size: int, gen, default_size: int = 224):
    import torch

    height, width = _side(settings, default_size)
    raw = torch.randint(0, 256, (batch_size, 3, height, width), generator=gen).float()
    mean = torch.tensor(settings.get("image_mean", [0.5] * 3)).view(1, 3, 1, 1)
    std = torch.tensor(settings.get("image_std", [0.5] * 3)).view(1, 3, 1, 1)
    values = raw * float(settings.get("rescale_factor", 1 / 255)) if settings.get("do_rescale", True) else raw
    return (values - mean) / std if settings.get("do_normalize", True) else values


def _ids(tokenizer, text: str, special: bool) -> list[int]:
    return list(tokenizer(text, add_special_tokens=special)["input_ids"])


def _answers(tokenizer, batch_size: int) -> list[list[int]]:
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    return [_ids(tokenizer, " " + ANSWERS[i % len(ANSWERS)], False) + eos for i in range(batch_size)]


def _pad_id(tokenizer) -> int:
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def blip(tokenizer, config, expanded: bool, image_token_id: int, batch_size: int,
         qformer_tokenizer=None) -> dict[str, Any]:
    """BLIP-2 / InstructBLIP: ``Question: ... Answer:``; expanded inputs start with the query tokens."""
    import torch

    prompts = [f"Question: {PROMPTS[i % len(PROMPTS)]} Answer:" for i in range(batch_size)]
    image = [image_token_id] * int(config.num_query_tokens) if expanded else []
    batch: dict[str, Any] = {}
    if qformer_tokenizer is not None:
        q = qformer_tokenizer(prompts, padding=True, return_tensors="pt")
        batch.update(qformer_input_ids=q["input_ids"], qformer_attention_mask=q["attention_mask"])
    answers = _answers(tokenizer, batch_size)
    if not getattr(config, "use_decoder_only_language_model", True):  # T5: prompt in, answer as labels
        rows = chat_rows.assemble([image + _ids(tokenizer, p, True) for p in prompts], [[]] * batch_size,
                                  _pad_id(tokenizer))
        width = max(len(a) for a in answers)
        labels = torch.full((batch_size, width), chat_rows.IGNORE_INDEX, dtype=torch.long)
        for i, answer in enumerate(answers):
            labels[i, : len(answer)] = torch.tensor(answer)
        batch.update(input_ids=rows["input_ids"], attention_mask=rows["attention_mask"], labels=labels)
        return batch
    rows = chat_rows.assemble([image + _ids(tokenizer, p, True) for p in prompts], answers, _pad_id(tokenizer))
    batch.update(rows)
    return batch


def llava(tokenizer, config, settings: dict[str, Any], expanded: bool, batch_size: int) -> dict[str, Any]:
    """``USER: <image>\\n... ASSISTANT:``; expanded: one image token per patch feature."""
    image_id = int(config.image_token_index)
    vision = config.vision_config
    k = (int(vision.image_size) // int(vision.patch_size)) ** 2
    if getattr(config, "vision_feature_select_strategy", "default") == "full":
        k += 1
    prompts = []
    for i in range(batch_size):
        ids = _ids(tokenizer, f"USER: <image>\n{PROMPTS[i % len(PROMPTS)]} ASSISTANT:", True)
        if image_id not in ids:  # a tokenizer without <image> as one token: put it where the processor would
            ids = ids[:1] + [image_id] + ids[1:]
        at = ids.index(image_id)
        prompts.append(ids[:at] + [image_id] * (k if expanded else 1) + [t for t in ids[at + 1:] if t != image_id])
    return chat_rows.assemble(prompts, _answers(tokenizer, batch_size), _pad_id(tokenizer))


def qwen(tokenizer, config, settings: dict[str, Any], expanded: bool, batch_size: int, gen,
         takes_mm_token_type_ids: bool) -> dict[str, Any]:
    """The Qwen chat template: ``<|vision_start|><|image_pad|>×k<|vision_end|>``, patches flattened."""
    import torch

    patch, temporal = int(settings.get("patch_size", 14)), int(settings.get("temporal_patch_size", 2))
    merge = int(settings.get("merge_size", 2))
    image_id = int(config.image_token_id)
    grids = [QWEN_GRIDS[i % len(QWEN_GRIDS)] for i in range(batch_size)]
    prompts = []
    for i, (t, h, w) in enumerate(grids):
        text = (f"<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>{PROMPTS[i % len(PROMPTS)]}"
                "<|im_end|>\n<|im_start|>assistant\n")
        ids = _ids(tokenizer, text, False)
        at = ids.index(image_id)
        prompts.append(ids[:at] + [image_id] * (t * h * w // merge ** 2 if expanded else 1) + ids[at + 1:])
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    answers = [_ids(tokenizer, ANSWERS[i % len(ANSWERS)], False) + [end] for i in range(batch_size)]
    batch = chat_rows.assemble(prompts, answers, _pad_id(tokenizer))
    n = sum(t * h * w for t, h, w in grids)
    raw = torch.randint(0, 256, (n, 3, temporal * patch * patch), generator=gen).float()
    values = raw * float(settings.get("rescale_factor", 1 / 255))
    mean = torch.tensor(settings.get("image_mean", [0.5] * 3)).view(1, 3, 1)
    std = torch.tensor(settings.get("image_std", [0.5] * 3)).view(1, 3, 1)
    batch["pixel_values"] = ((values - mean) / std).reshape(n, -1)
    batch["image_grid_thw"] = torch.tensor(grids, dtype=torch.long)
    if takes_mm_token_type_ids:
        batch["mm_token_type_ids"] = (batch["input_ids"] == image_id).long()
    return batch

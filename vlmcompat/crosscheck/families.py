"""The families the cross-release check writes and reads: the tiny models of :mod:`vlmcompat.tiny`
(classic and modern families alike), their LoRA recipe, and the processor each ships.

The processor is built from the tokenizer fixtures in ``vlmcompat/data/tokenizers`` (no hub) with
the family's special tokens, image processor sizes and a chat template, so that what one release
writes with ``save_pretrained`` another can be asked to read.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from vlmcompat import tiny
from vlmcompat.errors import UsageError

FIXTURES = Path(__file__).resolve().parent.parent / "data" / "tokenizers"
CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}{{ image_marker }}{% else %}{{ c['text'] }}{% endif %}"
    "{% endfor %}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"
)
PROCESSORS = ("llava",)  # families whose processor is checked (see :func:`processor`)
MESSAGES = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is shown here?"}]}]


def family(name: str) -> tiny.Family:
    """A family of :data:`vlmcompat.tiny.FAMILIES` or of the modern families."""
    from vlmcompat.tiny.modern_families import MODERN_FAMILIES

    if name in tiny.FAMILIES:
        return tiny.FAMILIES[name]
    if name in MODERN_FAMILIES:
        return MODERN_FAMILIES[name]
    raise UsageError(f"unknown family {name!r}; choose from: {', '.join([*tiny.FAMILIES, *MODERN_FAMILIES])}")


def _resolve(ref: str):
    import importlib

    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def build(name: str, seed: int = 0):
    fam = family(name)
    return _resolve(fam.builder)(fam.lm, seed=seed, image_token=True)


EXPANDED_SINCE = "4.45"  # processors write one image token per feature (LLaVA models need it from 4.48)


def expanded_here() -> bool:
    """Whether this release's processor expands image tokens in input_ids (the batch format it makes)."""
    from vlmcompat import versions

    return versions.transformers_at_least(EXPANDED_SINCE)


def batch(name: str, seed: int = 0, expanded: bool | None = None) -> dict[str, Any]:
    """The family's seeded batch in the format this release's processor makes (or the one asked for);
    both formats describe the same sequence."""
    fam = family(name)
    return _resolve(fam.batcher)(fam.lm, expanded=expanded_here() if expanded is None else expanded, seed=seed)


def class_available(name: str) -> bool:
    import transformers

    return hasattr(transformers, family(name).model_class)


def _kwargs(cls: type, **candidates: Any) -> dict[str, Any]:
    """The candidates this release's ``cls.__init__`` accepts (processor signatures grew over time)."""
    params = inspect.signature(cls.__init__).parameters
    return {k: v for k, v in candidates.items() if k in params}


def _tokenizer(fixture: str, special: list[str], cls_name: str = "PreTrainedTokenizerFast", **kwargs: Any):
    import transformers

    cls = getattr(transformers, cls_name, None) or getattr(transformers, cls_name.removesuffix("Fast"))
    tok = cls(tokenizer_file=str(FIXTURES / fixture), **kwargs)
    tok.add_special_tokens({"additional_special_tokens": special})
    return tok


def processor(name: str):
    """The family's processor, built from fixtures; None when this release has no such processor or
    none is checked for the family (Qwen-VL processors need torchvision for their video processor
    from 4.52, which cells share from the host only with torch)."""
    import transformers

    if name == "llava":
        if not hasattr(transformers, "LlavaProcessor"):
            return None
        from vlmcompat.tiny import llava

        size = llava.IMAGE_SIZE
        image = transformers.CLIPImageProcessor(size={"shortest_edge": size}, crop_size={"height": size, "width": size})
        tok = _tokenizer("llama2-bpe.json", ["<image>"], bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                         pad_token="<unk>")
        return transformers.LlavaProcessor(**_kwargs(
            transformers.LlavaProcessor, image_processor=image, tokenizer=tok,
            chat_template=CHAT_TEMPLATE.replace("{{ image_marker }}", "<image>"),
            patch_size=llava.PATCH_SIZE, vision_feature_select_strategy="default", num_additional_image_tokens=1))
    return None


def image():
    """A fixed 48x40 RGB image (no randomness: the same pixels on every release)."""
    import numpy as np
    from PIL import Image

    y, x = np.mgrid[0:40, 0:48]
    pixels = np.stack([(x * 5) % 256, (y * 6) % 256, ((x + y) * 3) % 256], axis=-1).astype("uint8")
    return Image.fromarray(pixels)


def processor_inputs(proc) -> dict[str, Any]:
    """What ``proc`` makes of the fixed conversation and image: the tensors a collator would pass on."""
    text = proc.apply_chat_template(MESSAGES, add_generation_prompt=True)
    out = proc(images=[image()], text=[text], return_tensors="pt")
    return {k: v for k, v in out.items() if hasattr(v, "shape")}

"""The user's checkpoint as a family's model and batches: what ``vlmcompat.tiny`` calls for the
family a ``--model`` folder maps to (see :mod:`vlmcompat.usermodel`).

``build`` makes the architecture shrunk (:mod:`vlmcompat.usermodel.shrink`) and seeded, or loads
the folder's weights with ``--full``; ``make_batch`` uses the folder's tokenizer and processor
settings (:mod:`vlmcompat.usermodel.batch`). Both honour the input format a probe asks for:
``image_token=False`` is the checkpoint as saved before 4.45 (BLIP-2/InstructBLIP: no image token
id), ``True`` the checkpoint with the id (its own, else the ``<image>`` token the 4.45 conversion
adds to the tokenizer: an existing one, or the next free id).
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any

from vlmcompat.usermodel import batch as batches
from vlmcompat.usermodel import folder, shrink

BLIP_CLASSES = ("Blip2ForConditionalGeneration", "InstructBlipForConditionalGeneration")


def _active():
    from vlmcompat import usermodel

    return usermodel.require_active()


@functools.cache
def staged(path: str, access: folder.Access) -> Path:
    """The folder's known files, copied once per process into a private temporary folder."""
    into = Path(tempfile.mkdtemp(prefix="vlmcompat-model-"))
    return folder.stage(path, access, into)


def _config_object(data: dict[str, Any]):
    from transformers import AutoConfig

    data = dict(data)
    model_type = data.pop("model_type")
    for key in ("architectures", "transformers_version", "_commit_hash", "_name_or_path", "auto_map"):
        data.pop(key, None)
    return AutoConfig.for_model(model_type, **data)


def tokenizer(sub: str = ""):
    active = _active()
    return batches.load_tokenizer(staged(active.path, active.access), active.access.trust_remote_code, sub)


def image_token_id(config) -> int:
    """The config's image token id, else the id the 4.45 conversion gives ``<image>``."""
    for attr in ("image_token_index", "image_token_id"):
        value = getattr(config, attr, None)
        if value is not None:
            return int(value)
    tok = tokenizer()
    known = tok.convert_tokens_to_ids("<image>")
    if known is not None and known != tok.unk_token_id:
        return int(known)
    vocab = int(config.text_config.vocab_size)
    return len(tok) if len(tok) < vocab else vocab - 1


def _set_format(config, model_class: str, image_token: bool) -> None:
    from vlmcompat.tiny import configs, instructblip

    if model_class not in BLIP_CLASSES:
        return
    if image_token:
        token = image_token_id(config)
        configs.set_late(config, image_token_index=token, image_token_id=token)
    else:
        instructblip.drop_image_token_id(config)


def config(image_token: bool):
    """The (shrunk, unless ``--full``) config in the requested format."""
    active = _active()
    data = folder.read_config(staged(active.path, active.access))
    cfg = _config_object(data if active.access.full else shrink.shrink(data))
    _set_format(cfg, active.family.model_class, image_token)
    return cfg


def build(lm: str, seed: int = 0, image_token: bool = False):
    """The user's architecture, shrunk and seeded (or, with ``--full``, their weights), in eval mode."""
    from vlmcompat.tiny import configs

    active = _active()
    model_cls = configs.transformers_class(active.family.model_class, active.family.since)
    cfg = config(image_token)
    if not active.access.full:
        return configs.seeded(model_cls, cfg, seed)
    path = staged(active.path, active.access)
    model = model_cls.from_pretrained(str(path), config=cfg, local_files_only=True,
                                      use_safetensors=None if active.access.allow_pickle else True,
                                      trust_remote_code=active.access.trust_remote_code)
    return model.float().eval()


def make_batch(lm: str, expanded: bool, seed: int = 0, batch_size: int = 2) -> dict[str, Any]:
    import torch

    active = _active()
    path = staged(active.path, active.access)
    cfg = config(expanded)
    settings = batches.preprocessor(path)
    gen = torch.Generator().manual_seed(4000 + seed)
    kind = batches.layout(active.family.model_class)
    tok = tokenizer()
    if kind == "qwen":
        from vlmcompat.tiny.qwen2_vl import takes_mm_token_type_ids

        return batches.qwen(tok, cfg, settings, expanded, batch_size, gen,
                            takes_mm_token_type_ids(active.family.model_class))
    pixels = batches.pixel_values(settings, batch_size, gen, int(getattr(cfg.vision_config, "image_size", 224)))
    if kind == "llava":
        out = batches.llava(tok, cfg, settings, expanded, batch_size)
    else:
        qformer = tokenizer("qformer_tokenizer") if "InstructBlip" in active.family.model_class else None
        out = batches.blip(tok, cfg, expanded, image_token_id(cfg), batch_size, qformer)
    out["pixel_values"] = pixels
    return out

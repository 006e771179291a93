"""A small copy of the user's checkpoint: the architecture shrunk and seeded, saved with the
installed transformers, next to the folder's own tokenizer and processor files.

For smoke tests of training code that loads a checkpoint folder (``from_pretrained``) in CI or in
every matrix cell, where the real weights are too large or not at hand. The config keeps the
format it was saved in (a BLIP-2 config without an image token id stays without one).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from vlmcompat.usermodel import Access, activate, checkpoint, folder

NOT_COPIED = (folder.CONFIG, "generation_config.json")  # written by save_pretrained


def has_image_token(config: dict) -> bool:
    return any(config.get(key) is not None for key in ("image_token_index", "image_token_id"))


def export(source: str | Path, out: str | Path, seed: int = 0, access: Access | None = None) -> Path:
    """Write the shrunk checkpoint of ``source`` to ``out``; ``out``."""
    active = activate(source, access or Access())
    staged = checkpoint.staged(active.path, active.access)
    model = checkpoint.build(active.family.lm, seed=seed,
                             image_token=has_image_token(folder.read_config(staged)))
    target = Path(out)
    target.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(target))
    for path in staged.rglob("*"):
        relative = path.relative_to(staged)
        if path.is_file() and str(relative) not in NOT_COPIED:
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / relative)
    return target

"""A user's checkpoint folder, read as untrusted input.

Nothing is loaded from the folder itself: :func:`stage` copies the files vlmcompat knows by name
(configs, tokenizer and processor files; weights only when asked) into a private folder, and
everything reads that copy. So code a folder ships (``*.py`` named by ``auto_map``) never runs
unless the user passes ``--trust-remote-code``, pickle weights (``*.bin``, ``*.pt``) are never
read unless the user passes ``--allow-pickle``, and a symlink that points outside the folder is
refused. A ``NAME.gz`` stands for ``NAME`` (checkpoint folders kept in git, like the test fixtures).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmcompat.errors import InputFileError, UsageError

CONFIG = "config.json"
# what a checkpoint folder holds besides weights and code
DATA_FILES = frozenset({
    CONFIG, "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
    "added_tokens.json", "tokenizer.model", "spiece.model", "sentencepiece.bpe.model", "vocab.json", "vocab.txt",
    "merges.txt", "preprocessor_config.json", "processor_config.json", "video_preprocessor_config.json",
    "chat_template.json", "chat_template.jinja",
})
SUBFOLDERS = ("qformer_tokenizer",)  # InstructBLIP keeps its Q-Former tokenizer here
SAFE_WEIGHTS = (".safetensors", ".safetensors.index.json")
PICKLE_WEIGHTS = (".bin", ".bin.index.json", ".pt", ".pth", ".ckpt")
CODE = (".py",)


@dataclass(frozen=True)
class Access:
    """What the user allowed on the command line (or in matrix.toml)."""

    full: bool = False  # load the folder's weights instead of building the architecture shrunk
    allow_pickle: bool = False  # also read pickle weights (*.bin), which can run code when loaded
    trust_remote_code: bool = False  # let transformers run code the folder ships (auto_map)

    def flags(self) -> list[str]:
        return [flag for flag, on in (("--full", self.full), ("--allow-pickle", self.allow_pickle),
                                      ("--trust-remote-code", self.trust_remote_code)) if on]


def _inside(root: Path, path: Path) -> Path:
    """``path`` resolved; a symlink that leaves ``root`` is refused."""
    resolved = path.resolve()
    if not resolved.is_relative_to(root):
        raise InputFileError(f"{path} is a link to {resolved}, outside the checkpoint folder {root}; "
                             "vlmcompat reads only files inside the folder (copy the file in instead of linking it)")
    return resolved


def _wanted(name: str, access: Access) -> bool:
    plain = name[:-3] if name.endswith(".gz") else name
    if plain in DATA_FILES:
        return True
    if access.full and plain.endswith(SAFE_WEIGHTS):
        return True
    if access.full and access.allow_pickle and plain.endswith(PICKLE_WEIGHTS):
        return True
    return access.trust_remote_code and plain.endswith(CODE)


def files(folder: Path, access: Access) -> list[tuple[Path, str]]:
    """``(source, name in the staged copy)`` for every file :func:`stage` copies."""
    root = folder.resolve()
    out = []
    for sub in ("", *SUBFOLDERS):
        base = folder / sub
        if sub and not base.is_dir():
            continue
        for path in sorted(base.iterdir()):
            if path.is_dir() or not _wanted(path.name, access):
                continue
            _inside(root, path)
            out.append((path, f"{sub}/{path.name}" if sub else path.name))
    return out


def check(folder: str | Path, access: Access) -> Path:
    """The folder, or one line saying why it cannot be used."""
    path = Path(folder)
    if not path.is_dir():
        raise UsageError(f"--model {folder}: no such folder; give a checkpoint folder (config.json plus "
                         "tokenizer and processor files)")
    root = path.resolve()
    if not any((path / name).exists() for name in (CONFIG, CONFIG + ".gz")):
        raise UsageError(f"--model {folder}: no config.json in it; give the folder a checkpoint was saved to "
                         "(save_pretrained writes config.json)")
    _inside(root, path / CONFIG if (path / CONFIG).exists() else path / (CONFIG + ".gz"))
    if access.full:
        names = [p.name for p in path.iterdir()]
        if not any(n.endswith(SAFE_WEIGHTS) for n in names):
            pickled = [n for n in names if n.endswith(PICKLE_WEIGHTS)]
            if pickled and not access.allow_pickle:
                raise UsageError(f"--model {folder} --full: the weights are pickle files ({pickled[0]}), which can "
                                 "run code when loaded; convert them to safetensors or pass --allow-pickle")
            if not pickled:
                raise UsageError(f"--model {folder} --full: no weights in the folder (*.safetensors); "
                                 "drop --full to probe the architecture shrunk")
    return path


def read_config(folder: str | Path) -> dict[str, Any]:
    path = Path(folder)
    source = path / CONFIG if (path / CONFIG).exists() else path / (CONFIG + ".gz")
    _inside(path.resolve(), source)
    try:
        raw = gzip.decompress(source.read_bytes()) if source.name.endswith(".gz") else source.read_bytes()
        data = json.loads(raw)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{source}: not a readable JSON config ({exc})") from None
    if not isinstance(data, dict):
        raise InputFileError(f"{source}: a config.json holds a JSON object, this holds a {type(data).__name__}")
    return data


def fingerprint(folder: str | Path, access: Access) -> str:
    """A hash of every file :func:`stage` would copy (names and bytes) and the access flags."""
    digest = hashlib.sha256(json.dumps(access.flags()).encode())
    for source, name in files(Path(folder), access):
        digest.update(name.encode())
        digest.update(hashlib.sha256(source.read_bytes()).digest())
    return digest.hexdigest()


def stage(folder: str | Path, access: Access, into: Path) -> Path:
    """Copy the folder's known files into ``into`` (``NAME.gz`` decompressed to ``NAME``); ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    for source, name in files(Path(folder), access):
        target = into / (name[:-3] if name.endswith(".gz") else name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.name.endswith(".gz"):
            with gzip.open(source, "rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
        else:
            shutil.copyfile(source, target)
    return into

"""The user's own checkpoint as a probe family (``vlmcompat probe --model DIR``).

``activate(path, access)`` reads DIR's config.json, finds the family it describes
(:mod:`~vlmcompat.usermodel.recognise`), and puts a copy of that family into
``vlmcompat.tiny.FAMILIES`` whose builder and batcher are :mod:`~vlmcompat.usermodel.checkpoint`:
every probe that runs on the family then runs on the user's architecture (shrunk, or their weights
with ``--full``) with batches from their tokenizer and processor files. The probe command sets
:data:`MODEL_ENV` so that its workers activate the same model before loading the probes; every
result they write names it (``model``). Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlmcompat.errors import UsageError
from vlmcompat.usermodel.folder import Access

MODEL_ENV = "VLMCOMPAT_MODEL"  # {"path": ..., "access": {...}} for the probe workers
_CHECKPOINT = "vlmcompat.usermodel.checkpoint"


@dataclass(frozen=True)
class Active:
    path: str  # the folder as given (absolute)
    name: str  # what results call the model: the folder's name
    family: Any  # the vlmcompat.tiny.Family the folder maps to (with the checkpoint's builder)
    access: Access


_ACTIVE: Active | None = None


def activate(path: str | Path, access: Access | None = None) -> Active:
    """Make DIR the model of its family in this process; the family's name is unchanged."""
    global _ACTIVE
    access = access or Access()
    from vlmcompat import tiny
    from vlmcompat.usermodel import batch, folder, recognise

    where = folder.check(path, access)
    config = folder.read_config(where)
    if config.get("auto_map") and not access.trust_remote_code and recognise.model_class(config) is None:
        raise UsageError(f"{where}/config.json names code shipped in the folder (auto_map); vlmcompat does not "
                         "run it unless you pass --trust-remote-code")
    base = recognise.family_for(config, f"{where}/config.json")
    batch.layout(base.model_class)
    family = dataclasses.replace(base, builder=f"{_CHECKPOINT}:build", batcher=f"{_CHECKPOINT}:make_batch")
    tiny.FAMILIES[family.name] = family
    tiny.cache.clear()
    _ACTIVE = Active(str(where.resolve()), where.resolve().name, family, access)
    return _ACTIVE


def active() -> Active | None:
    return _ACTIVE


def require_active() -> Active:
    if _ACTIVE is None:
        raise RuntimeError("no checkpoint is active: call vlmcompat.usermodel.activate(DIR) first")
    return _ACTIVE


def active_name() -> str | None:
    return _ACTIVE.name if _ACTIVE else None


def to_env(path: str | Path, access: Access) -> str:
    return json.dumps({"path": str(Path(path).resolve()), "access": dataclasses.asdict(access)})


def activate_from_env(environ: dict[str, str] | None = None) -> Active | None:
    """Activate the model the probe command named in :data:`MODEL_ENV`, if any."""
    value = (os.environ if environ is None else environ).get(MODEL_ENV)
    if not value:
        return None
    data = json.loads(value)
    return activate(data["path"], Access(**data.get("access", {})))


def fingerprint() -> str | None:
    """A hash of the active folder's files and flags (part of the result-cache key)."""
    from vlmcompat.usermodel import folder

    return folder.fingerprint(_ACTIVE.path, _ACTIVE.access) if _ACTIVE else None

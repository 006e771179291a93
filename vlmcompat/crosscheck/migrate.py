"""An adapter folder -> the same adapter for another transformers release: lossless or refused.

``migrate_adapter(src, dst, target)`` reads ``adapter_model.safetensors`` and
``adapter_config.json``, rewrites every key into the layout ``target`` loads
(:mod:`vlmcompat.crosscheck.layouts`), and writes both to ``dst`` with the tensors untouched. The
model kind comes from ``--model-type``, else the base model's ``config.json`` when
``base_model_name_or_path`` is a local folder, else the keys themselves; when none of these
tells, the migration is refused rather than guessed. ``target_modules`` given as a list of module
names needs no change; given as a regular expression naming a part by its prefix, it is refused.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import InvalidVersion, Version

from vlmcompat.crosscheck import layouts
from vlmcompat.errors import InputFileError, MigrationError, UsageError

WEIGHTS = "adapter_model.safetensors"
CONFIG = "adapter_config.json"


@dataclass
class AdapterMigration:
    target: Version
    kind: str
    source: frozenset[str]
    layout: str
    renamed: dict[str, str] = field(default_factory=dict)  # old -> new, changed keys only

    @property
    def changed(self) -> bool:
        return bool(self.renamed)


def parse_target(spec: str | None) -> Version:
    """``transformers==4.51.3`` / ``4.51.3`` / None (the installed transformers)."""
    if spec is None:
        from vlmcompat.versions import installed

        found = installed("transformers")
        if found is None:
            raise UsageError("transformers is not installed here, so the target layout is unknown; "
                             "pass --for transformers==X")
        return Version(found.base_version)
    text = spec.strip()
    name, sep, version = text.partition("==")
    if sep and name.strip().lower() != "transformers":
        raise UsageError(f"--for {spec!r}: only transformers decides the layout; write --for transformers==X")
    try:
        return Version((version if sep else text).strip())
    except InvalidVersion:
        raise UsageError(f"--for {spec!r} is not a version; write e.g. --for transformers==4.51.3") from None


def _config(src: Path) -> dict:
    path = src / CONFIG
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(f"{src}: no {CONFIG}; pass the folder peft's save_pretrained wrote") from None
    except json.JSONDecodeError as exc:
        raise InputFileError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


def _model_type(config: dict) -> str | None:
    base = config.get("base_model_name_or_path")
    if not base or not (Path(base) / "config.json").is_file():
        return None
    try:
        return json.loads((Path(base) / "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, json.JSONDecodeError):
        return None


def resolve_kind(keys: list[str], config: dict, model_type: str | None) -> str:
    if model_type is not None:
        kind = layouts.kind_of(model_type)
        if kind is None:
            raise UsageError(f"--model-type {model_type!r}: no layout rules (known: {', '.join(layouts.KIND_OF)})")
        return kind
    kind = layouts.kind_of(_model_type(config)) or layouts.detect_kind(keys)
    if kind is None:
        raise MigrationError("cannot tell the model type from the adapter (its keys fit a LLaVA and a Qwen-VL "
                             "model alike); pass --model-type llava or --model-type qwen2_vl; nothing written")
    return kind


def plan(keys: list[str], config: dict, target: Version, model_type: str | None = None) -> AdapterMigration:
    kind = resolve_kind(keys, config, model_type)
    layout = layouts.layout_for(target)
    source = layouts.source_layouts(kind, keys)
    renamed = {} if layout in source else {k: v for k, v in layouts.rewrite(kind, keys, layout).items() if k != v}
    targets = config.get("target_modules")
    moved = {seg for parts in layouts.PREFIXES[kind].values() for p in parts.values() for seg in p.split(".")
             if seg and seg != "model"}  # the levels a rewrite can rename (language_model, vision_tower, ...)
    if renamed and isinstance(targets, str) and any(seg in targets for seg in moved):
        raise MigrationError(f"target_modules is a pattern naming model parts ({targets!r}); rewrite it by hand "
                             "or give module names; nothing written")
    return AdapterMigration(target, kind, source, layout, renamed)


def migrate_adapter(src: str | Path, dst: str | Path, target: str | None = None,
                    model_type: str | None = None) -> AdapterMigration:
    """Write the adapter in ``src`` to ``dst`` for transformers ``target``; nothing is written when refused."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    src, dst = Path(src), Path(dst)
    weights = src / WEIGHTS
    if not weights.is_file():
        raise InputFileError(f"{src}: no {WEIGHTS}; pass the folder peft's save_pretrained wrote "
                             "(adapter_model.bin: load and re-save it with peft first)")
    config = _config(src)
    with safe_open(str(weights), "pt") as fh:
        keys = list(fh.keys())
        metadata = fh.metadata()
        tensors = {k: fh.get_tensor(k) for k in keys}
    result = plan(keys, config, parse_target(target), model_type)
    out = {result.renamed.get(k, k): t for k, t in tensors.items()}
    dst.mkdir(parents=True, exist_ok=True)
    if src.resolve() != dst.resolve():
        for extra in src.iterdir():
            if extra.is_file() and extra.name not in (WEIGHTS, CONFIG):
                shutil.copy2(extra, dst / extra.name)
    save_file(out, str(dst / WEIGHTS), metadata=metadata)
    (dst / CONFIG).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return result

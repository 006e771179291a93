"""Where a cell's cross-release artifacts live and what they are called.

``reports/artifacts/<cell-id>/<family>/`` holds, per family: ``adapter/`` (a LoRA adapter after a
few training steps, peft's ``save_pretrained``), ``checkpoint/`` (the untrained tiny model's
``save_pretrained``), ``processor/`` (the family's processor: tokenizer, image processor, chat
template), ``reference.safetensors`` (the fixed batch and the writer's logits: base, adapter, and
the processor's output on a fixed conversation) and ``versions.json`` (who wrote them). The
binaries stay out of git (``reports/artifacts/.gitignore``); the results that read them are
committed like every cell result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from vlmcompat import paths

ARTIFACTS_SUBDIR = "artifacts"
ADAPTER = "adapter"
CHECKPOINT = "checkpoint"
PROCESSOR = "processor"
REFERENCE = "reference.safetensors"
VERSIONS = "versions.json"
KINDS = (ADAPTER, CHECKPOINT, PROCESSOR)
PROBE_PREFIX = "crosscheck-"  # result probe names: crosscheck-adapter, crosscheck-checkpoint, ...
PROBES = tuple(PROBE_PREFIX + kind for kind in KINDS)
# LLaVA-style families of every layout, and one family of the 4.52 refactor with its own vision tower
FAMILIES = ("llava", "qwen2-vl")


def probe_name(kind: str) -> str:
    return PROBE_PREFIX + kind


def artifacts_dir(reports: str | Path | None = None) -> Path:
    return Path(reports if reports is not None else paths.reports_dir()) / ARTIFACTS_SUBDIR


@dataclass(frozen=True)
class Written:
    """One writer cell's artifacts for one family."""

    cell: str
    family: str
    root: Path

    def path(self, name: str) -> Path:
        return self.root / name

    @property
    def versions(self) -> dict[str, str | None]:
        return json.loads(self.path(VERSIONS).read_text(encoding="utf-8"))

    @property
    def complete(self) -> bool:
        return self.path(VERSIONS).is_file() and self.path(REFERENCE).is_file()


def written(reports: str | Path | None = None, cells: tuple[str, ...] = (),
            families: tuple[str, ...] = ()) -> list[Written]:
    """Every complete writer × family under the artifacts folder (optionally only these cells/families)."""
    root = artifacts_dir(reports)
    found = []
    for cell_dir in sorted(p for p in root.glob("*") if p.is_dir()):
        if cells and cell_dir.name not in cells:
            continue
        for fam_dir in sorted(p for p in cell_dir.glob("*") if p.is_dir()):
            if families and fam_dir.name not in families:
                continue
            w = Written(cell_dir.name, fam_dir.name, fam_dir)
            if w.complete:
                found.append(w)
    return found

"""The writing half of the cross-release check: in one cell, per family, save what people carry from
one release to another — a LoRA adapter after a few training steps, a ``save_pretrained``
checkpoint, the processor — with the writer's reference outputs on a fixed batch.

Everything is seeded: the checkpoint is the untrained tiny model (seed 0); the adapter is trained
for :data:`STEPS` steps on the family's batch; ``reference.safetensors`` holds that batch, the
checkpoint's logits (``base_logits``), the adapter's (``adapter_logits``) and the processor's output
on the fixed conversation (``processor.<name>``). A reader that reloads the checkpoint and the
adapter must reproduce ``adapter_logits``; one that reproduces ``base_logits`` loaded an untrained
adapter.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from vlmcompat.crosscheck import artifacts, families

STEPS = 3
LEARNING_RATE = 5e-2
LORA_R, LORA_ALPHA = 4, 8
SEED = 0


def versions() -> dict[str, str | None]:
    from vlmcompat import versions as v

    return v.stack_versions()


def logits(model, batch: dict[str, Any]):
    import torch

    model.eval()
    with torch.no_grad():
        return model(**{k: v for k, v in batch.items() if k != "labels"}).logits.detach().float().contiguous()


def train_adapter(model, name: str, batch: dict[str, Any]):
    """``get_peft_model`` with the family's recipe, then :data:`STEPS` Adam steps on ``batch``."""
    import torch
    from peft import LoraConfig, TaskType, get_peft_model

    fam = families.family(name)
    config = LoraConfig(r=LORA_R, lora_alpha=LORA_ALPHA, lora_dropout=0.0, target_modules=list(fam.lora_targets),
                        task_type=getattr(TaskType, fam.peft_task_type), bias="none")
    torch.manual_seed(SEED)
    peft_model = get_peft_model(model, config)
    optimizer = torch.optim.Adam([p for p in peft_model.parameters() if p.requires_grad], lr=LEARNING_RATE)
    peft_model.train()
    for _ in range(STEPS):
        optimizer.zero_grad()
        peft_model(**batch).loss.backward()
        optimizer.step()
    return peft_model.eval()


def write(name: str, out: Path) -> dict[str, str]:
    """Write the artifacts of family ``name`` into ``out`` (replaced); what was written, by kind."""
    from safetensors.torch import save_file

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    done: dict[str, str] = {}
    tensors: dict[str, Any] = {}
    batch = families.batch(name, seed=SEED)
    model = families.build(name, seed=SEED)
    model.save_pretrained(out / artifacts.CHECKPOINT)
    done[artifacts.CHECKPOINT] = "written"
    tensors["base_logits"] = logits(model, batch)
    trained = train_adapter(model, name, batch)
    trained.save_pretrained(out / artifacts.ADAPTER)
    tensors["adapter_logits"] = logits(trained, batch)
    done[artifacts.ADAPTER] = "written"
    try:
        proc = families.processor(name)
    except Exception as exc:  # e.g. a processor whose video part needs torchvision, absent here
        proc = None
        done[artifacts.PROCESSOR] = f"not built here: {type(exc).__name__}: {str(exc)[:200]}"
    if proc is None:
        done.setdefault(artifacts.PROCESSOR, "no processor class in this release" if name in families.PROCESSORS
                        else "no processor check for this family")
    else:
        proc.save_pretrained(out / artifacts.PROCESSOR)
        tensors.update({f"processor.{k}": v.contiguous() for k, v in families.processor_inputs(proc).items()})
        done[artifacts.PROCESSOR] = "written"
    tensors.update({f"batch.{k}": v.contiguous() for k, v in batch.items()})
    save_file(tensors, str(out / artifacts.REFERENCE))
    info = dict(versions(), family=name, written=done, expanded=families.expanded_here())
    (out / artifacts.VERSIONS).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    return done

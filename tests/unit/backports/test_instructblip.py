"""The InstructBLIP backport: installed as transformers attributes only where transformers lacks the
class, reverted exactly, and on transformers 4.28 a model that saves, loads, trains and generates
(and turns the model-class probe's native ``model-class-missing`` into a patched pass)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
FAMILIES = ("instructblip-t5", "instructblip-llama")
OLD_STACK = ["transformers==4.28.0", "tokenizers==0.13.2", "peft==0.8.2", "safetensors", "packaging", "tabulate"]


def test_backports_package_imports_nothing_heavy():
    code = ("import sys, vlmcompat.backports, vlmcompat.patches.backport_classes; "
            "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_plan_replaces_nothing_where_transformers_has_instructblip():
    transformers = pytest.importorskip("transformers")
    if not hasattr(transformers, "InstructBlipForConditionalGeneration"):
        pytest.skip(f"transformers {transformers.__version__} has no InstructBLIP; the cells test covers it")
    from vlmcompat.patches import backport_classes

    stock = transformers.InstructBlipForConditionalGeneration
    plan = backport_classes.PATCH.plan()
    assert plan.replacements == []
    assert "has every class vlmcompat backports" in plan.reason
    assert transformers.InstructBlipForConditionalGeneration is stock

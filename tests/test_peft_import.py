"""The peft-import probe: passes on this host, fails natively where peft cannot be imported and
passes patched there (training proceeds with the LoRA fallback)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from vlmcompat import cells, probes
from vlmcompat.probes.peft_import import PROBE, ImportCheck, failure_message, missing_symbol
from vlmcompat.results import Mode

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("error, expected", [
    ("ImportError: cannot import name 'EncoderDecoderCache' from 'transformers' (/x/transformers/__init__.py)",
     ("EncoderDecoderCache", "transformers")),
    ("ImportError: cannot import name 'HybridCache' from 'transformers.cache_utils' (/x/cache_utils.py)",
     ("HybridCache", "transformers.cache_utils")),
    ("ModuleNotFoundError: No module named 'transformers.modeling_layers'", ("modeling_layers", "transformers")),
    ("AttributeError: module 'torch.distributed' has no attribute 'tensor'", ("tensor", "torch.distributed")),
    ("RuntimeError: Failed to import transformers.trainer because of the following error (look up to see its "
     "traceback):\ncannot import name 'EncoderDecoderCache' from 'transformers' (/x/__init__.py)",
     ("EncoderDecoderCache", "transformers")),
    ("OSError: something else entirely", (None, None)),
])
def test_missing_symbol(error, expected):
    assert missing_symbol(error) == expected


def test_failure_message_names_symbol_versions_and_measured_pins():
    check = ImportCheck("0.16.0", "4.40.0", "ImportError: ...", "peft", "EncoderDecoderCache", "transformers")
    message = failure_message(check)
    assert message.startswith("peft 0.16.0 cannot be imported with transformers 4.40.0: it needs "
                              "EncoderDecoderCache from transformers; pin peft==")
    assert "transformers>=4.44.0,<5.0.0" in message and "\n" not in message


def test_registered_as_a_family_independent_probe():
    assert probes.get("peft-import") is PROBE
    assert PROBE.families == ("peft",) and PROBE.applies_to("peft") and not PROBE.applies_to("instructblip-t5")


@pytest.mark.slow
@pytest.mark.parametrize("mode", [Mode.NATIVE, Mode.PATCHED])
def test_passes_on_this_host_in_both_modes(mode):
    pytest.importorskip("peft")
    metrics = PROBE.run("peft", mode)
    assert metrics["via"] is None and metrics["symbol"] is None and metrics["fallback"] is None
    assert metrics["trainer_imports"] is True


@pytest.mark.slow
def test_fallback_trains_and_saves_on_this_host():
    from vlmcompat.probes.peft_import import fallback_metrics

    metrics = fallback_metrics()
    assert metrics["fallback"] == "vlmcompat-lora"
    assert metrics["fallback_losses"][-1] < metrics["fallback_losses"][0]
    assert metrics["fallback_saved"] == ["adapter_config.json", "adapter_model.safetensors"]


RUN_PROBE = r"""
import json
from vlmcompat.probes.base import ProbeFailed
from vlmcompat.probes.peft_import import PROBE
from vlmcompat.results import Mode
out = {}
for mode in (Mode.NATIVE, Mode.PATCHED):
    try:
        out[mode.value] = {"status": "pass", "metrics": PROBE.run("peft", mode)}
    except ProbeFailed as exc:
        out[mode.value] = {"status": "fail", "issue": exc.issue, "message": str(exc), "metrics": exc.metrics}
print(json.dumps(out))
"""


@pytest.mark.cells
@pytest.mark.slow
@pytest.mark.parametrize("transformers", ["4.37.0", "4.40.0"])
def test_native_fails_and_patched_trains_where_peft_cannot_be_imported(tmp_path, transformers):
    if shutil.which("uv") is None:
        pytest.skip("uv is not on PATH; cells need it (pip install uv)")
    info = cells.create(tmp_path / "cell", [f"transformers=={transformers}", "peft==0.16.0", "safetensors"])
    if info.status.value != "ok":
        pytest.skip(f"cannot build the cell ({info.status}): {info.log_tail[-300:]}")
    proc = subprocess.run([str(tmp_path / "cell" / "bin" / "python"), "-c", RUN_PROBE], capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    native, patched = out["native"], out["patched"]
    assert native["status"] == "fail" and native["issue"] == "peft-import"
    assert native["metrics"]["symbol"] == "EncoderDecoderCache" and native["metrics"]["module"] == "transformers"
    assert native["metrics"]["via"] == "peft" and native["metrics"]["trainer_imports"] is False
    assert f"peft 0.16.0 cannot be imported with transformers {transformers}" in native["message"]
    assert patched["status"] == "pass" and patched["metrics"]["fallback"] == "vlmcompat-lora"
    assert patched["metrics"]["symbol"] == "EncoderDecoderCache"
    assert patched["metrics"]["fallback_losses"][-1] < patched["metrics"]["fallback_losses"][0]

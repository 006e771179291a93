"""The peft-import probe: passes on this host, fails natively where peft cannot be imported and
passes patched there (training proceeds with the LoRA fallback)."""

from __future__ import annotations

from pathlib import Path

import pytest

from vlmcompat import probes
from vlmcompat.probes.base import Scope
from vlmcompat.probes.peft_import import PROBE, ImportCheck, failure_message, missing_symbol
from vlmcompat.results import ENVIRONMENT, Mode

REPO = Path(__file__).resolve().parents[3]


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
    assert PROBE.scope is Scope.ENVIRONMENT and PROBE.targets(["instructblip-t5", "llava"]) == [ENVIRONMENT]
    assert PROBE.applies_to(ENVIRONMENT) and not PROBE.applies_to("instructblip-t5")


@pytest.mark.slow
@pytest.mark.parametrize("mode", [Mode.NATIVE, Mode.PATCHED])
def test_passes_on_this_host_in_both_modes(mode):
    pytest.importorskip("peft")
    metrics = PROBE.run(ENVIRONMENT, mode)
    assert metrics["via"] is None and metrics["symbol"] is None and metrics["fallback"] is None
    assert metrics["trainer_imports"] is True


@pytest.mark.slow
def test_fallback_trains_and_saves_on_this_host():
    from vlmcompat.probes.peft_import import fallback_metrics

    metrics = fallback_metrics()
    assert metrics["fallback"] == "vlmcompat-lora"
    assert metrics["fallback_losses"][-1] < metrics["fallback_losses"][0]
    assert metrics["fallback_saved"] == ["adapter_config.json", "adapter_model.safetensors"]


@pytest.mark.slow
def test_both_modes_read_one_import_check(monkeypatch):
    """The check runs in a fresh interpreter that never sees this process's patches: once per process."""
    pytest.importorskip("peft")
    from vlmcompat.probes import peft_import

    peft_import.forget_checks()
    calls = []
    real = peft_import.run_import_check
    monkeypatch.setattr(peft_import, "run_import_check", lambda *a, **k: calls.append(a) or real(*a, **k))
    native = PROBE.run(ENVIRONMENT, Mode.NATIVE)
    first = peft_import.check_import()
    first.error = "changed by a caller"
    patched = PROBE.run(ENVIRONMENT, Mode.PATCHED)
    assert len(calls) == 1
    assert native == patched and peft_import.check_import().error is None


def test_a_worker_checks_in_its_own_interpreter_before_peft_is_imported():
    """check_here answers as the fresh interpreter would, and check_import then spawns none."""
    import subprocess
    import sys

    pytest.importorskip("peft")
    code = ("import sys, json\nfrom vlmcompat.probes import peft_import as p\n"
            "p.run_import_check = lambda *a, **k: (_ for _ in ()).throw(AssertionError('spawned'))\n"
            "assert 'peft' not in sys.modules\np.check_here()\nc = p.check_import()\n"
            "print(json.dumps([c.ok, c.peft, 'peft' in sys.modules]))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    import json
    from importlib.metadata import version

    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [True, version("peft"), True]

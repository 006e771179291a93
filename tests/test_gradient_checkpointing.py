"""gradient-checkpointing probe: variants detected from the API, checkpointed training equal to
training without it (host), and in a 4.53 cell the native InstructBLIP failure
(inplace-image-scatter) next to a patched pass."""

import json
import subprocess
from pathlib import Path

import pytest

from vlmcompat import cells, patches, tiny
from vlmcompat.probes import gradient_checkpointing as probe
from vlmcompat.results import Mode

ROOT = Path(__file__).resolve().parent.parent


def test_variants_follow_the_api():
    labels = [label for label, _ in probe.variants(tiny.build("blip2-opt"))]
    assert labels == ["default", "use_reentrant=False"]  # transformers >= 4.35 on the host


@pytest.mark.parametrize("mode", [Mode.NATIVE, Mode.PATCHED])
def test_checkpointed_training_equals_plain_training(mode):
    if mode is Mode.PATCHED:
        patches.apply()
    metrics = probe.run("instructblip-llama", mode)
    assert metrics["variants"] == ["default", "use_reentrant=False"]
    for label in metrics["variants"]:
        assert metrics[label]["loss_max_abs_diff"] <= probe.ATOL
        assert metrics[label]["lora_max_abs_diff"] <= probe.ATOL


@pytest.mark.cells
@pytest.mark.slow
def test_instructblip_4_53_fails_natively_and_passes_patched(tmp_path, need_uv):
    venv = tmp_path / "t4.53"
    info = cells.create(venv, ["transformers==4.53.3", "tokenizers==0.21.1", "peft==0.16.0"], extra=["-e", str(ROOT)])
    assert info.status.value == "ok", info.log_tail
    out = tmp_path / "cell.json"
    proc = subprocess.run([str(venv / "bin" / "python"), "-m", "vlmcompat", "probe", "--json", str(out),
                           "--probe", "gradient-checkpointing", "--family", "instructblip-llama"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    by_mode = {r["mode"]: r for r in json.loads(out.read_text())["results"]}
    assert (by_mode["native"]["status"], by_mode["native"]["issue"]) == ("fail", "inplace-image-scatter")
    assert by_mode["patched"]["status"] == "pass", by_mode["patched"]

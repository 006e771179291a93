"""The user's own checkpoint and training script in real cells: a BLIP-2 Flan-T5 config saved
before transformers 4.45 (no image token id) probed with ``--model``, and examples/train_lora.py
(a plain peft LoRA loop) run with ``--run`` on a shrunk copy of it. Natively each cell shows its
seed failure with the known-issue id; with ``import vlmcompat.patch`` everything passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from vlmcompat.matrix import cell as cells
from vlmcompat.results import ENVIRONMENT, Status

pytestmark = [pytest.mark.cells, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]

CHECKPOINT = REPO / "tests" / "fixtures" / "checkpoints" / "blip2-flan-t5-xl-pre445"
TRAIN = (f"d=$(mktemp -d) && python -m vlmcompat shrink {CHECKPOINT} $d/ckpt >/dev/null && "
         f"python {REPO / 'examples' / 'train_lora.py'} $d/ckpt; s=$?; rm -rf $d; exit $s")
CELLS = {  # requirements -> (native issue of peft-wrapper, native issue of image-tokens, native issue of the script)
    ("transformers==4.53.3", "peft==0.16.0", "pillow"): (
        "inputs-embeds-duplicate", None, "inputs-embeds-duplicate"),
    ("transformers==4.57.6", "peft==0.17.1", "pillow"): (None, "image-token-expansion", "image-token-expansion"),
}


@pytest.mark.parametrize("requirements", list(CELLS), ids=lambda r: r[0])
def test_the_users_checkpoint_and_script_fail_natively_with_ids_and_pass_patched(cell, tmp_path, requirements):
    built = cell(*requirements)
    result = cells.run_probe(built.venv, "user", tmp_path / "user.json", (), ("peft-wrapper", "image-tokens"),
                             timeout=600, extra=["--model", str(CHECKPOINT), "--run", TRAIN])
    got = {r.key: r for r in result.results}
    wrapper, tokens, script = CELLS[requirements]
    for probe, family, issue in (("peft-wrapper", "blip2-t5", wrapper), ("image-tokens", "blip2-t5", tokens),
                                 ("run", ENVIRONMENT, script)):
        native, patched = got[(probe, family, "native")], got[(probe, family, "patched")]
        assert (native.status, native.issue) == ((Status.FAIL, issue) if issue else (Status.PASS, None)), native
        assert patched.status is Status.PASS, patched
    assert {r.model for r in result.results if r.family == "blip2-t5"} == {"blip2-flan-t5-xl-pre445"}
    assert "step 2: loss" in got[("run", ENVIRONMENT, "patched")].metrics["runs"][0]["output_tail"]

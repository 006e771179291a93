"""vlmcompat doctor where peft 0.16 cannot be imported (transformers 4.37 / 4.40): it exits 1 with
peft-import unfixed, and each pin it advises, installed, really imports and trains."""

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.cells, pytest.mark.slow]
SMOKE = Path(__file__).resolve().parents[2] / "vlmcompat" / "peft_smoke.py"


@pytest.mark.parametrize("transformers", ["4.37.0", "4.40.0"])
def test_advised_pins_import_and_train_when_installed(cell, tmp_path, transformers):
    broken = cell(f"transformers=={transformers}", "peft==0.16.0")
    proc = broken.run("-m", "vlmcompat", "doctor", "--json", cwd=tmp_path)
    advice = json.loads(proc.stdout)
    assert proc.returncode == 1 and "peft-import" in advice["unfixed"], proc.stdout
    pins = advice["pins"]
    assert set(pins) == {"peft", "transformers"}
    # Each pin is an alternative: keep transformers and pin peft, or keep peft and pin transformers.
    oldest = "transformers==" + pins["transformers"].split(",")[0].removeprefix(">=")
    for name, requirements in {"peft-pinned": [f"transformers=={transformers}", f"peft{pins['peft']}"],
                               "transformers-pinned": ["peft==0.16.0", f"transformers{pins['transformers']}"],
                               "transformers-oldest": ["peft==0.16.0", oldest]}.items():
        result = cell(*requirements).run_json(str(SMOKE), "--train")
        assert result["import_error"] is None and result["trainer_error"] is None, (name, result)
        assert result["train"] == {"t5": None, "llama": None}, (name, result)

"""vlmcompat doctor: issues that apply, pins with their evidence, exit codes; and (cells) the
advised pins, installed, really import and train."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vlmcompat import doctor, known_issues, peft_pins
from vlmcompat.results import CellResult, Mode, ProbeResult, Status

REPO = Path(__file__).resolve().parents[2]
SMOKE = REPO / "vlmcompat" / "peft_smoke.py"
FIXES = {"inputs-embeds-unexpected": "instructblip_forward", "image-token-expansion": "instructblip_forward",
         "tokenizer-format": "tokenizer_load"}
BROKEN = {"python": "3.11.7", "torch": "2.13.0", "transformers": "4.40.0", "tokenizers": "0.19.1", "peft": "0.16.0"}
IMPORT_ERROR = "ImportError: cannot import name 'EncoderDecoderCache' from 'transformers' (/x/__init__.py)"


def with_results(c: CellResult, imports: bool, trains: bool | None) -> CellResult:
    c.results = [ProbeResult("peft-import", "peft", Mode.NATIVE, Status.PASS if imports else Status.FAIL)]
    if trains is not None:
        c.results.append(ProbeResult("training-step", "instructblip-t5", Mode.PATCHED,
                                     Status.PASS if trains else Status.FAIL))
    return c


def matrix_cell(name, transformers, peft, imports=True, trains=True):
    return with_results(CellResult(name, {"transformers": transformers, "peft": peft}), imports, trains)


def test_broken_pair_is_unfixed_and_gets_both_measured_pins():
    every_fix = {issue.id: "some_patch" for issue in known_issues.all_issues()}  # peft-import stays unfixed
    d = doctor.diagnose(BROKEN, [], every_fix, import_error=IMPORT_ERROR, import_checked=True)
    assert d.to_json()["issues"][0] == "peft-import" and d.unfixed == ["peft-import"] and d.exit_code == 1
    pins = d.to_json()["pins"]
    newest = peft_pins.newest_peft_for("4.40.0")
    assert pins == {"peft": f"=={newest.peft}", "transformers": peft_pins.row_for("0.16.0").trains}
    assert pins["transformers"] == ">=4.44.0,<5.0.0"
    evidence = d.to_json()["evidence"]
    assert evidence["issues"]["peft-import"]["sources"] == [f"import check: {IMPORT_ERROR}"]
    assert all(s.startswith("measured: ") for s in evidence["pins"]["peft"]["sources"])
    assert {"inputs-embeds-unexpected", "tokenizer-format", "image-token-expansion"} <= set(d.to_json()["issues"])


def test_without_an_import_check_the_table_and_matrix_decide():
    matrix = [matrix_cell("t4.40-p0.16", "4.40.2", "0.16.0", imports=False, trains=None)]
    d = doctor.diagnose(BROKEN, matrix, FIXES)
    sources = d.to_json()["evidence"]["issues"]["peft-import"]["sources"]
    assert sources[0].startswith("measured: peft 0.16.0 imports with transformers>=4.44.0")
    assert sources[1] == "matrix: cell t4.40-p0.16 (transformers 4.40.2, peft 0.16.0): peft-import fails"


def test_matrix_cells_add_evidence_and_contradictions_remove_candidates():
    newest = peft_pins.newest_peft_for("4.40.0").peft
    matrix = [matrix_cell("agree", "4.40.2", newest),
              matrix_cell("older", "4.40.2", "0.10.0"),
              matrix_cell("other-minor", "4.45.2", "0.15.2")]
    d = doctor.diagnose(BROKEN, matrix, FIXES, import_error=IMPORT_ERROR, import_checked=True)
    peft_pin = d.pins[0]
    assert peft_pin.specifier == f"=={newest}"
    assert f"matrix: cell agree (transformers 4.40.2, peft {newest}): peft-import and training-step pass" \
        in peft_pin.evidence
    contradicted = [matrix_cell("contra", "4.40.2", newest, imports=True, trains=False),
                    matrix_cell("older", "4.40.2", "0.10.0")]
    d = doctor.diagnose(BROKEN, contradicted, FIXES, import_error=IMPORT_ERROR, import_checked=True)
    from packaging.version import Version

    others = [row.version for row in peft_pins.MEASURED
              if peft_pins.trains_with(row, "4.40.0") and row.peft != newest] + [Version("0.10.0")]
    assert d.pins[0].specifier == f"=={max(others)}"
    assert any("contradicts the measured table" in note for note in d.notes)


def test_unmeasured_peft_falls_back_to_matrix_or_says_so():
    versions = {**BROKEN, "peft": "0.2.0"}
    d = doctor.diagnose(versions, [matrix_cell("m", "4.30.2", "0.2.0")], FIXES, import_checked=True)
    assert d.to_json()["pins"]["transformers"] == ">=4.30.2"
    d = doctor.diagnose(versions, [], FIXES, import_checked=True)
    assert "transformers" not in d.to_json()["pins"]
    assert any("no measurement or matrix cell covers peft 0.2.0" in note for note in d.notes)


def test_working_environment_with_patched_issues_exits_zero():
    versions = {"python": "3.11.7", "torch": "2.13.0", "transformers": "4.57.6", "tokenizers": "0.22.1",
                "peft": "0.17.1"}
    every_fix = {issue.id: "some_patch" for issue in known_issues.all_issues()}
    d = doctor.diagnose(versions, [], every_fix, import_error=None, import_checked=True)
    assert "peft-import" not in d.to_json()["issues"] and d.exit_code == 0
    d = doctor.diagnose(versions, [], {}, import_error=None, import_checked=True)
    assert "image-token-expansion" in d.unfixed and d.exit_code == 1  # nothing shipped fixes it


def test_catalogue_ranges_are_matched_per_package():
    ids = [issue.id for issue, _ in doctor.catalogue_issues(BROKEN)]
    assert {"inputs-embeds-unexpected", "tokenizer-format", "image-token-expansion"} <= set(ids)
    assert "inputs-embeds-duplicate" not in ids and "peft-import" not in ids  # peft-import: live check/table
    ids = [i.id for i, _ in doctor.catalogue_issues({"transformers": "4.53.0", "tokenizers": "0.21.1"})]
    assert "inputs-embeds-duplicate" in ids and "inputs-embeds-unexpected" not in ids and "tokenizer-format" not in ids
    assert doctor.catalogue_issues({}) == []  # nothing installed, nothing applies


def _cli(*args: str, python: str = sys.executable, cwd: Path = REPO) -> subprocess.CompletedProcess:
    return subprocess.run([python, "-m", "vlmcompat", "doctor", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=600)


def test_cli_json_on_this_host():
    proc = _cli("--json", "--no-import-check", "--results", str(REPO / "tests" / "does-not-exist.json"))
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "no such file" in proc.stderr
    proc = _cli("--json", "--no-import-check")
    data = json.loads(proc.stdout)
    assert set(data) >= {"versions", "issues", "pins", "evidence", "unfixed"}
    assert proc.returncode == (1 if data["unfixed"] else 0)
    assert data["versions"]["peft"] is not None


@pytest.mark.slow
def test_cli_text_runs_the_live_import_check():
    proc = _cli()
    assert "Installed:" in proc.stdout and proc.returncode in (0, 1)
    assert "peft-import [UNFIXED]" not in proc.stdout  # peft imports on this host



def test_measured_table_matches_the_recorded_measurements():
    """Every row of peft_pins.MEASURED is backed by benchmarks/pin_advice.json evaluations."""
    data = json.loads((REPO / "benchmarks" / "pin_advice.json").read_text())["evaluations"]
    from packaging.version import Version

    for row in peft_pins.MEASURED:
        evals = data[row.peft]

        def works(t: str, evals=evals) -> bool:
            r = evals[t]
            train = r.get("train") or {"none": "not trained"}
            return (r.get("install") == "ok" and r.get("import_error") is None and r.get("trainer_error") is None
                    and all(v is None or v.startswith("skip:") for v in train.values()))

        assert works(row.min_trains), row
        assert evals[row.min_imports].get("import_error") is None, row
        older = [t for t in evals if Version(t) < Version(row.min_imports)]
        if older:
            newest_failing = max(older, key=Version)
            assert evals[newest_failing].get("import_error") or evals[newest_failing].get("install") != "ok", row
        if row.trains_below:
            assert not works(row.trains_below), row
        inside = [t for t in evals if peft_pins.trains_with(row, t)]
        assert inside and all(works(t) for t in inside), row


def test_pair_that_imports_but_cannot_train_exits_one():
    versions = {**BROKEN, "transformers": "4.45.2", "peft": "0.18.1"}
    d = doctor.diagnose(versions, [], FIXES, import_error=None, import_checked=True)
    assert "peft-import" not in d.to_json()["issues"] and d.peft_trains is False and d.exit_code == 1
    assert any("imports but does not train with transformers 4.45.2" in note for note in d.notes)
    assert d.to_json()["pins"]["transformers"] == ">=4.47.0,<5.18.0"


def test_no_peft_0_13_advice_for_transformers_4_34():
    """Measured: peft 0.13.2 cannot import huggingface_hub.errors beside transformers 4.34.1
    (tokenizers 0.14 pins huggingface_hub<0.18); peft 0.12.0 imports and trains there."""
    from vlmcompat import peft_pins

    assert peft_pins.newest_peft_for("4.34.1").peft == "0.12.0"
    assert peft_pins.newest_peft_for("4.33.3").peft == "0.13.2"
    assert not peft_pins.imports_with(peft_pins.row_for("0.13.2"), "4.34.1")

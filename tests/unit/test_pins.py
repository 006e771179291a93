"""Supported ranges from the evidence (vlmcompat.pins) and `vlmcompat pins`."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from vlmcompat import cli, pins
from vlmcompat.commands import pins as pins_cmd
from vlmcompat.results import CellResult, InstallInfo, InstallStatus, Mode, ProbeResult, Status, load_merged
from vlmcompat.results import load_results as load_cells

ROOT = Path(__file__).resolve().parents[2]
SWEEP = ROOT / "reports" / "sweep" / "compat.json"
FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "report"
CASES = {"pins-instructblip-t5.txt": (["instructblip-t5"], False),
         "pins-instructblip-t5-patched.txt": (["instructblip-t5"], True),
         "pins-llava-patched.txt": (["llava"], True),
         "pins-all-patched.txt": (None, True)}


def cell(version: str, status: Status, issue: str | None = None, install: InstallStatus = InstallStatus.OK,
         peft: str = "0.13.2") -> CellResult:
    """A one-family cell (family "f", probes a and b) whose probe a has ``status``; b passes."""
    results = [ProbeResult("a", "f", Mode.NATIVE, status, issue), ProbeResult("b", "f", Mode.NATIVE, Status.PASS)]
    return CellResult(f"t{version}", {"transformers": version, "peft": peft}, InstallInfo(install), results)


FAIL = (Status.FAIL, "inputs-embeds-unexpected")  # a version-dependent issue
NAN = (Status.FAIL, "nan-loss-all-masked")  # no version avoids it


def spec(cells: list[CellResult]) -> str:
    return pins.compute(cells, ["f"]).ranges["transformers"].specifier


def test_a_failing_line_between_adjacent_passing_lines_is_excluded():
    cells = [cell("4.53.3", *FAIL), cell("4.54.1", Status.PASS), cell("4.55.4", *FAIL), cell("4.56.2", Status.PASS)]
    assert spec(cells) == ">=4.54,!=4.55.*"


def test_an_untested_stretch_is_a_gap_not_a_guess():
    cells = [cell("4.44.2", Status.PASS), cell("4.52.4", *FAIL)]
    result = pins.compute(cells, ["f"]).ranges["transformers"]
    assert result.specifier == ">=4.44,<4.45"
    (gap,) = result.gaps
    text = gap.text(["f"])
    assert "4.44.2" in text and "4.52.4" in text and "have no cell between them" in text
    assert "`vlmcompat bisect --probe a --family f --package transformers --good 4.44.2 --bad 4.52.4 " \
           "--with peft==0.13.2`" in text


def test_a_failing_stretch_with_a_gap_keeps_the_newest_passing_run():
    cells = [cell("4.40.0", Status.PASS), cell("4.44.0", *FAIL), cell("4.45.0", *FAIL), cell("4.46.0", Status.PASS)]
    result = pins.compute(cells, ["f"]).ranges["transformers"]
    assert result.specifier == ">=4.46"
    assert result.also == ["4.40 (t4.40.0)"]


def test_failures_no_version_avoids_do_not_move_bounds():
    cells = [cell("4.54.1", *NAN), cell("4.55.4", Status.PASS)]
    result = pins.compute(cells, ["f"])
    assert result.ranges["transformers"].specifier == ">=4.54"
    assert result.not_a_pin_problem == {"nan-loss-all-masked": ["t4.54.1"]}


def test_unknown_failures_and_failed_installs_are_not_evidence():
    cells = [cell("4.53.3", *FAIL), cell("4.54.1", Status.CRASH), cell("4.55.4", Status.PASS),
             cell("4.56.0", Status.PASS, install=InstallStatus.NOT_FOUND)]
    result = pins.compute(cells, ["f"]).ranges["transformers"]
    assert result.specifier == ">=4.55"
    assert result.gaps and result.gaps[0].older.version == Version("4.53.3")


def test_a_line_whose_cells_disagree_counts_as_failing():
    cells = [cell("4.52.0", *FAIL), cell("4.52.4", Status.PASS), cell("4.53.0", Status.PASS)]
    result = pins.compute(cells, ["f"]).ranges["transformers"]
    assert result.specifier == ">=4.53"
    assert result.bounds[0].evidence.startswith("t4.52.0 a fails (inputs-embeds-unexpected); t4.53.0 passes")


def test_nothing_passes_gives_no_specifier():
    assert spec([cell("4.53.3", *FAIL)]) == ""


def test_a_major_release_follows_the_last_minor():
    cells = [cell("4.57.6", Status.PASS), cell("5.0.0", *FAIL)]
    result = pins.compute(cells, ["f"]).ranges["transformers"]
    assert result.specifier == ">=4.57,<5.0" and not result.gaps


def test_peft_range_comes_from_the_cells_inside_the_transformers_range():
    cells = [cell("4.53.3", *FAIL, peft="0.8.2"), cell("4.54.1", Status.PASS, peft="0.16.0"),
             cell("4.55.4", Status.PASS, peft="0.17.1")]
    result = pins.compute(cells, ["f"])
    assert result.ranges["transformers"].specifier == ">=4.54"
    assert result.ranges["peft"].specifier == ">=0.16"


# the 51-cell InstructBLIP sweep (every transformers minor 4.31 -> 5.23)

def test_sweep_stock_instructblip_t5_bounds_name_their_cells():
    result = pins.compute(load_merged(SWEEP), ["instructblip-t5"])
    rng = result.ranges["transformers"]
    assert rng.specifier == ">=4.54,<4.55"
    lower, upper = rng.bounds
    assert "t4.53.3-peft0.13.2 peft-wrapper fails (inputs-embeds-duplicate)" in lower.evidence
    assert "t4.54.1-peft0.13.2 passes" in lower.evidence
    assert "t4.55.4-peft0.13.2 image-tokens fails (image-token-expansion)" in upper.evidence
    assert {s.issue: s.spans for s in result.by_issue}["image-token-expansion"] == ["4.31–4.44", "4.55–5.23"]


@pytest.mark.parametrize("patched", [False, True])
@pytest.mark.parametrize("family", ["instructblip-t5", "instructblip-llama"])
def test_sweep_ranges_agree_with_every_cell(family, patched):
    """Inside the specifier: every probe of the family passes; outside: something version-dependent fails."""
    cells = load_merged(SWEEP)
    result = pins.compute(cells, [family], patched=patched)
    specifier = SpecifierSet(result.ranges["transformers"].specifier) if result.ranges["transformers"].specifier \
        else None
    mode = Mode.PATCHED if patched else Mode.NATIVE
    for c in cells:
        mine = [r for r in c.results if r.family == family and r.mode is mode]
        passes = all(r.status is Status.PASS for r in mine)
        inside = specifier is not None and Version(c.versions["transformers"]) in specifier
        assert inside == passes, (c.cell, [r.key for r in mine if r.status is not Status.PASS])


def test_sweep_patched_covers_every_minor_the_sweep_passed():
    cells = load_merged(SWEEP)
    result = pins.compute(cells, ["instructblip-t5"], patched=True)
    assert result.ranges["transformers"].specifier == ">=4.31"
    assert all(result.ranges["transformers"].contains(c.versions["transformers"]) for c in cells)


def test_pins_command_on_the_sweep(capsys):
    assert cli.main(["pins", "--family", "instructblip-t5", "--report", str(SWEEP)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-2:] == ["transformers>=4.54,<4.55", "peft>=0.13"]
    assert all(line.startswith("#") for line in out.splitlines()[:-2])


@pytest.mark.parametrize("name", sorted(CASES))
def test_pins_text_exact(name):
    families, patched = CASES[name]
    text = pins_cmd.render(pins.compute(load_cells(FIXTURES / "cells"), families, patched), "requirements", "cells/")
    assert text == (FIXTURES / "expected" / name).read_text(encoding="utf-8")


def test_formats():
    result = pins.compute(load_merged(SWEEP), ["instructblip-t5"], patched=True)
    toml = pins_cmd.render(result, "toml")
    assert toml.endswith('dependencies = [\n    "transformers>=4.31",\n    "peft>=0.13",\n]\n')
    import tomllib

    assert tomllib.loads(toml)["dependencies"] == ["transformers>=4.31", "peft>=0.13"]
    constraints = pins_cmd.render(result, "constraints")
    assert "pip install -c constraints.txt" in constraints and constraints.endswith("transformers>=4.31\npeft>=0.13\n")


def test_nothing_to_pin_exits_1_and_says_so(capsys):
    assert cli.main(["pins", "--family", "llava", "--report", str(ROOT / "reports" / "compat.json")]) == 1
    captured = capsys.readouterr()
    assert "no transformers release" in captured.err and "--patched" in captured.err
    assert "not a pin problem: nan-loss-all-masked" in captured.out


def test_bad_input_is_one_line(capsys, tmp_path):
    assert cli.main(["pins", "--family", "nope", "--report", str(SWEEP)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "instructblip-t5, instructblip-llama" in err
    assert cli.main(["pins", "--report", str(tmp_path / "none.json")]) == 2
    assert "nox -s matrix" in capsys.readouterr().err

"""compat.svg: deterministic bytes, one square per probe × family × cell with its outcome, and a
markdown that still works (and says how to get the picture) without matplotlib."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from vlmcompat import cli
from vlmcompat.report import Outcome, is_environment, markdown, outcome, pair, svg
from vlmcompat.results import load_merged
from vlmcompat.results import load_results as load_cells

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "report" / "cells"
COMMITTED = [ROOT / "reports" / "compat.json", ROOT / "reports" / "sweep" / "compat.json"]
needs_matplotlib = pytest.mark.skipif(not svg.available(), reason="matplotlib is not installed (the [report] extra)")


def squares(text: str) -> dict[tuple[str, str, str], str]:
    """(cell, family group, probe) -> OUTCOME name, from the ids of the svg's squares."""
    found = {}
    for element in ET.fromstring(text).iter():
        gid = element.get("id", "")
        if gid.startswith("result:"):
            _, cell, group, probe, name = gid.split(":")
            found[(cell, group, probe)] = name
    return found


@needs_matplotlib
def test_same_results_same_bytes():
    cells = load_cells(FIXTURES)
    first = svg.render(cells)
    assert first == svg.render(load_cells(FIXTURES))
    assert "<dc:date>" not in first and "vlmcompat report" in first


@needs_matplotlib
def test_a_picture_is_redrawn_only_when_what_it_shows_changes(tmp_path, monkeypatch):
    import dataclasses

    from vlmcompat.commands import report
    from vlmcompat.results import Status

    cells = load_cells(FIXTURES)
    picture = svg.render(cells)
    assert svg.is_current(picture, cells) and svg.is_current(picture, load_cells(FIXTURES))
    changed = [dataclasses.replace(cells[0], results=[dataclasses.replace(r, status=Status.SKIP)
                                                      for r in cells[0].results]), *cells[1:]]
    renamed = [dataclasses.replace(cells[0], cell="other"), *cells[1:]]
    assert not svg.is_current(picture, renamed)
    assert not svg.is_current(picture, changed)
    md, merged = tmp_path / "compat.md", tmp_path / "compat.json"
    report.write_reports(FIXTURES, str(md), str(merged), announce=False)  # draws the picture
    drawn = []
    monkeypatch.setattr(svg, "_draw", lambda c: drawn.append(len(c)) or picture)
    report.write_reports(FIXTURES, str(md), str(merged), announce=False)
    assert drawn == []  # what it shows is unchanged: no matplotlib at all
    (tmp_path / "compat.svg").write_text("<svg/>")
    report.write_reports(FIXTURES, str(md), str(merged), announce=False)
    assert drawn == [len(cells)]


@needs_matplotlib
def test_every_result_is_a_square_with_its_outcome():
    cells = load_cells(FIXTURES)
    shown = squares(svg.render(cells))
    assert shown[("t4.28.0-tok0.13.2-peft0.8.2", "instructblip-t5", "model-class")] == "FIXED"
    assert shown[("t4.28.0-tok0.13.2-peft0.8.2", "llava", "peft-wrapper")] == "SKIP"
    assert shown[("newest", "environment", "tokenizer-format")] == "PASS"
    assert len(shown) == 5 * (2 * 9 + 2)


@needs_matplotlib
def test_a_cell_that_did_not_install_is_grey():
    cells = load_cells(Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "results")
    shown = squares(svg.render(cells))
    assert shown[("t4.99.0-peft0.16.0", "instructblip-t5", "model-class")] == "NOT_INSTALLED"
    assert shown[("newest", "instructblip-t5", "model-class")] == "FAILING"
    assert shown[("newest", "instructblip-llama", "peft-wrapper")] == "NOT_RUN"


@pytest.mark.parametrize("path", COMMITTED, ids=["default", "sweep"])
def test_committed_picture_shows_every_result(path):
    cells = load_merged(path)
    shown = squares((path.parent / "compat.svg").read_text(encoding="utf-8"))
    for cell in cells:
        for result in cell.results:
            family = None if is_environment(result) else result.family
            key = (cell.cell, family or "environment", result.probe)
            assert key in shown, f"{key} is in compat.json but not in compat.svg"
            assert shown[key] == outcome(cell, *pair(cell, result.probe, family)).name
    assert set(shown.values()) <= {o.name for o in Outcome}


def test_outcomes_of_pairs():
    cells = load_cells(FIXTURES)
    t428 = next(c for c in cells if c.cell.startswith("t4.28"))
    assert outcome(t428, *pair(t428, "model-class", "instructblip-t5")) is Outcome.FIXED
    assert outcome(t428, *pair(t428, "model-class", "llava")) is Outcome.SKIP
    assert outcome(t428, *pair(t428, "tokenizer-format", None)) is Outcome.FIXED
    assert outcome(t428, *pair(t428, "nope", "llava")) is Outcome.NOT_RUN


def test_markdown_without_the_picture_says_how_to_get_it():
    text = markdown.render(load_cells(FIXTURES))
    assert "pip install 'vlmcompat[report]'" in text and "![" not in text


def test_report_without_matplotlib_writes_the_markdown_and_says_why(tmp_path):
    """A fresh interpreter where matplotlib cannot be imported: compat.md is written, no svg."""
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "import importlib.util as u; real = u.find_spec\n"
            "u.find_spec = lambda name, *a: None if name == 'matplotlib' else real(name, *a)\n"
            "from vlmcompat.cli import main\n"
            f"sys.exit(main(['report', {str(FIXTURES)!r}, '--md', {str(tmp_path / 'compat.md')!r}, '--json', '']))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "compat.svg").exists()
    assert "pip install 'vlmcompat[report]'" in (tmp_path / "compat.md").read_text(encoding="utf-8")
    assert "no picture" in proc.stderr


@needs_matplotlib
def test_report_links_the_picture_beside_the_markdown(tmp_path):
    md = tmp_path / "out" / "compat.md"
    assert cli.main(["report", str(FIXTURES), "--md", str(md), "--json", ""]) == 0
    assert (tmp_path / "out" / "compat.svg").is_file()
    assert "![Every result" in md.read_text(encoding="utf-8") and "(compat.svg)" in md.read_text(encoding="utf-8")
    assert re.search(r"<svg", (tmp_path / "out" / "compat.svg").read_text(encoding="utf-8"))


@needs_matplotlib
def test_drawing_logs_nothing_where_the_host_logs_debug(caplog):
    """nox logs DEBUG; matplotlib's font lookups must not flood a matrix run's output."""
    import logging

    from matplotlib import font_manager

    font_manager.fontManager._findfont_cached.cache_clear()  # look the fonts up again, as a fresh process does
    with caplog.at_level(logging.DEBUG):
        svg.render(load_cells(FIXTURES))
    assert not [r for r in caplog.records if r.name.startswith("matplotlib")]

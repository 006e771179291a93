"""bisect and gate --requirements on real releases (builds cells: marked cells + slow)."""

from __future__ import annotations

import json

import pytest
from packaging.version import Version

from vlmcompat import bisection, cli

pytestmark = [pytest.mark.cells, pytest.mark.slow, pytest.mark.network]


@pytest.fixture
def cache(uv, tmp_path, monkeypatch):
    monkeypatch.setenv("VLMCOMPAT_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_bisect_finds_the_first_transformers_with_instructblip(cache, capsys):
    versions = bisection.between(bisection.releases("transformers"), "4.30.1", "4.31.0")
    assert [str(v) for v in versions] == ["4.30.1", "4.30.2", "4.31.0"]
    outcome = bisection.ProbeOutcome("transformers", "model-class", "instructblip-t5")
    result = bisection.search(versions, outcome)
    assert result.first_changed == Version("4.31.0") and result.last_good == Version("4.30.2")
    assert (result.good, result.changed_to) == ("fail (model-class-missing)", "pass")
    assert json.loads(outcome.cache_file.read_text())["4.31.0"] == "pass"  # cached per release


def test_gate_requirements_answers_for_the_users_path(cache, tmp_path, monkeypatch, capsys):
    """Stock results decide by default (a project that does not import vlmcompat.patch is broken by
    the bump); with --patched the patched results decide and the stock failure is only a change."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "requirements.txt").write_text("transformers==4.53.3\npeft==0.16.0  # the bot's bump\n")
    args = ["gate", "--requirements", "requirements.txt", "--family", "instructblip-t5", "--probe", "peft-wrapper",
            "--json"]
    code = cli.main(args)
    data = json.loads(capsys.readouterr().out)
    assert code == 1, data
    assert [(c["mode"], c["issue"]) for c in data["regressions"]] == [("native", "inputs-embeds-duplicate")]
    code = cli.main([*args, "--patched"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0, data
    assert data["regressions"] == []
    assert [(c["mode"], c["now"]) for c in data["changed"]] == [("native", "fail (inputs-embeds-duplicate)")]
    assert "import vlmcompat.patch" in data["changed"][0]["why"]

"""``vlmcompat tokenizer migrate``: writes only on success, one-line refusals, exit codes."""

from __future__ import annotations

import json

from vlmcompat.cli import main
from vlmcompat.probes.tokenizer_format import FIXTURES


def test_migrate_writes_old_format(tmp_path, capsys):
    out = tmp_path / "tok.json"
    assert main(["tokenizer", "migrate", str(FIXTURES / "opt-bytelevel.json"), str(out), "--to", "0.19.1"]) == 0
    assert isinstance(json.loads(out.read_text())["model"]["merges"][0], str)
    assert "bpe-merges-as-strings" in capsys.readouterr().out


def test_migrate_json_output(tmp_path, capsys):
    out = tmp_path / "tok.json"
    assert main(["tokenizer", "migrate", str(FIXTURES / "t5-unigram.json"), str(out), "--to", "0.15.2", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["target"] == "0.15.2"
    assert [c.split(":")[0] for c in data["changes"]] == ["metaspace-split", "metaspace-add-prefix-space"]


def test_refusal_is_one_line_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "tok.json"
    assert main(["tokenizer", "migrate", str(FIXTURES / "llama2-bpe.json"), str(out), "--to", "0.13.2"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "decoder Replace" in err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_missing_input_exits_2(tmp_path, capsys):
    assert main(["tokenizer", "migrate", str(tmp_path / "nope.json"), str(tmp_path / "o.json")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_default_target_is_installed_tokenizers(tmp_path, capsys):
    out = tmp_path / "tok.json"
    assert main(["tokenizer", "migrate", str(FIXTURES / "opt-bytelevel.json"), str(out)]) == 0
    assert "nothing changed" in capsys.readouterr().out

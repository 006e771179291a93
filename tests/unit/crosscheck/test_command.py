"""`vlmcompat crosscheck`: reading with nothing written is one line (exit 2); the default cell id comes from
the installed versions; the artifacts folder lists only complete writer × family sets."""

from __future__ import annotations

import json

from vlmcompat import cli
from vlmcompat.commands import crosscheck as command
from vlmcompat.crosscheck import artifacts


def test_reading_without_artifacts_says_what_to_run(tmp_path, capsys):
    assert cli.main(["crosscheck", "read", "--cell", "c", "--reports", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vlmcompat: error: no artifacts to read under") and "crosscheck write" in err
    assert len(err.strip().splitlines()) == 1


def test_the_default_cell_names_transformers_and_peft(monkeypatch):
    from packaging.version import Version

    from vlmcompat import versions

    monkeypatch.setattr(versions, "installed", lambda pkg: {"transformers": Version("4.51.3"),
                                                            "peft": Version("0.17.1")}.get(pkg))
    assert command.default_cell() == "t4.51.3-peft0.17.1"


def test_only_complete_artifact_sets_are_read(tmp_path):
    done = tmp_path / artifacts.ARTIFACTS_SUBDIR / "t4.51.3" / "llava"
    done.mkdir(parents=True)
    (done / artifacts.VERSIONS).write_text(json.dumps({"transformers": "4.51.3"}))
    (done / artifacts.REFERENCE).write_bytes(b"")
    (tmp_path / artifacts.ARTIFACTS_SUBDIR / "t4.52.4" / "llava").mkdir(parents=True)  # a writer that died
    found = artifacts.written(tmp_path)
    assert [(w.cell, w.family) for w in found] == [("t4.51.3", "llava")]
    assert found[0].versions == {"transformers": "4.51.3"}
    assert artifacts.written(tmp_path, cells=("t4.52.4",)) == []

"""Bad input: one line naming the file (and the field), exit 2, nothing half-written."""

import json

import pytest

from tests.faults.conftest import cell_json

BAD_MATRIX = '[[cell]]\ntranformers = "4.44.0"\n'
UNKNOWN_KEY = "matrix.toml:2: unknown key 'tranformers' in cell #1; known keys: name, transformers, tokenizers, " \
              "peft, trl, torch, extras, expect, model, run"


@pytest.fixture(params=["unknown-key", "not-utf8"])
def bad_matrix(request, tmp_path):
    path = tmp_path / "matrix.toml"
    if request.param == "unknown-key":
        path.write_text(BAD_MATRIX)
        return path, UNKNOWN_KEY.replace("matrix.toml", str(path))
    path.write_bytes(b'[[cell]]\ntransformers = "4.44.0" # \xff\xfe\n')
    return path, f"{path}: not UTF-8 text (byte 35); save matrix.toml as UTF-8"


def test_bad_matrix_is_one_line_for_every_command(faults, tmp_path, bad_matrix):
    path, message = bad_matrix
    cells = tmp_path / "cells"
    cell_json(cells / "c.json")
    baseline = tmp_path / "baseline.json"
    assert faults.report(cells, tmp_path / "a.md", baseline).returncode == 0
    for args in (["report", str(cells), "--md", str(tmp_path / "b.md"), "--json", str(tmp_path / "b.json"),
                  "--matrix", str(path)],
                 ["gate", "--baseline", str(baseline), "--results", str(cells), "--matrix", str(path)]):
        proc = faults.vlmcompat(*args)
        assert (proc.returncode, proc.stderr) == (2, f"vlmcompat: error: {message}\n"), args
    assert not (tmp_path / "b.md").exists()


def test_bad_matrix_under_nox_is_one_line_and_the_other_sessions_still_run(faults, tmp_path, bad_matrix):
    path, message = bad_matrix
    proc = faults.run("-m", "nox", "-l", env=faults.env(VLMCOMPAT_MATRIX=str(path)))
    assert proc.returncode == 0
    assert proc.stderr.strip().splitlines() == [f"nox: {message}"]
    assert "* tests" in proc.stdout and "- report" in proc.stdout and "- matrix(invalid-matrix)" in proc.stdout
    proc = faults.run("-m", "nox", "-s", "matrix", "--envdir", str(tmp_path / ".nox"),
                      env=faults.env(VLMCOMPAT_MATRIX=str(path)))
    assert proc.returncode == 1 and f"nox > Session matrix(invalid-matrix) aborted: {message}." in proc.stderr


CORRUPT = [
    ("random-bytes", b"\x89PNG\r\n\x1a\n\x00\x00", "{path}: not a JSON text file (byte 0 is not UTF-8); "
                                                  "pass a vlmcompat results file"),
    ("results-not-objects", {"results": ["x"]}, '{path}: results[0]: expected an object, got "x"; '
                                               "regenerate it with `vlmcompat probe --json`"),
    ("versions-a-list", {"versions": [1]}, "{path}: versions: expected an object, got [1]; "
                                           "regenerate it with `vlmcompat probe --json`"),
    ("cell-null", {"cell": None}, "{path}: cell: expected a string, got null; "
                                  "regenerate it with `vlmcompat probe --json`"),
    ("status-unknown", {"results": [{"probe": "p", "family": "*", "mode": "native", "status": "exploded"}]},
     '{path}: results[0].status: expected one of pass, fail, error, skip, timeout, crash, interrupted, got '
     '"exploded"; regenerate it with `vlmcompat probe --json`'),
]


@pytest.mark.parametrize("name, content, message", CORRUPT, ids=[c[0] for c in CORRUPT])
def test_corrupt_cell_json_is_one_line_naming_file_and_field(faults, tmp_path, name, content, message):
    cells = tmp_path / "cells"
    cell_json(cells / "a.json", cell="a")
    bad = cells / "b.json"
    if isinstance(content, bytes):
        bad.write_bytes(content)
    else:
        cell_json(bad, **content)
    expected = f"vlmcompat: error: {message.format(path=bad)}\n"
    md = tmp_path / "compat.md"
    proc = faults.vlmcompat("report", str(cells), "--md", str(md), "--json", str(tmp_path / "compat.json"))
    assert (proc.returncode, proc.stderr) == (2, expected)
    assert not md.exists() and not (tmp_path / "compat.json").exists(), "nothing half-written"
    baseline = tmp_path / "baseline.json"
    baseline.write_text(json.dumps({"schema_version": 1, "generated": "x", "cells": []}))
    proc = faults.vlmcompat("gate", "--baseline", str(baseline), "--results", str(cells))
    assert (proc.returncode, proc.stderr) == (2, expected)


def test_binary_baseline_and_duplicate_cells(faults, tmp_path):
    cells = tmp_path / "cells"
    cell_json(cells / "a.json", cell="same")
    baseline = tmp_path / "baseline.json"
    baseline.write_bytes(bytes(range(256)))
    proc = faults.vlmcompat("gate", "--baseline", str(baseline), "--results", str(cells))
    assert (proc.returncode, proc.stderr) == (2, f"vlmcompat: error: {baseline}: not a JSON text file (byte 128 is not "
                                                 "UTF-8); pass a vlmcompat results file\n")
    cell_json(cells / "b.json", cell="same")
    message = f"vlmcompat: error: {cells / 'b.json'}: cell 'same' is also in {cells / 'a.json'}; remove one of them\n"
    proc = faults.vlmcompat("report", str(cells), "--md", str(tmp_path / "m.md"), "--json", str(tmp_path / "m.json"))
    assert (proc.returncode, proc.stderr) == (2, message)
    baseline.write_text(json.dumps({"schema_version": 1, "generated": "x", "cells": []}))
    proc = faults.vlmcompat("gate", "--baseline", str(baseline), "--results", str(cells))
    assert (proc.returncode, proc.stderr) == (2, message)


TOKENIZERS = {
    "unknown-normalizer": (("normalizer", {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Frob"}]}),
                           "normalizer type 'Frob' at normalizer.normalizers[1] is unknown to every tokenizers "
                           "release"),
    "nested-decoder": (("decoder", {"type": "Sequence", "decoders": [{"type": "Fuse"}, {"type": "Wobble"}]}),
                       "decoder type 'Wobble' at decoder.decoders[1] is unknown to every tokenizers release"),
    "post-processor-without-type": (("post_processor", {"single": []}),
                                    "the post_processor at post_processor has no type"),
}


@pytest.mark.parametrize("case", sorted(TOKENIZERS))
@pytest.mark.parametrize("to", [[], ["--to", "0.15.2"]], ids=["installed", "0.15.2"])
def test_tokenizer_migrate_refuses_unknown_components_by_name_and_path(faults, tmp_path, case, to):
    from vlmcompat.probes.tokenizer_format import FIXTURES

    (slot, value), message = TOKENIZERS[case]
    doc = json.loads((FIXTURES / "llama2-bpe.json").read_text())
    doc[slot] = value
    src, dst = tmp_path / "tokenizer.json", tmp_path / "out.json"
    src.write_text(json.dumps(doc))
    proc = faults.vlmcompat("tokenizer", "migrate", str(src), str(dst), *to)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith(f"vlmcompat: error: cannot migrate: {message}")
    assert not dst.exists()


def test_already_readable_only_after_really_loading(faults, tmp_path):
    pytest.importorskip("tokenizers")
    from vlmcompat.probes.tokenizer_format import FIXTURES

    doc = json.loads((FIXTURES / "opt-bytelevel.json").read_text())
    src, dst = tmp_path / "tokenizer.json", tmp_path / "out.json"
    src.write_text(json.dumps(doc))
    proc = faults.vlmcompat("tokenizer", "migrate", str(src), str(dst))
    assert proc.returncode == 0 and "already readable by tokenizers" in proc.stdout
    assert "(loaded with it)" in proc.stdout
    doc["normalizer"] = {"type": "Replace"}  # a known type without its fields: no release can load it
    src.write_text(json.dumps(doc))
    dst.unlink()
    proc = faults.vlmcompat("tokenizer", "migrate", str(src), str(dst))
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1
    assert "cannot load the result" in proc.stderr and "nothing written" in proc.stderr and not dst.exists()


def test_unknown_patch_name_is_one_line(faults):
    code = "import vlmcompat.patch as p; p.apply(['bert'])"
    proc = faults.run("-c", code, env=faults.env(VLMCOMPAT_NO_AUTOPATCH="1"))
    assert proc.returncode == 1
    assert "UsageError: unknown patch 'bert'; vlmcompat's patches are: " in proc.stderr.splitlines()[-1]

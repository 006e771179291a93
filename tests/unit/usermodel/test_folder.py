"""A checkpoint folder is untrusted input: only known files are read, links stay inside, no code
and no pickle unless allowed."""

from __future__ import annotations

import gzip
import json

import pytest

from vlmcompat import usermodel
from vlmcompat.errors import InputFileError, UsageError
from vlmcompat.usermodel import folder
from vlmcompat.usermodel.folder import Access

LLAVA = {"architectures": ["LlavaForConditionalGeneration"], "model_type": "llava"}


def make(tmp_path, config=None, **files):
    root = tmp_path / "ckpt"
    root.mkdir()
    (root / "config.json").write_text(json.dumps(config or LLAVA))
    for name, text in files.items():
        (root / name.replace("__", ".")).write_text(text)
    return root


def test_only_known_files_are_staged_and_gz_files_are_decompressed(tmp_path):
    root = make(tmp_path, modeling_evil__py="raise SystemExit", tokenizer_config__json="{}")
    (root / "vocab.json.gz").write_bytes(gzip.compress(b'{"a": 0}'))
    (root / "model.safetensors").write_bytes(b"x")
    staged = folder.stage(root, Access(), tmp_path / "staged")
    assert sorted(p.name for p in staged.iterdir()) == ["config.json", "tokenizer_config.json", "vocab.json"]
    assert json.loads((staged / "vocab.json").read_text()) == {"a": 0}
    with_code = folder.stage(root, Access(full=True, trust_remote_code=True), tmp_path / "code")
    assert {"modeling_evil.py", "model.safetensors"} <= {p.name for p in with_code.iterdir()}


def test_a_link_that_leaves_the_folder_is_refused(tmp_path):
    root = make(tmp_path)
    secret = tmp_path / "secret.json"
    secret.write_text("{}")
    (root / "tokenizer.json").symlink_to(secret)
    with pytest.raises(InputFileError, match="outside the checkpoint folder"):
        folder.stage(root, Access(), tmp_path / "staged")


def test_a_link_inside_the_folder_is_read(tmp_path):
    root = make(tmp_path, tokenizer__json="{}")
    (root / "tokenizer_config.json").symlink_to(root / "tokenizer.json")
    assert (folder.stage(root, Access(), tmp_path / "s") / "tokenizer_config.json").read_text() == "{}"


def test_pickle_weights_need_allow_pickle(tmp_path):
    root = make(tmp_path)
    (root / "pytorch_model.bin").write_bytes(b"x")
    with pytest.raises(UsageError, match="pickle files .* --allow-pickle"):
        folder.check(root, Access(full=True))
    assert folder.check(root, Access(full=True, allow_pickle=True)) == root
    assert "pytorch_model.bin" not in [n for _, n in folder.files(root, Access(full=True))]


def test_full_without_weights_and_missing_config_are_one_line(tmp_path):
    root = make(tmp_path)
    with pytest.raises(UsageError, match="no weights"):
        folder.check(root, Access(full=True))
    with pytest.raises(UsageError, match="no config.json"):
        folder.check(tmp_path, Access())
    with pytest.raises(UsageError, match="no such folder"):
        folder.check(tmp_path / "nowhere", Access())


def test_custom_code_is_refused_without_the_flag(tmp_path):
    root = make(tmp_path, {"auto_map": {"AutoModel": "modeling_x.XModel"}, "model_type": "x"})
    with pytest.raises(UsageError, match="--trust-remote-code"):
        usermodel.activate(root)


def test_the_fingerprint_follows_the_files_and_flags(tmp_path):
    root = make(tmp_path, tokenizer__json="{}")
    first = folder.fingerprint(root, Access())
    assert first != folder.fingerprint(root, Access(full=True))
    (root / "tokenizer.json").write_text('{"changed": 1}')
    assert folder.fingerprint(root, Access()) != first

"""The tokenizer_load patch: passes stock loads through, reverts exactly (migration in cells: test_tokenizer_cells)."""

from __future__ import annotations

import pytest

from vlmcompat import patches
from vlmcompat.probes.tokenizer_format import FIXTURES, load_reference

tokenizers = pytest.importorskip("tokenizers")


@pytest.fixture(autouse=True)
def unpatched():
    patches.revert(["tokenizer_load"])
    yield
    patches.revert(["tokenizer_load"])


def test_apply_and_revert_restore_the_exact_descriptors():
    cls = tokenizers.Tokenizer
    before = {name: cls.__dict__[name] for name in ("from_file", "from_str", "from_buffer")}
    status = patches.apply(["tokenizer_load"])
    assert status["tokenizer_load"].startswith("applied")
    assert getattr(cls.from_file, "__vlmcompat_patched__", False)
    patches.apply(["tokenizer_load"])  # idempotent
    patches.revert(["tokenizer_load"])
    assert {name: cls.__dict__[name] for name in before} == before
    assert all(cls.__dict__[name] is before[name] for name in before)


def test_transformers_reaches_the_patched_constructor():
    tut = pytest.importorskip("transformers")
    patches.apply(["tokenizer_load"])
    try:
        from transformers import tokenization_utils_tokenizers as module
    except ImportError:
        from transformers import tokenization_utils_fast as module
    assert module.TokenizerFast is tokenizers.Tokenizer
    assert getattr(module.TokenizerFast.from_file, "__vlmcompat_patched__", False), tut.__version__


def test_patched_loads_pass_through_and_give_reference_ids():
    patches.apply(["tokenizer_load"])
    reference = load_reference()
    tok = tokenizers.Tokenizer.from_file(str(FIXTURES / "qwen2-bytelevel.json"))
    assert [tok.encode(s).ids for s in reference["corpus"]] == reference["ids"]["qwen2-bytelevel"]
    tok = tokenizers.Tokenizer.from_buffer((FIXTURES / "t5-unigram.json").read_bytes())
    assert tok.encode(reference["corpus"][0]).ids == reference["ids"]["t5-unigram"][0]


def test_other_errors_are_not_touched(tmp_path):
    patches.apply(["tokenizer_load"])
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(Exception) as info:
        tokenizers.Tokenizer.from_file(str(bad))
    assert "untagged enum" not in str(info.value)

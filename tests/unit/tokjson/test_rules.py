"""Each migration rule on small hand-written tokenizer.json fragments, refusals included."""

from __future__ import annotations

import pytest
from packaging.version import Version

from vlmcompat.errors import MigrationError, UsageError
from vlmcompat.tokjson import RULES, equivalence, migrate, rules


def bpe(merges, vocab=None, **extra):
    vocab = vocab or {"a": 0, "b": 1, "ab": 2}
    return {"version": "1.0", "added_tokens": [], "normalizer": None, "pre_tokenizer": None,
            "post_processor": None, "decoder": None,
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "fuse_unk": False, "byte_fallback": False,
                      "ignore_merges": False, "vocab": vocab, "merges": merges, **extra}}


def metaspace(**fields):
    return {"type": "Metaspace", "replacement": "▁", **fields}


def unigram_doc(pre, vocab=(("▁", -1.0), ("▁a", -2.0), ("a", -3.0))):
    return {"version": "1.0", "added_tokens": [], "normalizer": None, "pre_tokenizer": pre, "post_processor": None,
            "decoder": metaspace(prepend_scheme="always", split=True),
            "model": {"type": "Unigram", "unk_id": 0, "byte_fallback": False, "vocab": [list(v) for v in vocab]}}


def test_every_rule_documents_its_release():
    for rule in RULES:
        assert rule.apply.__doc__, rule.name
        assert isinstance(rule.changed_in, Version)


def test_merges_pairs_become_strings_below_0_20():
    out = migrate(bpe([["a", "b"]]), "0.19.1").document
    assert out["model"]["merges"] == ["a b"]
    assert migrate(bpe([["a", "b"]]), "0.20.0").document["model"]["merges"] == [["a", "b"]]


def test_merge_with_space_is_refused():
    with pytest.raises(MigrationError, match=r"model BPE merge \['a', ' b'\].*space"):
        migrate(bpe([["a", " b"]], vocab={"a": 0, " b": 1, "a b": 2}), "0.19.1")


def test_string_merges_are_left_alone():
    doc = bpe(["a b"])
    assert migrate(doc, "0.13.2").document["model"]["merges"] == ["a b"]


def test_ignore_merges_false_is_dropped_below_0_19_1():
    assert "ignore_merges" not in migrate(bpe([["a", "b"]]), "0.19.0").document["model"]
    assert migrate(bpe([["a", "b"]]), "0.19.1").document["model"]["ignore_merges"] is False


def test_ignore_merges_true_dropped_when_merges_rebuild_every_token():
    result = migrate(bpe([["a", "b"]], ignore_merges=True), "0.15.2")
    assert "ignore_merges" not in result.document["model"]
    assert any("no effect" in change for change in result.changes)


def test_ignore_merges_true_refused_when_it_changes_a_token():
    # "abc" is in the vocabulary, but the merges build "a" + "bc" and never "abc"
    doc = bpe([["b", "c"], ["a", "b"]], vocab={"a": 0, "b": 1, "c": 2, "bc": 3, "ab": 4, "abc": 5}, ignore_merges=True)
    with pytest.raises(MigrationError, match="ignore_merges=true.*'abc'"):
        migrate(doc, "0.19.0")


def test_bpe_segment_matches_rank_order():
    ranks = {("b", "c"): 0, ("a", "b"): 1}
    assert equivalence.bpe_segment("abc", ranks) == ["a", "bc"]
    assert equivalence.bpe_segment("aab", {("a", "b"): 0, ("a", "ab"): 1}) == ["aab"]


def test_bpe_byte_fallback_true_refused_before_0_13_3():
    with pytest.raises(MigrationError, match="byte_fallback=true does not exist before tokenizers 0.13.3"):
        migrate(bpe([["a", "b"]], byte_fallback=True), "0.13.2")
    assert migrate(bpe([["a", "b"]], byte_fallback=True), "0.13.3").document["model"]["byte_fallback"] is True
    assert "byte_fallback" not in migrate(bpe([["a", "b"]]), "0.13.2").document["model"]


def test_unigram_byte_fallback_refused_before_0_14():
    doc = unigram_doc(metaspace(prepend_scheme="always", split=True))
    doc["model"]["byte_fallback"] = True
    with pytest.raises(MigrationError, match="Unigram byte_fallback=true"):
        migrate(doc, "0.13.3")
    assert migrate(doc, "0.14.0").document["model"]["byte_fallback"] is True


def test_metaspace_for_0_15_keeps_prepend_scheme_and_adds_add_prefix_space():
    out = migrate(unigram_doc(metaspace(prepend_scheme="first", split=True)), "0.15.2").document
    assert out["pre_tokenizer"] == metaspace(prepend_scheme="first", add_prefix_space=True)
    assert out["decoder"] == metaspace(prepend_scheme="always", add_prefix_space=True)


def test_metaspace_for_0_14_has_only_add_prefix_space():
    out = migrate(unigram_doc(metaspace(prepend_scheme="never", split=True)), "0.14.1").document
    assert out["pre_tokenizer"] == metaspace(add_prefix_space=False)


def test_metaspace_first_refused_before_0_15():
    with pytest.raises(MigrationError, match=r"pre_tokenizer Metaspace at pre_tokenizer prepend_scheme='first'"):
        migrate(unigram_doc(metaspace(prepend_scheme="first", split=True)), "0.14.1")


def test_metaspace_split_false_dropped_when_no_token_spans_a_space():
    out = migrate(unigram_doc(metaspace(prepend_scheme="always", split=False)), "0.15.2").document
    assert "split" not in out["pre_tokenizer"]


def test_metaspace_split_false_refused_when_a_token_spans_a_space():
    doc = unigram_doc(metaspace(prepend_scheme="always", split=False),
                      vocab=(("▁", -1.0), ("▁a▁b", -2.0), ("a", -3.0)))
    with pytest.raises(MigrationError, match="split=false.*'▁a▁b'"):
        migrate(doc, "0.15.2")


def test_metaspace_in_a_sequence_is_found():
    pre = {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, metaspace(prepend_scheme="always",
                                                                                     split=True)]}
    out = migrate(unigram_doc(pre), "0.13.2").document
    assert out["pre_tokenizer"]["pretokenizers"][1] == metaspace(add_prefix_space=True)


def test_component_newer_than_target_is_refused_with_its_path():
    doc = bpe(["a b"])
    doc["decoder"] = {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]}
    with pytest.raises(MigrationError, match=r"decoder ByteFallback at decoder.decoders\[0\] does not exist before "
                                             r"tokenizers 0.13.3"):
        migrate(doc, "0.13.2")
    migrate(doc, "0.13.3")


def test_unknown_top_level_key_is_refused():
    doc = bpe(["a b"])
    doc["shiny"] = {}
    with pytest.raises(MigrationError, match="top-level key.*shiny"):
        migrate(doc, "0.23.3")


def test_old_metaspace_upgraded_for_new_readers():
    doc = unigram_doc(metaspace(add_prefix_space=False))
    out = migrate(doc, "0.21.1").document
    assert out["pre_tokenizer"] == metaspace(prepend_scheme="never", split=True)


def test_contradictory_old_metaspace_is_refused():
    with pytest.raises(MigrationError, match="disagree"):
        migrate(unigram_doc(metaspace(add_prefix_space=False, prepend_scheme="always")), "0.22.0")


def test_migrate_never_modifies_its_input_and_reports_no_changes_when_none_needed():
    doc = bpe([["a", "b"]])
    before = repr(doc)
    result = migrate(doc, "0.13.3")
    assert repr(doc) == before
    assert result.changed
    assert not migrate(doc, "0.23.3").changed


@pytest.mark.parametrize("bad", ["banana", "0.x"])
def test_bad_target_is_a_usage_error(bad):
    with pytest.raises(UsageError, match="not a version"):
        migrate(bpe(["a b"]), bad)


def test_not_a_tokenizer_json():
    with pytest.raises(MigrationError, match="not a tokenizer.json"):
        migrate({"hello": 1}, "0.15.2")


def test_rule_direction():
    down = rules.Rule("x", Version("0.20.0"), "", lambda d, t: None)
    up = rules.Rule("y", Version("0.19.0"), "", lambda d, t: None, direction="up")
    assert down.applies(Version("0.19.1")) and not down.applies(Version("0.20.0"))
    assert up.applies(Version("0.19.0")) and not up.applies(Version("0.15.2"))

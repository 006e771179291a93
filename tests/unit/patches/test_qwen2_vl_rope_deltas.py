"""qwen2_vl_rope_deltas: the cached M-RoPE offsets are forgotten for every forward that starts from
an empty cache, kept while decoding; applied only where the stock forward reuses them (4.47-4.48;
the cells test in tests/cells/test_sweep_fixes.py runs it on 4.47.1)."""

import pytest

from vlmcompat import known_issues
from vlmcompat.patches import qwen2_vl_rope_deltas as patch


class _Cache:
    def __init__(self, length):
        self.length = length

    def get_seq_length(self):
        return self.length


class _Stale:
    """What 4.47's forward does with the offsets, reduced to the decision."""

    rope_deltas = None

    def forward(self, input_ids=None, position_ids=None, past_key_values=None, cache_position=None):
        if (cache_position is not None and cache_position[0] == 0) or self.rope_deltas is None:
            self.rope_deltas = ("computed", input_ids)
        return self.rope_deltas


@pytest.mark.parametrize(("past", "empty"), [(None, True), (_Cache(0), True), (_Cache(3), False), ((), True)])
def test_empty_cache(past, empty):
    assert patch.empty_cache(past) is empty


def test_the_patched_forward_recomputes_for_each_new_input_and_keeps_them_while_decoding():
    forward = patch._forward(_Stale.forward)
    model = _Stale()
    assert _Stale.forward(model, input_ids="a") == ("computed", "a")
    assert _Stale.forward(model, input_ids="b") == ("computed", "a")  # the stock decision: stale
    assert forward(model, input_ids="b") == ("computed", "b")
    assert forward(model, "c", None, None) == ("computed", "c")  # positional arguments too
    assert forward(model, input_ids="d", past_key_values=_Cache(5)) == ("computed", "c")  # decoding keeps them
    assert forward(model, input_ids="e", position_ids=[0]) == ("computed", "c")  # given positions: untouched


def test_the_stale_forward_is_recognised_from_its_source():
    assert patch.stale(_Stale)

    class Fixed(_Stale):
        def forward(self, past_key_values=None):  # 4.49's extra condition
            return self.rope_deltas is None or past_key_values.get_seq_length() == 0

    assert not patch.stale(Fixed)


def test_not_applied_where_the_release_recomputes_them():
    transformers = pytest.importorskip("transformers")
    plan = patch._plan()
    if getattr(transformers, patch.CLASS, None) is None:
        assert "has no" in plan.reason
    else:
        assert plan.replacements == [] and "recomputes rope_deltas" in plan.reason


def test_the_catalogue_ties_the_issue_to_this_patch():
    issue = known_issues.get("qwen2-vl-stale-rope-deltas")
    assert issue.fixed_by == ("qwen2_vl_rope_deltas",)
    assert issue.possible({"transformers": "4.47.1"}) and not issue.possible({"transformers": "4.49.0"})
    assert issue.matches("adapter save/load changed the logits (max abs diff 1.55e-03); a fresh model's "
                         "second identical forward differs from its first by 1.2e-03: it kept rope_deltas from an "
                         "earlier call")

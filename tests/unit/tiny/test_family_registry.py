"""The current VLM families are registered like the others: --family takes them and every
family-scoped probe applies to them (model-class-missing before their first release: tests/cells)."""

import pytest

from vlmcompat import tiny
from vlmcompat.errors import UsageError
from vlmcompat.tiny.family import Family
from vlmcompat.tiny.modern_families import MODERN_FAMILIES


def test_every_modern_family_is_a_family():
    for name, family in MODERN_FAMILIES.items():
        assert tiny.get(name) is family and isinstance(family, Family)
        assert not family.legacy_format and family.lm_kind == "causal"
    assert list(tiny.FAMILIES)[:6] == ["instructblip-t5", "instructblip-llama", "blip2-opt", "blip2-t5", "llava",
                                       "tinyllava"]


def test_unknown_family_lists_the_modern_ones():
    with pytest.raises(UsageError, match="qwen2-vl, qwen2.5-vl, qwen3-vl"):
        tiny.get("qwen-vl")


def test_every_probe_runs_or_skips_the_modern_families():
    from vlmcompat import probes

    for probe in probes.all_probes().values():
        if probe.families is not None:
            assert set(probe.families) & set(MODERN_FAMILIES), probe.name

"""probes.common.require_class: a family's own class and the classes its tiny model is built from."""

import dataclasses

import pytest

from vlmcompat import tiny
from vlmcompat.probes import common
from vlmcompat.probes.base import ProbeSkipped


def test_a_missing_part_skips_naming_it_and_its_first_release(monkeypatch):
    fam = tiny.get("instructblip-llama")
    assert fam.requires == (("LlamaForCausalLM", "4.28"),)
    monkeypatch.setitem(tiny.FAMILIES, fam.name, dataclasses.replace(fam, requires=(("NoSuchLMForCausalLM", "9.1"),)))
    with pytest.raises(ProbeSkipped, match=r"has no NoSuchLMForCausalLM \(first in 9\.1\).*needs transformers>=9\.1"):
        common.require_class(fam.name)


def test_present_parts_pass():
    assert common.require_class("instructblip-llama").name == "instructblip-llama"

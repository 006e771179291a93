"""transformers_names.json: model types and classes read from transformers releases, the first release
that has each and the last one of those 5.x removed (explain's model-class-missing and class-removed)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from vlmcompat.explain import names


def test_the_data_covers_the_releases_it_was_read_from():
    data = names.load()
    assert data.releases[0] == "4.28.0" and data.newest.startswith("5.")
    assert data.model_types["qwen2_5_vl"] == "4.49.0" and data.before("4.49.0") == "4.48.3"
    assert data.classes["Qwen2VLForConditionalGeneration"] == "4.45.0"
    assert data.modules["gemma3"] == "4.50.0" and "gemma3_text" not in data.modules  # a model type, not a module
    assert data.gone["AutoModelForVision2Seq"] == "4.57.6" and data.after("4.57.6") == "5.0.0"
    assert "openvla" not in data.model_types  # a remote-code architecture, in no release


def test_reading_the_installed_release_agrees_with_the_data():
    spec = importlib.util.find_spec("transformers")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("transformers is not installed")
    package = Path(next(iter(spec.submodule_search_locations)))
    types, classes = names.read_release(package)
    assert "llava" in types and "LlavaForConditionalGeneration" in classes and "AutoModelForCausalLM" in classes
    data = names.load()
    if names._release_of(package) in data.releases:
        assert types <= set(data.model_types) and classes <= set(data.classes)
    built = names.build([package])
    assert built["releases"] == [names._release_of(package)] and built["gone"] == {}

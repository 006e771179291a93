"""Adapter key layouts: every measured release's adapter keys rewrite into every other release's keys and
back, exactly (adapter_keys.json: keys of the adapters `vlmcompat crosscheck write` saved with
transformers 4.51.3, 4.52.4, 5.0.0 and 5.24.0 on the tiny llava and qwen2-vl families)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vlmcompat.crosscheck import layouts
from vlmcompat.errors import MigrationError

KEYS = json.loads((Path(__file__).parent / "adapter_keys.json").read_text())
KIND = {"llava": "llava", "qwen2-vl": "qwen-vl"}
PAIRS = [(family, writer, reader) for family, by_release in KEYS.items() for writer in by_release
         for reader in by_release]


@pytest.mark.parametrize(("family", "writer", "reader"), PAIRS, ids=[f"{f}-{w}-to-{r}" for f, w, r in PAIRS])
def test_keys_written_by_one_release_become_exactly_the_keys_another_writes(family, writer, reader):
    target = layouts.layout_for(reader.removeprefix("t"))
    mapping = layouts.rewrite(KIND[family], KEYS[family][writer], target)
    assert sorted(mapping.values()) == KEYS[family][reader]
    back = layouts.rewrite(KIND[family], list(mapping.values()), layouts.layout_for(writer.removeprefix("t")))
    assert [back[mapping[k]] for k in KEYS[family][writer]] == KEYS[family][writer]


@pytest.mark.parametrize(("version", "layout"), [("4.51.3", "legacy"), ("4.52.0", "refactor"), ("5.5.4", "refactor"),
                                                 ("5.6.0", "flat"), ("5.24.0", "flat"), ("4.52.0rc1", "refactor")])
def test_the_layout_of_a_release(version, layout):
    assert layouts.layout_for(version) == layout


def test_the_keys_tell_the_kind_when_they_name_a_vision_part():
    assert layouts.detect_kind(KEYS["llava"]["t4.51.3"]) == "llava"
    assert layouts.detect_kind(KEYS["qwen2-vl"]["t4.51.3"]) is None  # q_proj/v_proj reach the decoder only
    assert layouts.detect_kind(["base_model.model.model.visual.blocks.0.attn.qkv.lora_A.weight"]) == "qwen-vl"


def test_a_key_of_no_known_part_is_refused_by_name():
    with pytest.raises(MigrationError, match="'base_model.model.qformer.layer.0.lora_A.weight' is in no part"):
        layouts.rewrite("llava", ["base_model.model.qformer.layer.0.lora_A.weight"], "legacy")


def test_keys_of_two_layouts_are_refused():
    mixed = [KEYS["llava"]["t4.51.3"][0], KEYS["llava"]["t5.24.0"][-1]]
    with pytest.raises(MigrationError, match="mix layouts"):
        layouts.rewrite("llava", mixed, "flat")


def test_checkpoint_weights_pair_by_their_part_path_whatever_the_loader_reported():
    missing = ["model.vision_tower.vision_model.embeddings.class_embedding", "language_model.lm_head.weight"]
    unexpected = ["model.vision_tower.embeddings.class_embedding", "language_model.lm_head.weight"]  # renamed by it
    stored = ["vision_tower.embeddings.class_embedding", "language_model.lm_head.weight", "other.weight"]
    assert layouts.rekey(missing, unexpected, stored) == {
        "vision_tower.embeddings.class_embedding": "model.vision_tower.vision_model.embeddings.class_embedding",
        "language_model.lm_head.weight": "language_model.lm_head.weight"}


def test_a_weight_without_a_single_counterpart_stays_missing():
    assert layouts.rekey(["model.visual.merger.mlp.0.weight"], ["vision_tower.embeddings.x"],
                         ["vision_tower.embeddings.x"]) == {}
    twice = ["a.vision_model.x", "a.model.x"]
    assert layouts.rekey(["a.x"], twice, twice) == {}


def test_model_names_follow_the_models_own_spelling():
    pairs = {"language_model.lm_head.weight": "model.language_model.lm_head.weight", "x.weight": "nowhere.y"}
    model = ["language_model.lm_head.weight", "language_model.model.embed_tokens.weight"]
    assert layouts.in_model(pairs, model) == {"language_model.lm_head.weight": "language_model.lm_head.weight"}

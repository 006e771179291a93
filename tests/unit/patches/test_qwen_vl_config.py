"""qwen_vl_config: a Qwen2-VL config.json of a newer release reaches a 4.x config class in the shape it reads
(entries as `vlmcompat crosscheck write` saved them with transformers 4.52.4 and 5.24.0). The loads
themselves are measured by `vlmcompat crosscheck` on 4.51.3 and 4.52.4 (reports/crosscheck)."""

from __future__ import annotations

from vlmcompat import patches
from vlmcompat.patches import qwen_vl_config

ROPE_5 = {"mrope_section": [2, 1, 1], "rope_theta": 1000000.0, "rope_type": "default"}
WRITTEN_BY_5 = {"model_type": "qwen2_vl", "image_token_id": 5,
                "text_config": {"model_type": "qwen2_vl_text", "hidden_size": 32, "rope_parameters": ROPE_5}}
ROPE_4 = {"mrope_section": [2, 1, 1], "rope_type": "default", "type": "default"}


def test_for_4_52_to_4_57_rope_parameters_become_rope_scaling_in_text_config():
    out = qwen_vl_config.upgrade(WRITTEN_BY_5, takes_text_config=True)
    assert out["text_config"]["rope_scaling"] == ROPE_4 and out["text_config"]["rope_theta"] == 1000000.0
    assert "rope_scaling" not in WRITTEN_BY_5["text_config"]  # the caller's dict is kept


def test_for_4_51_text_config_entries_move_to_the_top_level_and_top_level_ones_win():
    out = qwen_vl_config.upgrade(dict(WRITTEN_BY_5, hidden_size=64), takes_text_config=False)
    assert "text_config" not in out and out["model_type"] == "qwen2_vl" and out["hidden_size"] == 64
    assert out["rope_scaling"] == ROPE_4 and out["rope_theta"] == 1000000.0


def test_a_config_in_the_installed_shape_passes_unchanged():
    written_by_4_52 = {"model_type": "qwen2_vl", "rope_scaling": ROPE_4, "rope_theta": 1e6,
                       "text_config": {"rope_scaling": ROPE_4, "rope_theta": 1e6}}
    assert qwen_vl_config.upgrade(written_by_4_52, takes_text_config=True) == written_by_4_52


def test_transformers_5_needs_no_patch():
    from vlmcompat import versions

    status = patches.apply(["qwen_vl_config"])["qwen_vl_config"]
    if versions.transformers_at_least("5.0"):
        assert status == "not applied: transformers 5 reads nested text_config and rope_parameters itself"
    else:
        assert status.startswith("applied: Qwen2VLConfig.__init__")

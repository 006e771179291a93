"""The current VLMs' breakages on both sides of their boundaries, in real cells (one pair each):

- 4.51.3 / 4.52.4: the 4.52 refactor moves Qwen2-VL's decoder (model-parts); a Qwen2-VL config with
  the text settings only in text_config cannot train on 4.52 (text-config, fixed patched); Qwen3-VL
  does not exist yet on 4.51.3 (model-class-missing);
- 4.57.6 / 5.0.0: 5.0 removes the aliases and AutoModelForVision2Seq (fixed patched by the alias),
  Qwen2-VL's top-level text settings, and Gemma 3 refuses to train without token_type_ids (fixed
  patched);
- 4.45.2 / 4.57.6: truncated image tokens pass silently, then raise;
- trl 0.15.2 / 1.16.0: the sft-trainer probe passes tokenizer settings under each release's names.
"""

import pytest

pytestmark = [pytest.mark.cells, pytest.mark.slow]

OLD = ("transformers==4.51.3", "peft==0.17.1")
REFACTOR = ("transformers==4.52.4", "peft==0.17.1")
LAST_4X = ("transformers==4.57.6", "peft==0.17.1", "trl==1.16.0")
FIRST_5X = ("transformers==5.0.0", "peft==0.18.1")


def _status(results, probe, family, mode="native"):
    result = results[(probe, family, mode)]
    return result.status.value, result.issue


def test_the_4_52_refactor(cell, tmp_path):
    probes, families = ["model-class", "model-parts", "text-config"], ["qwen2-vl", "qwen3-vl", "gemma3"]
    old = cell(*OLD).probe(tmp_path, probes, families, name="old")
    new = cell(*REFACTOR).probe(tmp_path, probes, families, name="refactor")
    assert _status(old, "model-class", "qwen3-vl") == ("fail", "model-class-missing")
    assert _status(new, "model-class", "qwen3-vl") == ("fail", "model-class-missing")
    assert _status(old, "model-parts", "qwen2-vl") == ("pass", None)
    assert _status(old, "model-parts", "gemma3") == ("pass", None)
    assert _status(new, "model-parts", "qwen2-vl") == ("fail", "vlm-refactor-attribute")
    assert "'Qwen2VLModel' object has no attribute 'embed_tokens'" in new[("model-parts", "qwen2-vl", "native")].reason
    assert _status(new, "model-parts", "gemma3") == ("fail", "vlm-refactor-attribute")
    assert _status(old, "text-config", "qwen2-vl") == ("pass", None)  # no text_config parameter yet
    assert _status(new, "text-config", "qwen2-vl") == ("fail", "nested-text-config")
    for results in (old, new):
        assert all(r.status.value in ("pass", "skip") for key, r in results.items() if key[2] == "patched"), results


def test_5_0_removals(cell, tmp_path):
    probes = ["model-parts", "text-config", "auto-class", "token-type-ids"]
    last = cell(*LAST_4X).probe(tmp_path, probes, ["qwen2-vl", "gemma3"], name="last4")
    first = cell(*FIRST_5X).probe(tmp_path, probes, ["qwen2-vl", "gemma3"], name="first5")
    assert _status(last, "model-parts", "qwen2-vl") == ("fail", "vlm-refactor-attribute")  # model.model.embed_tokens
    assert "model.visual: AttributeError" not in last[("model-parts", "qwen2-vl", "native")].reason
    assert "model.visual: AttributeError" in first[("model-parts", "qwen2-vl", "native")].reason
    assert _status(last, "text-config", "qwen2-vl") == ("pass", None)
    assert _status(first, "text-config", "qwen2-vl") == ("fail", "text-config-attribute")
    assert _status(last, "auto-class", "qwen2-vl") == ("pass", None)
    assert _status(last, "auto-class", "gemma3") == ("fail", "vision2seq-unmapped")
    assert _status(first, "auto-class", "gemma3") == ("fail", "class-removed")
    assert _status(first, "auto-class", "gemma3", "patched") == ("pass", None)
    assert _status(last, "token-type-ids", "gemma3") == ("pass", None)
    assert _status(first, "token-type-ids", "gemma3") == ("fail", "token-type-ids-required")
    assert _status(first, "token-type-ids", "gemma3", "patched") == ("pass", None)


def test_truncated_image_tokens_silent_then_raising(cell, tmp_path):
    silent = cell("transformers==4.45.2", "peft==0.17.1").probe(tmp_path, ["image-truncation"], ["qwen2-vl"],
                                                               name="silent")
    raising = cell(*LAST_4X).probe(tmp_path, ["image-truncation"], ["qwen2-vl"], name="raising")
    assert "without a word" in silent[("image-truncation", "qwen2-vl", "native")].reason
    assert "Image features and image tokens do not match" in raising[("image-truncation", "qwen2-vl", "native")].reason
    for results in (silent, raising):
        assert _status(results, "image-truncation", "qwen2-vl", "patched") == ("pass", None)


def test_sft_trainer_argument_names_across_trl(cell, tmp_path):
    names = {}
    for requirements in (("transformers==4.49.0", "peft==0.17.1", "trl==0.15.2"), LAST_4X):
        results = cell(*requirements).probe(tmp_path, ["sft-trainer"], ["qwen2-vl"], name=requirements[-1])
        for result in results.values():
            assert result.status.value == "pass", result
        names[requirements[-1]] = results[("sft-trainer", "qwen2-vl", "native")].metrics["trl_arguments"]
    assert names == {"trl==0.15.2": "processing_class, max_seq_length", "trl==1.16.0": "processing_class, max_length"}

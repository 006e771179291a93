"""What the full sweep (matrices/sweep.toml) found beyond the default matrix, on the cells that showed it:
natively diagnosed by id, patched passing (or, below the stack, failing with the id that says what to pin)."""

import json

import pytest

pytestmark = [pytest.mark.cells, pytest.mark.slow]


def _outcome(result):
    return result.status.value, result.issue


def test_qwen2_vl_stale_rope_deltas_on_4_47(cell, tmp_path):
    """4.47-4.48 reuse the first call's M-RoPE offsets: the adapter round trip, the Trainer's saved adapter
    and SFTTrainer's all move the logits natively; the patched forward recomputes them."""
    by_key = cell("transformers==4.47.1", "peft==0.14.0", "trl==0.13.0").probe(
        tmp_path, ["training-step", "trainer"], ["qwen2-vl"], name="t4.47.1")
    for probe in ("training-step", "trainer"):
        assert _outcome(by_key[(probe, "qwen2-vl", "native")]) == ("fail", "qwen2-vl-stale-rope-deltas")
        assert _outcome(by_key[(probe, "qwen2-vl", "patched")]) == ("pass", None), by_key[(probe, "qwen2-vl",
                                                                                           "patched")]


def test_peft_0_2_blip2_on_4_28(cell, tmp_path):
    """peft 0.2.0 (no named adapters; bare-suffix target matching puts BLIP-2-T5's 'v' on the vision tower's
    'qkv'): the patches train, checkpoint and round-trip every BLIP-2 family; natively the tower's LoRA stays
    untrained under reentrant checkpointing."""
    by_key = cell("transformers==4.28.1", "tokenizers==0.13.3", "peft==0.2.0").probe(
        tmp_path, ["training-step", "gradient-checkpointing", "trainer"], ["blip2-t5", "blip2-opt"], name="t4.28.1")
    native = by_key[("gradient-checkpointing", "blip2-t5", "native")]
    assert _outcome(native) == ("fail", "reentrant-checkpoint-no-grad")
    for probe in ("training-step", "gradient-checkpointing", "trainer"):
        for family in ("blip2-t5", "blip2-opt"):
            assert _outcome(by_key[(probe, family, "patched")]) == ("pass", None), by_key[(probe, family, "patched")]


def test_pyarrow_against_numpy_under_trl_0_9(cell, tmp_path):
    """trl 0.9.6 pins numpy<2 and lets datasets pull the newest pyarrow: where that is pyarrow>=26 the Trainer
    cannot be imported, natively or patched, and the results say so by id (no stack pin or patch helps)."""
    built = cell("transformers==4.42.4", "peft==0.13.2", "trl==0.9.6")
    found = json.loads(built.run("-c", "import importlib.metadata as m, json; print(json.dumps("
                                       "{p: m.version(p) for p in ('pyarrow', 'numpy')}))").stdout)
    if int(found["pyarrow"].split(".")[0]) < 26 or not found["numpy"].startswith("1."):
        pytest.skip(f"the resolver no longer pairs pyarrow>=26 with numpy<2 here ({found})")
    by_key = built.probe(tmp_path, ["peft-import", "trainer", "sft-trainer"], ["llava"], name="t4.42.4")
    assert _outcome(by_key[("peft-import", "*", "native")]) == ("fail", "pyarrow-numpy-abi")
    assert _outcome(by_key[("peft-import", "*", "patched")]) == ("pass", None)  # vlmcompat's LoRA trains anyway
    for probe in ("trainer", "sft-trainer"):
        for mode in ("native", "patched"):
            assert _outcome(by_key[(probe, "llava", mode)]) == ("fail", "pyarrow-numpy-abi"), by_key[(probe, "llava",
                                                                                                       mode)]


def test_trl_1_8_chunked_loss(cell, tmp_path):
    """trl 1.7-1.14's default loss_type='chunked_nll' leaves the trained model returning logits=None when given
    labels (by design): the round trip compares without them, so LLaVA trains and round-trips; BLIP-2-OPT has no
    backbone with last_hidden_state and fails, natively and patched, with the catalogued id."""
    by_key = cell("transformers==5.13.1", "peft==0.21.2", "trl==1.8.0").probe(
        tmp_path, ["sft-trainer"], ["llava", "blip2-opt"], name="t5.13.1")
    for mode in ("native", "patched"):
        assert _outcome(by_key[("sft-trainer", "llava", mode)]) == ("pass", None), by_key[("sft-trainer", "llava",
                                                                                          mode)]
        assert _outcome(by_key[("sft-trainer", "blip2-opt", mode)]) == ("fail", "trl-fused-lm-head")

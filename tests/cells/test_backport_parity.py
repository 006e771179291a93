"""Backport parity across real releases: stock InstructBLIP (4.31, 4.44) vs vlmcompat's backport on 4.28.

The stock model's ``save_pretrained`` folder, a fixed legacy batch and the stock forward's
logits/loss are written in a stock environment; the backport loads the folder on transformers
4.28 and must reproduce them (the stock forward is the reference). Then the other way: the
backport's ``save_pretrained`` folder loads into the stock class with the same logits.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.cells, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
LMS = ("t5", "llama")
ATOL = 1e-4  # max abs difference allowed on logits and loss (float32, CPU)
# Keys a checkpoint may lack and the loader rebuilds: tied T5 embeddings, LLaMA's rotary buffers
# (persistent in 4.28 only).
REBUILT = ("embed_tokens.weight", "rotary_emb.inv_freq")

STOCK_REQUIREMENTS = {"4.31": ["transformers==4.31.0", "packaging"], "4.44": ["transformers==4.44.0", "packaging"]}
BACKPORT_REQUIREMENTS = ["transformers==4.28.0", "safetensors", "packaging"]

COMMON = r"""
def without_labels(model, batch):
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    if model.config.text_config.is_encoder_decoder:  # teacher forcing, as the labelled forward does
        inputs["decoder_input_ids"] = model.language_model._shift_right(batch["labels"])
    return inputs
"""

SAVE_STOCK = COMMON + r"""
import json, sys, torch, transformers
from vlmcompat.tiny import instructblip as tb
root = sys.argv[1]
out = {"transformers": transformers.__version__}
for lm in ("t5", "llama"):
    model = tb.build(lm, seed=0)
    batch = tb.make_batch(lm, expanded=False, seed=0)
    model.save_pretrained(f"{root}/{lm}")
    torch.save(batch, f"{root}/{lm}/batch.pt")
    with torch.no_grad():
        result = model(**batch)
        unlabelled = model(**without_labels(model, batch))
    torch.save({"logits": result.logits, "loss": result.loss, "logits_all": unlabelled.logits},
               f"{root}/{lm}/reference.pt")
    out[lm] = {"class": type(model).__module__, "loss": float(result.loss)}
print(json.dumps(out))
"""

LOAD_AND_COMPARE = COMMON + r"""
import json, sys, torch, transformers
import vlmcompat.patch  # noqa: F401  (installs the backport where transformers lacks the class)
from transformers import InstructBlipForConditionalGeneration
src, dst = sys.argv[1], sys.argv[2]
out = {"transformers": transformers.__version__}
for lm in ("t5", "llama"):
    model, info = InstructBlipForConditionalGeneration.from_pretrained(f"{src}/{lm}", output_loading_info=True)
    model.eval()
    batch = torch.load(f"{src}/{lm}/batch.pt")
    reference = torch.load(f"{src}/{lm}/reference.pt")
    with torch.no_grad():
        result = model(**batch)
        unlabelled = model(**without_labels(model, batch))
    # With labels, stock causal models return logits for the text positions only (vlmcompat's
    # forward returns every position): compare the positions both have.
    n = min(result.logits.shape[1], reference["logits"].shape[1])
    out[lm] = {
        "class": type(model).__module__,
        "missing": sorted(info["missing_keys"]), "unexpected": sorted(info["unexpected_keys"]),
        "mismatched": [list(map(str, m)) for m in info.get("mismatched_keys", [])],
        "logits_shape": [list(unlabelled.logits.shape), list(reference["logits_all"].shape)],
        "labelled_logits_shape": [list(result.logits.shape), list(reference["logits"].shape)],
        "logits_max_abs_diff": max(float((unlabelled.logits - reference["logits_all"]).abs().max()),
                                   float((result.logits[:, -n:] - reference["logits"][:, -n:]).abs().max())),
        "loss": float(result.loss), "loss_abs_diff": float((result.loss - reference["loss"]).abs()),
    }
    model.save_pretrained(f"{dst}/{lm}")
    torch.save(batch, f"{dst}/{lm}/batch.pt")
    torch.save({"logits": result.logits, "loss": result.loss, "logits_all": unlabelled.logits},
               f"{dst}/{lm}/reference.pt")
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def envs(cell):
    return {name: cell(*requirements) for name, requirements in [("4.28", BACKPORT_REQUIREMENTS),
                                                                  *STOCK_REQUIREMENTS.items()]}


def run_script(built, script: str, *args: str, autopatch: bool) -> dict:
    env = built.env()
    env.pop("VLMCOMPAT_NO_AUTOPATCH", None)
    if not autopatch:
        env["VLMCOMPAT_NO_AUTOPATCH"] = "1"  # the stock forward is the reference
    return built.run_json("-c", script, *args, env=env, timeout=400)


def assert_matches(result: dict, loaded_by: str) -> None:
    for lm in LMS:
        got = result[lm]
        assert got["unexpected"] == [] and got["mismatched"] == [], got
        assert all(key.endswith(REBUILT) for key in got["missing"]), got["missing"]
        shapes = got["logits_shape"]
        assert shapes[0] == shapes[1], f"{lm} logits shape {shapes[0]} != stock {shapes[1]}"
        assert got["logits_max_abs_diff"] <= ATOL, f"{lm} ({loaded_by}): logits differ by {got['logits_max_abs_diff']}"
        assert got["loss_abs_diff"] <= ATOL, f"{lm} ({loaded_by}): loss differs by {got['loss_abs_diff']}"


@pytest.mark.parametrize("stock", sorted(STOCK_REQUIREMENTS))
def test_backport_reproduces_stock_and_stock_loads_backport(envs, tmp_path, stock):
    saved = run_script(envs[stock], SAVE_STOCK, str(tmp_path / "stock"), autopatch=False)
    assert saved["transformers"].startswith(stock)
    assert all(saved[lm]["class"].startswith("transformers.") for lm in LMS), saved

    backport = run_script(envs["4.28"], LOAD_AND_COMPARE, str(tmp_path / "stock"), str(tmp_path / "backport"),
                          autopatch=True)
    assert backport["transformers"] == "4.28.0"
    assert all(backport[lm]["class"] == "vlmcompat.backports.instructblip" for lm in LMS), backport
    assert_matches(backport, "backport on 4.28")

    stock_again = run_script(envs[stock], LOAD_AND_COMPARE, str(tmp_path / "backport"), str(tmp_path / "round"),
                             autopatch=False)
    assert all(stock_again[lm]["class"].startswith("transformers.") for lm in LMS), stock_again
    assert_matches(stock_again, f"stock {stock} loading the backport's folder")
    print(json.dumps({"stock": stock, "backport": backport, "stock_again": stock_again}))

"""An adapter trained with vlmcompat's LoRA fallback where peft cannot be imported (transformers
4.40.0 + peft 0.16.0) loads with ``PeftModel.from_pretrained`` where it can (4.44.0 + 0.16.0, and
this host), with the same logits on the same saved base weights."""

import json
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.cells, pytest.mark.slow]
ROUND_TRIP_ATOL = 1e-5  # float32 logits on CPU, same weights, two transformers releases


TRAIN = r"""
import json, sys, torch, transformers
from pathlib import Path
from vlmcompat import lora_fallback
out = Path(sys.argv[1]); kind = sys.argv[2]
try:
    import peft
    raise SystemExit("peft imports here; this side must be a cell where it cannot")
except ImportError:
    pass
torch.manual_seed(0)
if kind == "t5":
    model = transformers.T5ForConditionalGeneration(transformers.T5Config(
        vocab_size=64, d_model=16, d_kv=4, d_ff=32, num_layers=2, num_decoder_layers=2, num_heads=2,
        decoder_start_token_id=0, pad_token_id=0))
    targets, task = ["q", "v"], "SEQ_2_SEQ_LM"
    inputs = {"input_ids": torch.randint(1, 64, (2, 6)), "labels": torch.randint(1, 64, (2, 4))}
else:
    model = transformers.LlamaForCausalLM(transformers.LlamaConfig(
        vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2, num_attention_heads=2,
        num_key_value_heads=2, max_position_embeddings=32))
    targets, task = ["q_proj", "v_proj"], "CAUSAL_LM"
    ids = torch.randint(1, 64, (2, 6)); inputs = {"input_ids": ids, "labels": ids}
model.save_pretrained(out / "base")
lora_fallback.inject(model, targets, r=4, alpha=8, dropout=0.1)
optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=5e-2)
losses = []
for _ in range(5):
    loss = model(**inputs).loss; loss.backward(); optimizer.step(); optimizer.zero_grad(); losses.append(loss.item())
model.eval()
with torch.no_grad():
    logits = model(**inputs).logits
torch.save({"inputs": inputs, "logits": logits}, out / "expected.pt")
lora_fallback.save_adapter(model, out / "adapter", base_model_name_or_path=str(out / "base"), task_type=task)
print(json.dumps({"losses": losses, "transformers": transformers.__version__}))
"""

LOAD = r"""
import json, sys, torch, transformers, peft
from pathlib import Path
out = Path(sys.argv[1]); kind = sys.argv[2]
cls = transformers.T5ForConditionalGeneration if kind == "t5" else transformers.LlamaForCausalLM
expected = torch.load(out / "expected.pt")
base = cls.from_pretrained(out / "base").eval()
with torch.no_grad():
    base_logits = base(**expected["inputs"]).logits
model = peft.PeftModel.from_pretrained(base, out / "adapter").eval()
with torch.no_grad():
    logits = model(**expected["inputs"]).logits
print(json.dumps({"max_abs_diff": float((logits - expected["logits"]).abs().max()),
                  "lora_effect": float((base_logits - expected["logits"]).abs().max()),
                  "peft_class": type(model).__name__, "versions": [transformers.__version__, peft.__version__]}))
"""


def _host(script: str, *args: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("kind", ["t5", "llama"])
def test_adapter_trained_without_peft_loads_in_peft(cell, tmp_path, kind):
    broken = cell("transformers==4.40.0", "peft==0.16.0", "safetensors")
    working = cell("transformers==4.44.0", "peft==0.16.0", "safetensors")
    trained = broken.run_json("-c", TRAIN, str(tmp_path), kind)
    assert trained["transformers"] == "4.40.0" and trained["losses"][-1] < trained["losses"][0]
    for loaded in (working.run_json("-c", LOAD, str(tmp_path), kind), _host(LOAD, str(tmp_path), kind)):
        assert loaded["peft_class"] == ("PeftModelForSeq2SeqLM" if kind == "t5" else "PeftModelForCausalLM")
        assert loaded["lora_effect"] > 1e-3, loaded  # the adapter changes the logits...
        assert loaded["max_abs_diff"] <= ROUND_TRIP_ATOL, loaded  # ...exactly as it did where it was trained

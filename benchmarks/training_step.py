"""Patched vs native InstructBLIP LoRA training step: time and peak memory, side by side.

    python benchmarks/training_step.py [--sizes tiny,base] [--steps 20] [--device cpu|cuda]

Each (size, family, variant) runs in a fresh subprocess so peak memory is its own: on CUDA
``torch.cuda.max_memory_allocated``; on CPU the growth of the process's peak RSS over the
training steps (after a warm-up step, so model creation is not counted). Time is the median
step over ``--steps`` steps after 3 warm-up steps. Both variants train the same weights on
the same expanded batch (the format the native forward supports on the installed
transformers). Sizes: ``tiny`` (the probes' model), ``base`` (flan-t5-base / 1B-LLaMA-sized LM
with a small vision tower; CPU-feasible), ``xl`` (instructblip-flan-t5-xl sizes: needs a GPU).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

SIZES = {
    "tiny": {},
    "base": dict(vision=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=4, num_attention_heads=12,
                             image_size=224, patch_size=14),
                 qformer=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=4, num_attention_heads=12,
                              encoder_hidden_size=768),
                 t5=dict(d_model=768, d_ff=2048, d_kv=64, num_layers=12, num_decoder_layers=12, num_heads=12),
                 llama=dict(hidden_size=1024, intermediate_size=2816, num_hidden_layers=12, num_attention_heads=16,
                            num_key_value_heads=16),
                 num_query_tokens=32),
    "xl": dict(vision=dict(hidden_size=1408, intermediate_size=6144, num_hidden_layers=39, num_attention_heads=16,
                           image_size=224, patch_size=14),
               qformer=dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
                            encoder_hidden_size=1408),
               t5=dict(d_model=2048, d_ff=5120, d_kv=64, num_layers=24, num_decoder_layers=24, num_heads=32),
               llama=dict(hidden_size=4096, intermediate_size=11008, num_hidden_layers=32, num_attention_heads=32,
                          num_key_value_heads=32),
               num_query_tokens=32),
}

CHILD = r'''
import json, resource, statistics, sys, time, warnings
warnings.filterwarnings("ignore")
import logging; logging.disable(logging.WARNING)
import torch
from vlmcompat import patches, tiny
from vlmcompat.tiny import instructblip as ib
from vlmcompat.train import LoraSpec, add_lora, training_step
size, family, variant, steps, device = json.loads(sys.argv[1])
over = json.loads(sys.argv[2])
if over:
    ib.VISION.update(over["vision"]); ib.QFORMER.update(over["qformer"])
    ib.T5.update(over["t5"]); ib.LLAMA.update(over["llama"])
    ib.NUM_QUERY_TOKENS = over["num_query_tokens"]; ib.IMAGE_SIZE = over["vision"]["image_size"]
if variant == "patched":
    patches.apply(["instructblip_forward"])
fam = tiny.get(family)
model = tiny.build(family, image_token=True).to(device)
batch = {k: v.to(device) for k, v in tiny.make_batch(family, expanded=True).items()}
model, _ = add_lora(model, LoraSpec(fam.lora_targets, task_type=None, dropout=0.0))
opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
def sync():
    if device == "cuda": torch.cuda.synchronize()
for _ in range(3): training_step(model, batch, opt)
sync()
if device == "cuda": torch.cuda.reset_peak_memory_stats(); base = torch.cuda.memory_allocated()
else: base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
times = []
for _ in range(steps):
    t = time.perf_counter(); training_step(model, batch, opt); sync(); times.append(time.perf_counter() - t)
peak = (torch.cuda.max_memory_allocated() - base) if device == "cuda" else \
    resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base
print(json.dumps({"median_s": statistics.median(times), "peak_bytes": peak,
                  "peak_abs": torch.cuda.max_memory_allocated() if device == "cuda" else
                  resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
'''


def measure(size: str, family: str, variant: str, steps: int, device: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps([size, family, variant, steps, device]),
                           json.dumps(SIZES[size])], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{size}/{family}/{variant} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    from tabulate import tabulate

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="tiny,base")
    parser.add_argument("--families", default="instructblip-t5,instructblip-llama")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2, help="alternate native/patched this many times")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    rows = []
    for size in args.sizes.split(","):
        for family in args.families.split(","):
            runs: dict[str, list[dict]] = {"native": [], "patched": []}
            for _ in range(args.rounds):  # interleaved, so drift hits both variants alike
                for variant in ("native", "patched"):
                    runs[variant].append(measure(size, family, variant, args.steps, args.device))
            nat_t = statistics.median(r["median_s"] for r in runs["native"])
            pat_t = statistics.median(r["median_s"] for r in runs["patched"])
            nat_m = max(r["peak_abs"] for r in runs["native"])
            pat_m = max(r["peak_abs"] for r in runs["patched"])
            rows.append([size, family, f"{nat_t * 1000:.1f}", f"{pat_t * 1000:.1f}", f"{pat_t / nat_t:.3f}",
                         f"{nat_m / 2**20:.0f}", f"{pat_m / 2**20:.0f}", f"{pat_m / nat_m:.3f}"])
    print(tabulate(rows, headers=["size", "family", "native ms/step", "patched ms/step", "time ×",
                                  "native peak MiB", "patched peak MiB", "memory ×"], tablefmt="github"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

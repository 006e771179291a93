"""Does peft import, and does a LoRA step train, in *this* interpreter? One JSON line on stdout.

Run as a script in the environment to check (``python path/to/peft_smoke.py [--train]``); it
imports nothing from vlmcompat, so it works in any interpreter that has torch, transformers and
peft, whatever vlmcompat's own state. It checks, in order:

- ``import peft`` and ``from transformers import Trainer`` (which imports peft when it is
  installed), recording the exception of each;
- with ``--train``: ``get_peft_model`` on a tiny random T5 (``SEQ_2_SEQ_LM``) and a tiny random
  LLaMA (``CAUSAL_LM``) built from configs, then forward, backward and one optimizer step,
  requiring a finite loss and a changed LoRA weight.

Output keys: ``peft``, ``transformers`` (versions), ``import_error``, ``trainer_error``
(``"Type: message"`` or null), and with ``--train`` ``train`` = ``{"t5": null | error,
"llama": null | error | "skip: why"}`` (null means it trained; LLaMA is skipped before
transformers 4.28, which lacks it). The exit status is 0 whenever the JSON was
written; callers read the JSON.
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":  # run by path: its directory (vlmcompat/) must not shadow top-level packages
    _HERE = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import json


def _err(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:1000]


def _step(model, inputs) -> None:
    import torch

    trainable = [p for p in model.parameters() if p.requires_grad]
    if not trainable:
        raise RuntimeError("no trainable parameters after get_peft_model")
    opt = torch.optim.SGD(trainable, lr=0.5)
    before = [p.detach().clone() for p in trainable]
    loss = model(**inputs).loss
    if not torch.isfinite(loss):
        raise RuntimeError(f"loss is {loss.item()}")
    loss.backward()
    opt.step()
    if all(torch.equal(b, p.detach()) for b, p in zip(before, trainable)):
        raise RuntimeError("no LoRA weight changed after one optimizer step")


def train_t5() -> None:
    import torch
    import transformers
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    config = transformers.T5Config(vocab_size=64, d_model=16, d_kv=4, d_ff=32, num_layers=1,
                                   num_decoder_layers=1, num_heads=2, decoder_start_token_id=0, pad_token_id=0)
    model = transformers.T5ForConditionalGeneration(config)
    model = get_peft_model(model, LoraConfig(task_type="SEQ_2_SEQ_LM", r=2, lora_alpha=4, lora_dropout=0.0,
                                             target_modules=["q", "v"]))
    ids = torch.randint(1, 64, (2, 5))
    _step(model, {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": torch.randint(1, 64, (2, 3))})


def train_llama() -> str | None:
    import torch
    import transformers
    from peft import LoraConfig, get_peft_model

    if not hasattr(transformers, "LlamaConfig"):
        return f"skip: transformers {transformers.__version__} has no LlamaConfig"
    torch.manual_seed(0)
    config = transformers.LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32)
    model = transformers.LlamaForCausalLM(config)
    model = get_peft_model(model, LoraConfig(task_type="CAUSAL_LM", r=2, lora_alpha=4, lora_dropout=0.0,
                                             target_modules=["q_proj", "v_proj"]))
    ids = torch.randint(1, 64, (2, 6))
    _step(model, {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": ids})
    return None


def check(train: bool) -> dict:
    import importlib.metadata as md

    out: dict = {}
    for package in ("peft", "transformers"):
        try:
            out[package] = md.version(package)
        except md.PackageNotFoundError:
            out[package] = None
    out["import_error"] = out["trainer_error"] = None
    try:
        import peft  # noqa: F401
    except Exception as exc:  # what we are here to record
        out["import_error"] = _err(exc)
    try:
        from transformers import Trainer  # noqa: F401
    except Exception as exc:
        out["trainer_error"] = _err(exc)
    if train:
        out["train"] = {}
        for name, fn in (("t5", train_t5), ("llama", train_llama)):
            if out["import_error"] is not None:
                out["train"][name] = "peft cannot be imported"
                continue
            try:
                out["train"][name] = fn()
            except Exception as exc:
                out["train"][name] = _err(exc)
    return out


if __name__ == "__main__":
    import warnings

    warnings.filterwarnings("ignore")
    print(json.dumps(check(train="--train" in sys.argv[1:])))

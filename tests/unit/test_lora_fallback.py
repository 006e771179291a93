"""The LoRA fallback against the installed peft: same init, forward, gradients, keys, and files,
compared with peft's ``get_peft_model`` on the same tiny models from one seed (the cross-version
round trip is in tests/cells/test_lora_fallback.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vlmcompat import lora_fallback

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
peft = pytest.importorskip("peft")

REPO = Path(__file__).resolve().parents[2]
ROUND_TRIP_ATOL = 1e-5  # float32 logits on CPU, same weights, two transformers releases


def tiny_t5():
    config = transformers.T5Config(vocab_size=64, d_model=16, d_kv=4, d_ff=32, num_layers=2, num_decoder_layers=2,
                                   num_heads=2, decoder_start_token_id=0, pad_token_id=0, dropout_rate=0.1)
    return transformers.T5ForConditionalGeneration(config)


def tiny_llama():
    config = transformers.LlamaConfig(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=2,
                                      num_attention_heads=2, num_key_value_heads=2, max_position_embeddings=32)
    return transformers.LlamaForCausalLM(config)


MODELS = {"t5": (tiny_t5, ["q", "v"]), "llama": (tiny_llama, ["q_proj", "v_proj"])}


def batch(kind: str) -> dict:
    gen = torch.Generator().manual_seed(3)
    ids = torch.randint(1, 64, (2, 6), generator=gen)
    if kind == "t5":
        return {"input_ids": ids, "labels": torch.randint(1, 64, (2, 4), generator=gen)}
    return {"input_ids": ids, "labels": ids}


def twin(kind: str, r: int = 2, alpha: int = 4, dropout: float = 0.0):
    """(peft model, fallback model): same base weights, LoRA created from the same seed."""
    build, targets = MODELS[kind]
    torch.manual_seed(1)
    base_a = build()
    base_b = build()
    base_b.load_state_dict(base_a.state_dict())
    torch.manual_seed(0)
    with_peft = peft.get_peft_model(base_a, peft.LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout,
                                                            target_modules=targets))
    torch.manual_seed(0)
    fallback = lora_fallback.inject(base_b, targets, r=r, alpha=alpha, dropout=dropout)
    return with_peft, fallback


def randomize_lora(with_peft, fallback) -> None:
    """Give lora_B non-zero values (same in both) so the LoRA path changes the output."""
    gen = torch.Generator().manual_seed(7)
    peft_state = peft.get_peft_model_state_dict(with_peft)
    for key, tensor in lora_fallback.lora_state_dict(fallback).items():
        if ".lora_B." in key:
            peft_state[key] = torch.randn(tensor.shape, generator=gen)
    peft.set_peft_model_state_dict(with_peft, peft_state)
    for name, layer in lora_fallback.lora_layers(fallback).items():
        layer.lora_B.weight.data.copy_(peft_state[f"base_model.model.{name}.lora_B.weight"])


@pytest.mark.parametrize("kind", MODELS)
def test_same_seed_gives_peft_init_keys_and_trainable_params(kind):
    with_peft, fallback = twin(kind)
    expected = peft.get_peft_model_state_dict(with_peft)
    ours = lora_fallback.lora_state_dict(fallback)
    assert sorted(ours) == sorted(expected)
    for key, tensor in expected.items():
        assert torch.equal(ours[key], tensor), key
    assert all(torch.count_nonzero(t) == 0 for k, t in ours.items() if ".lora_B." in k)
    peft_trainable = sorted(n.replace(".default", "").removeprefix("base_model.model.")
                            for n, p in with_peft.named_parameters() if p.requires_grad)
    assert sorted(n for n, p in fallback.named_parameters() if p.requires_grad) == peft_trainable


@pytest.mark.parametrize("kind", MODELS)
def test_forward_and_gradients_match_peft(kind):
    with_peft, fallback = twin(kind, dropout=0.1)
    randomize_lora(with_peft, fallback)
    inputs = batch(kind)
    with_peft.eval(), fallback.eval()
    with torch.no_grad(), with_peft.disable_adapter():
        base_logits = with_peft(**inputs).logits.clone()
    with_peft.train(), fallback.train()
    torch.manual_seed(5)  # dropout masks: the same draws in the same order
    loss_peft = with_peft(**inputs).loss
    torch.manual_seed(5)
    loss_ours = fallback(**inputs).loss
    assert torch.allclose(loss_peft, loss_ours, atol=1e-6, rtol=0)
    loss_peft.backward()
    loss_ours.backward()
    peft_grads = {n.replace(".default", "").removeprefix("base_model.model."): p.grad
                  for n, p in with_peft.named_parameters() if p.requires_grad}
    for name, param in fallback.named_parameters():
        if param.requires_grad:
            assert torch.allclose(param.grad, peft_grads[name], atol=1e-6, rtol=0), name
        else:
            assert param.grad is None, name
    with_peft.eval(), fallback.eval()
    with torch.no_grad():
        ours = fallback(**inputs).logits
        assert torch.allclose(with_peft(**inputs).logits, ours, atol=1e-6, rtol=0)
        assert not torch.allclose(ours, base_logits, atol=1e-3)  # the LoRA path is live


def test_saved_adapter_has_peft_keys_and_loads_with_peft(tmp_path):
    with_peft, fallback = twin("t5", r=4, alpha=8)
    randomize_lora(with_peft, fallback)
    with_peft.save_pretrained(tmp_path / "peft")
    lora_fallback.save_adapter(fallback, tmp_path / "ours", base_model_name_or_path="tiny-t5",
                               task_type="SEQ_2_SEQ_LM")
    from safetensors.torch import load_file

    theirs = load_file(tmp_path / "peft" / "adapter_model.safetensors")
    ours = load_file(tmp_path / "ours" / "adapter_model.safetensors")
    assert sorted(ours) == sorted(theirs)
    config = json.loads((tmp_path / "ours" / "adapter_config.json").read_text())
    assert config["peft_type"] == "LORA" and config["r"] == 4 and config["lora_alpha"] == 8
    assert config["target_modules"] == ["q", "v"] and config["bias"] == "none" and config["inference_mode"] is True
    torch.manual_seed(1)
    fresh = tiny_t5()  # the same base weights as twin() built
    loaded = peft.PeftModel.from_pretrained(fresh, tmp_path / "ours").eval()
    assert type(loaded).__name__ == "PeftModelForSeq2SeqLM"
    fallback.eval()
    inputs = batch("t5")
    with torch.no_grad():
        assert torch.allclose(loaded(**inputs).logits, fallback(**inputs).logits, atol=1e-6, rtol=0)


@pytest.mark.parametrize("saved_by", ["peft", "fallback"])
def test_load_adapter_without_peft_reproduces_peft(tmp_path, saved_by):
    with_peft, fallback = twin("llama", r=4, alpha=8)
    randomize_lora(with_peft, fallback)
    if saved_by == "peft":
        with_peft.save_pretrained(tmp_path)
    else:
        lora_fallback.save_adapter(fallback, tmp_path, base_model_name_or_path=None, task_type="CAUSAL_LM")
    torch.manual_seed(1)
    loaded = lora_fallback.load_adapter(tiny_llama(), tmp_path).eval()
    assert not any(p.requires_grad for p in loaded.parameters())  # frozen, as PeftModel.from_pretrained
    inputs = batch("llama")
    with torch.no_grad():
        assert torch.allclose(loaded(**inputs).logits, with_peft.eval()(**inputs).logits, atol=1e-6, rtol=0)
    config = json.loads((tmp_path / "adapter_config.json").read_text())
    (tmp_path / "adapter_config.json").write_text(json.dumps({**config, "use_dora": True}))
    with pytest.raises(ValueError, match="use_dora=True is not supported"):
        lora_fallback.load_adapter(tiny_llama(), tmp_path)
    (tmp_path / "adapter_config.json").write_text(json.dumps({**config, "target_modules": ["k_proj"]}))
    with pytest.raises(ValueError, match="adapter keys do not fit this model"):
        lora_fallback.load_adapter(tiny_llama(), tmp_path)


@pytest.mark.parametrize("name, targets, expected", [
    ("encoder.block.0.layer.0.SelfAttention.q", ["q", "v"], True),
    ("q", ["q"], True),
    ("encoder.block.0.layer.0.SelfAttention.qkv", ["q"], False),
    ("model.layers.0.self_attn.q_proj", ["q_proj"], True),
    ("model.layers.0.self_attn.q_proj", ["self_attn.q_proj"], True),
    ("model.layers.0.self_attn.q_proj", ["attn.q_proj"], False),
    ("model.layers.0.self_attn.q_proj", r".*\.q_proj", True),
    ("model.layers.0.self_attn.q_proj", r"q_proj", False),
])
def test_target_matching_follows_peft(name, targets, expected):
    assert lora_fallback.matches_target(name, targets) is expected


def test_refuses_non_linear_targets_and_unknown_names():
    with pytest.raises(ValueError, match="only torch.nn.Linear"):
        lora_fallback.inject(tiny_t5(), ["shared"], r=2, alpha=4)
    with pytest.raises(ValueError, match="not found in the base model"):
        lora_fallback.inject(tiny_t5(), ["nope"], r=2, alpha=4)
    with pytest.raises(ValueError, match="already has vlmcompat LoRA layers"):
        lora_fallback.inject(lora_fallback.inject(tiny_t5(), ["q"], r=2, alpha=4), ["v"], r=2, alpha=4)


def test_half_precision_base_keeps_float32_adapter_like_peft():
    model = lora_fallback.inject(tiny_llama().to(torch.bfloat16), ["q_proj"], r=2, alpha=4)
    layer = next(iter(lora_fallback.lora_layers(model).values()))
    assert layer.lora_A.weight.dtype == torch.float32 and layer.weight.dtype == torch.bfloat16
    out = model(input_ids=torch.randint(1, 64, (1, 4))).logits
    assert out.dtype == torch.bfloat16 and torch.isfinite(out.float()).all()

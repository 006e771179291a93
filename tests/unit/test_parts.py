"""``vlmcompat.parts`` finds the language model, vision tower, projector, LM head and input
embeddings of every family (and of the same models wrapped by peft) without attribute paths:
the modules it returns are the ones the stock forward runs, shown with forward hooks."""

from __future__ import annotations

import importlib

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from vlmcompat import tiny
from vlmcompat.errors import UsageError
from vlmcompat.parts import Parts, parts, text_config
from vlmcompat.tiny.modern_families import MODERN_FAMILIES

OLD = ["instructblip-t5", "instructblip-llama", "blip2-opt", "blip2-t5", "llava"]
ALL = {**{name: tiny.get(name) for name in OLD}, **MODERN_FAMILIES}
PARAMS = [
    pytest.param(name, marks=pytest.mark.skipif(
        not hasattr(transformers, fam.model_class),
        reason=f"transformers {transformers.__version__} has no {fam.model_class}"))
    for name, fam in ALL.items()
]


def _resolve(ref: str):
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def build(name: str):
    fam = ALL[name]
    return _resolve(fam.builder)(fam.lm, seed=0, image_token=True)


def batch(name: str):
    fam = ALL[name]
    return _resolve(fam.batcher)(fam.lm, expanded=True, seed=0)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _called(model, p: Parts, b) -> dict[str, bool]:
    """Which of the parts ran (forward hook or weight use) during ``model(**b)``."""
    seen = {field: False for field in ("language_model", "vision_tower", "projector", "lm_head", "embed_tokens")}
    handles = []
    for field in seen:
        module = getattr(p, field)

        def hook(*_, field=field):
            seen[field] = True

        handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(**b)
    finally:
        for handle in handles:
            handle.remove()
    return seen


@pytest.mark.parametrize("name", PARAMS)
def test_parts_are_the_modules_the_stock_forward_runs(name):
    model = build(name)
    p = parts(model)
    assert p.embed_tokens is model.get_input_embeddings()
    assert p.lm_head is model.get_output_embeddings()
    assert all(isinstance(getattr(p, f), torch.nn.Module) for f in vars(p))
    assert len({id(getattr(p, f)) for f in ("language_model", "vision_tower", "projector")}) == 3
    assert any(m is p.embed_tokens for m in p.language_model.modules())
    assert not any(m is p.vision_tower for m in p.language_model.modules())
    assert _called(model, p, batch(name)) == dict.fromkeys(vars(p), True)


@pytest.mark.parametrize("name", PARAMS)
def test_language_model_and_vision_tower_are_configured_by_text_and_vision_config(name):
    model = build(name)
    p = parts(model)
    text = text_config(model.config)
    assert p.language_model.config.vocab_size == text.vocab_size
    assert p.language_model.config.hidden_size == text.hidden_size
    assert type(p.vision_tower.config) is type(model.config.vision_config)
    assert p.lm_head.out_features == text.vocab_size


@pytest.mark.parametrize("name", PARAMS)
def test_projector_output_has_the_text_width(name):
    model = build(name)
    p = parts(model)
    width = text_config(model.config).hidden_size
    out = {}

    def hook(_module, _inputs, output):
        out["shape"] = output.shape

    handle = p.projector.register_forward_hook(hook)
    try:
        with torch.no_grad():
            model(**batch(name))
    finally:
        handle.remove()
    assert out["shape"][-1] == width


def test_parts_on_this_release_match_its_attribute_paths():
    """On the installed release the parts are where the release puts them (4.52+ layout, or the
    older one) — whichever it is, ``parts`` agrees with it."""
    model = build("llava")
    p = parts(model)
    inner = getattr(model, "model", None)
    if inner is not None and hasattr(inner, "language_model"):  # 4.52+: LlavaModel holds a bare decoder
        assert p.language_model is inner.language_model
        assert p.vision_tower is inner.vision_tower
        assert p.projector is inner.multi_modal_projector
        assert p.lm_head is model.lm_head
    else:  # before 4.52: language_model is the whole LlamaForCausalLM
        assert p.language_model is model.language_model.model
        assert p.vision_tower is model.vision_tower
        assert p.lm_head is model.language_model.lm_head


@pytest.mark.parametrize("name", ["instructblip-t5", "blip2-t5"])
def test_a_t5_language_model_is_the_whole_encoder_decoder(name):
    model = build(name)
    p = parts(model)
    assert type(p.language_model).__name__ == "T5ForConditionalGeneration"
    assert p.projector is model.language_projection


@pytest.mark.parametrize("name", ["qwen2-vl", "qwen2.5-vl", "qwen3-vl"])
def test_qwen_projector_is_the_merger_at_the_end_of_the_vision_tower(name):
    if not hasattr(transformers, ALL[name].model_class):
        pytest.skip(f"transformers {transformers.__version__} has no {ALL[name].model_class}")
    p = parts(build(name))
    assert any(m is p.projector for m in p.vision_tower.children())
    assert type(p.projector).__name__.endswith("Merger")


@pytest.mark.parametrize("name", ["llava", "qwen2-vl", "gemma3"])
def test_a_peft_wrapped_model_gives_the_same_parts(name):
    peft = pytest.importorskip("peft")
    if not hasattr(transformers, ALL[name].model_class):
        pytest.skip(f"transformers {transformers.__version__} has no {ALL[name].model_class}")
    model = build(name)
    wrapped = peft.get_peft_model(model, peft.LoraConfig(task_type="CAUSAL_LM", target_modules=["q_proj", "v_proj"],
                                                         r=4, lora_alpha=8, lora_dropout=0.0))
    p, q = parts(wrapped), parts(wrapped.get_base_model())
    assert all(getattr(p, f) is getattr(q, f) for f in vars(p))
    lora = [n for n, _ in p.language_model.named_modules() if n.endswith("lora_A")]
    assert lora  # the LoRA layers are inside the language model parts returns
    assert _called(wrapped, p, batch(name)) == dict.fromkeys(vars(p), True)


def test_text_config_holds_vocab_and_hidden_size_where_the_top_level_may_not():
    if not hasattr(transformers, "Gemma3ForConditionalGeneration"):
        pytest.skip(f"transformers {transformers.__version__} has no Gemma3ForConditionalGeneration")
    from vlmcompat.tiny import gemma3

    config = build("gemma3").config
    assert text_config(config).vocab_size == gemma3.VOCAB
    assert text_config(config).hidden_size == gemma3.GEMMA3_TEXT["hidden_size"]
    assert text_config(config) is config.text_config


def test_text_config_of_a_text_model_is_its_config():
    config = transformers.LlamaConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                      intermediate_size=32)
    assert text_config(config) is config


def test_text_config_refuses_a_config_without_text_settings_in_one_line():
    config = transformers.CLIPVisionConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                           intermediate_size=32)
    with pytest.raises(UsageError, match="CLIPVisionConfig has no vocab_size/hidden_size") as info:
        text_config(config)
    assert "\n" not in str(info.value)


def test_parts_refuses_what_is_not_a_vlm_in_one_line():
    with pytest.raises(UsageError, match="Linear is not a transformers model") as info:
        parts(torch.nn.Linear(2, 2))
    assert "\n" not in str(info.value)
    llama = transformers.LlamaForCausalLM(transformers.LlamaConfig(
        vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32))
    with pytest.raises(UsageError, match="LlamaForCausalLM has no vision_config") as info:
        parts(llama)
    assert "\n" not in str(info.value)

"""The TinyLLaVA-style composition: both input formats, labels, padding and position ids, the
recipe's training step (vision tower frozen, connector trained), generate and the adapter round trip."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from vlmcompat import tiny
from vlmcompat.errors import ForwardInputError
from vlmcompat.forwards.merge import IGNORE_INDEX
from vlmcompat.tiny import tinyllava

N = tinyllava.NUM_PATCHES
TOKEN = tinyllava.IMAGE_TOKEN_INDEX
ATOL = 1e-6  # same weights, same merged sequence: only summation order may differ


def _model(**config):
    from vlmcompat.tiny import tinyllava_model

    config.setdefault("vision_config", dict(tinyllava.VISION, model_type=tinyllava_model.vision_tower_type()))
    config.setdefault("text_config", dict(tinyllava.TINYLLAMA))
    torch.manual_seed(0)
    return tinyllava_model.TinyLlavaForConditionalGeneration(tinyllava_model.TinyLlavaConfig(**config)).eval()


def test_placeholder_id_agrees_with_the_model_class():
    from vlmcompat.tiny import tinyllava_model

    assert tinyllava.IMAGE_TOKEN_INDEX == tinyllava_model.IMAGE_TOKEN_INDEX


def test_family_is_registered_with_the_connector_trainable():
    fam = tiny.get("tinyllava")
    assert fam.lm_kind == "causal" and fam.peft_task_type == "CAUSAL_LM"
    assert fam.extra_trainable == ("connector",)
    assert all(t.startswith("language_model.") for t in fam.lora_targets)  # not the vision tower's q_proj
    model = tiny.build("tinyllava")
    assert type(model).__name__ == "TinyLlavaForConditionalGeneration"
    assert {"vision_tower", "connector", "language_model"} <= set(dict(model.named_children()))


def test_both_formats_give_the_same_loss_and_logits():
    model = tiny.build("tinyllava")
    with torch.no_grad():
        legacy = model(**tiny.make_batch("tinyllava", expanded=False))
        expanded = model(**tiny.make_batch("tinyllava", expanded=True))
    assert legacy.logits.shape == expanded.logits.shape
    assert abs(float(legacy.loss) - float(expanded.loss)) < ATOL
    assert float((legacy.logits - expanded.logits).abs().max()) < 1e-5


def test_expanded_inputs_keep_their_length():
    batch = tiny.make_batch("tinyllava", expanded=True)
    with torch.no_grad():
        out = tiny.build("tinyllava")(**{k: v for k, v in batch.items() if k != "labels"})
    assert out.logits.shape[1] == batch["input_ids"].shape[1]


@pytest.mark.parametrize("expanded", [False, True])
def test_labels_are_ignored_at_image_positions(expanded):
    model = tiny.build("tinyllava")
    batch = tiny.make_batch("tinyllava", expanded=expanded)
    labels = batch["input_ids"].clone()  # a collator that did not mask the image
    with torch.no_grad():
        _, _mask, _, merged = model.prepare_inputs_labels_for_multimodal(
            batch["input_ids"], batch["pixel_values"], batch["attention_mask"], labels)
    assert bool((merged[:, 1:1 + N] == IGNORE_INDEX).all())
    text = batch["input_ids"][:, (N if expanded else 1) + 1:]
    assert torch.equal(merged[0, 1 + N:], text[0])  # the rest is untouched
    assert not bool((merged == TOKEN).any())


def test_right_padding_and_position_ids():
    model = tiny.build("tinyllava")
    batch = tiny.make_batch("tinyllava", expanded=False)
    with torch.no_grad():
        embeds, mask, positions, labels = model.prepare_inputs_labels_for_multimodal(
            batch["input_ids"], batch["pixel_values"], batch["attention_mask"], batch["labels"])
        features = model.image_features(batch["pixel_values"])
    length = batch["input_ids"].shape[1] + N - 1
    assert mask.shape == (2, length)
    assert mask[0].tolist() == [1] * length
    assert mask[1].tolist() == [1] * (length - 2) + [0, 0]  # padded right, as the recipe trains
    assert positions[0].tolist() == list(range(length))
    assert positions[1].tolist() == list(range(length - 2)) + [0, 0]
    assert bool((labels[1, -2:] == IGNORE_INDEX).all())
    assert torch.allclose(embeds[:, 1:1 + N], features)


def test_generate_pads_left_and_returns_new_tokens_only():
    model = tiny.build("tinyllava")
    batch = tiny.make_batch("tinyllava", expanded=False)
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    _, mask, positions, _ = model.prepare_inputs_labels_for_multimodal(
        inputs["input_ids"], inputs["pixel_values"], inputs["attention_mask"], padding_side="left")
    assert mask[1, :2].tolist() == [0, 0] and positions[1, 2] == 0
    out = model.generate(**inputs, max_new_tokens=3, do_sample=False)
    assert out.shape == (2, 3)
    real = int(batch["attention_mask"][1].sum())
    alone = model.generate(pixel_values=inputs["pixel_values"][1:], input_ids=inputs["input_ids"][1:, :real],
                           max_new_tokens=3, do_sample=False)
    assert torch.equal(out[1], alone[0])  # padding does not change what the padded example generates


def test_inputs_embeds_none_is_accepted_and_both_inputs_rejected():
    model = tiny.build("tinyllava")
    batch = tiny.make_batch("tinyllava", expanded=True)
    with torch.no_grad():
        assert torch.isfinite(model(**batch, inputs_embeds=None).loss)
        with pytest.raises(ForwardInputError, match="both input_ids and inputs_embeds"):
            model(**batch, inputs_embeds=torch.zeros(2, 3, 32))


def test_wrong_placeholder_count_is_a_clear_error():
    model = tiny.build("tinyllava")
    batch = tiny.make_batch("tinyllava", expanded=True)
    batch["input_ids"][0, 1] = 5
    with torch.no_grad(), pytest.raises(ForwardInputError, match=f"{N - 1} image placeholders"):
        model(**batch)


def test_clip_tower_drops_cls():
    model = _model(vision_config=dict(tinyllava.VISION, model_type="clip_vision_model"))
    assert type(model.vision_tower).__name__ == "CLIPVisionModel"
    pixel_values = tiny.make_batch("tinyllava", expanded=True)["pixel_values"]
    with torch.no_grad():
        features = model.image_features(pixel_values)
        hidden = model.vision_tower(pixel_values, output_hidden_states=True).hidden_states[-2]
    assert hidden.shape[1] == N + 1
    assert torch.equal(features, model.connector(hidden[:, 1:]))


def test_training_step_freezes_the_tower_and_trains_the_connector(tmp_path):
    from vlmcompat.train import LoraSpec, add_lora, training_step

    pytest.importorskip("peft")
    fam = tiny.get("tinyllava")
    model = tiny.build("tinyllava")
    batch = tiny.make_batch("tinyllava", expanded=True)
    spec = LoraSpec(fam.lora_targets, task_type=fam.peft_task_type, modules_to_save=fam.extra_trainable)
    lora_model, backend = add_lora(model, spec)
    assert backend == "peft"
    before = {n: p.detach().clone() for n, p in lora_model.named_parameters()}
    optimizer = torch.optim.AdamW([p for p in lora_model.parameters() if p.requires_grad], lr=5e-3)
    for _ in range(2):
        training_step(lora_model, batch, optimizer)
    changed = {n for n, p in lora_model.named_parameters() if not torch.equal(p.detach(), before[n])}
    assert not any("vision_tower" in n for n in changed)
    assert any("connector" in n and "lora_" not in n for n in changed)
    assert any("lora_" in n for n in changed)
    assert changed <= {n for n in changed if "lora_" in n or "connector.modules_to_save" in n}

    lora_model.save_pretrained(tmp_path)
    from peft import PeftModel

    lora_model.eval()
    loaded = PeftModel.from_pretrained(tiny.build("tinyllava"), tmp_path).eval()
    with torch.no_grad():
        diff = (lora_model(**batch).logits - loaded(**batch).logits).abs().max()
    assert float(diff) < 1e-5


def test_save_and_load_the_model(tmp_path):
    model = tiny.build("tinyllava")
    model.save_pretrained(tmp_path)
    from vlmcompat.tiny import tinyllava_model

    loaded = tinyllava_model.TinyLlavaForConditionalGeneration.from_pretrained(tmp_path)
    batch = tiny.make_batch("tinyllava", expanded=True)
    with torch.no_grad():
        assert torch.equal(model(**batch).logits, loaded(**batch).logits)


def test_model_class_probe_names_the_composition():
    from vlmcompat.probes import model_class
    from vlmcompat.results import Mode

    described = model_class.run("tinyllava", Mode.NATIVE)["class"]
    from vlmcompat.tiny import tinyllava_model

    siglip = tinyllava_model.vision_tower_type() == "siglip_vision_model"
    tower = "SiglipVisionModel" if siglip else "CLIPVisionModel"
    assert described.endswith(f"TinyLlavaForConditionalGeneration({tower} + mlp2x_gelu + LlamaForCausalLM)")

"""Tiny Qwen2-VL, Qwen2.5-VL, Qwen3-VL, LLaVA-OneVision, SmolVLM, Gemma 3 and PaliGemma 2 models:
they build fast, their batches have each processor's layout, they train (plain and LoRA through
peft), generate, and are reproducible from a seed. Runs the installed transformers and peft."""

from __future__ import annotations

import importlib
import math
import time

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from vlmcompat.tiny import chat_rows
from vlmcompat.tiny.modern_families import MODERN_FAMILIES

IGNORE = chat_rows.IGNORE_INDEX


def _resolve(ref: str):
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def _available(name: str) -> bool:
    return hasattr(transformers, MODERN_FAMILIES[name].model_class)


FAMILY_PARAMS = [
    pytest.param(name, marks=pytest.mark.skipif(
        not _available(name),
        reason=f"transformers {transformers.__version__} has no {MODERN_FAMILIES[name].model_class}"))
    for name in MODERN_FAMILIES
]


def build(name: str, seed: int = 0):
    fam = MODERN_FAMILIES[name]
    return _resolve(fam.builder)(fam.lm, seed=seed, image_token=True)


def batch(name: str, seed: int = 0, **kwargs):
    fam = MODERN_FAMILIES[name]
    return _resolve(fam.batcher)(fam.lm, seed=seed, **kwargs)


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """Tiny models run fastest on one thread, and a shared machine's cores stay usable."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("name", FAMILY_PARAMS)
def test_builds_fast_in_eval_mode(name):
    build(name)  # the first build imports the modeling code
    start = time.perf_counter()
    model = build(name)
    assert time.perf_counter() - start < 1.0
    assert not model.training
    assert type(model).__name__ == MODERN_FAMILIES[name].model_class
    assert sum(p.numel() for p in model.parameters()) < 500_000


@pytest.mark.parametrize("name", FAMILY_PARAMS)
def test_labels_cover_the_answer_only_and_one_row_is_padded_right(name):
    model = build(name)
    b = batch(name)
    ids, mask, labels = b["input_ids"], b["attention_mask"], b["labels"]
    image_id = getattr(model.config, "image_token_id", None) or model.config.image_token_index
    assert ids.shape == mask.shape == labels.shape and ids.shape[0] == 2
    assert bool(mask[0].all()) and not bool(mask[1].all())
    lengths = mask.sum(dim=1)
    for row, n in enumerate(lengths.tolist()):
        assert bool(mask[row, :n].all()) and not bool(mask[row, n:].any())  # padded right
    assert bool((labels[mask == 0] == IGNORE).all())
    assert bool((labels[ids == image_id] == IGNORE).all())
    for row in range(2):
        labelled = (labels[row] != IGNORE).nonzero().flatten()
        assert len(labelled) >= 2
        assert labelled.tolist() == list(range(int(labelled[0]), int(labelled[-1]) + 1))  # one span: the answer
        assert int(labelled[-1]) == int(lengths[row]) - 1  # ... at the end of the row
        assert bool((labels[row, labelled] == ids[row, labelled]).all())
        assert int((ids[row, : int(labelled[0])] == image_id).sum()) > 0  # the image is in the prompt


QWEN = {"qwen2-vl": 14, "qwen2.5-vl": 14, "qwen3-vl": 16}


@pytest.mark.parametrize("name", [p for p in FAMILY_PARAMS if p.values[0] in QWEN])
def test_qwen_patches_are_flattened_with_a_grid_per_image(name):
    model = build(name)
    b = batch(name)
    patch, merge, temporal = QWEN[name], 2, 2
    grid = b["image_grid_thw"]
    assert grid.shape == (2, 3) and grid[0].tolist() != grid[1].tolist()  # images of two sizes
    assert b["pixel_values"].shape == (int(grid.prod(dim=1).sum()), 3 * temporal * patch * patch)
    tokens = (b["input_ids"] == model.config.image_token_id).sum(dim=1)
    assert tokens.tolist() == (grid.prod(dim=1) // merge ** 2).tolist()
    starts = (b["input_ids"] == model.config.vision_start_token_id).sum(dim=1)
    assert starts.tolist() == [1, 1]


def test_llava_onevision_tiles_and_image_sizes():
    if not _available("llava-onevision"):
        pytest.skip(f"transformers {transformers.__version__} has no LlavaOnevisionForConditionalGeneration")
    from vlmcompat.tiny import llava_onevision as ov

    b = batch("llava-onevision")
    assert b["image_sizes"].tolist() == [list(s) for s in ov.IMAGE_SIZES]
    assert b["pixel_values"].shape == (2, 5, 3, ov.IMAGE_SIZE, ov.IMAGE_SIZE)  # 1+4 and 1+2 tiles
    assert float(b["pixel_values"][1, 3:].abs().sum()) == 0.0  # the row with fewer tiles is zero-padded
    # base 2x2 features + unpadded 4x4 (2x2 tiles) + 4 newlines; base + 2x4 + 2 newlines
    assert (b["input_ids"] == ov.IMAGE).sum(dim=1).tolist() == [4 + 16 + 4, 4 + 8 + 2]


@pytest.mark.parametrize("name", [p for p in FAMILY_PARAMS if p.values[0].startswith("smolvlm")])
def test_smolvlm_images_per_example_with_pixel_attention_mask(name):
    from vlmcompat.tiny import smolvlm

    b = batch(name)
    assert b["pixel_values"].shape == (2, 3, 3, smolvlm.IMAGE_SIZE, smolvlm.IMAGE_SIZE)
    assert b["pixel_attention_mask"].shape == (2, 3, smolvlm.IMAGE_SIZE, smolvlm.IMAGE_SIZE)
    assert b["pixel_attention_mask"].flatten(2).all(dim=2).tolist() == [[True] * 3, [True, False, False]]
    assert (b["input_ids"] == smolvlm.IMAGE).sum(dim=1).tolist() == [3 * smolvlm.IMAGE_SEQ_LEN,
                                                                       smolvlm.IMAGE_SEQ_LEN]


def test_gemma3_token_type_ids_mark_the_image_soft_tokens():
    if not _available("gemma3"):
        pytest.skip(f"transformers {transformers.__version__} has no Gemma3ForConditionalGeneration")
    from vlmcompat.tiny import gemma3

    b = batch("gemma3")
    assert bool(((b["input_ids"] == gemma3.IMAGE).long() == b["token_type_ids"]).all())
    assert b["token_type_ids"].sum(dim=1).tolist() == [gemma3.MM_TOKENS_PER_IMAGE] * 2
    assert "token_type_ids" not in batch("gemma3", token_type_ids=False)


def test_paligemma_token_type_ids_mark_the_suffix():
    if not _available("paligemma2"):
        pytest.skip(f"transformers {transformers.__version__} has no PaliGemmaForConditionalGeneration")
    b = batch("paligemma2")
    assert bool(((b["labels"] != IGNORE).long() == b["token_type_ids"]).all())


def _loss(model, b):
    out = model(**b)
    assert out.loss is not None
    return out.loss


@pytest.mark.parametrize("name", FAMILY_PARAMS)
def test_loss_is_finite_and_backward_reaches_both_towers(name):
    from vlmcompat.parts import parts

    model = build(name)
    b = batch(name)
    _loss(model, b)  # warm-up
    start = time.perf_counter()
    loss = _loss(model, b)
    loss.backward()
    assert time.perf_counter() - start < 1.0
    loss = float(loss.detach())
    assert math.isfinite(loss)
    assert abs(loss - math.log(model.config.get_text_config().vocab_size)) < 1.0  # random init
    p = parts(model)
    for part in (p.vision_tower, p.projector, p.language_model):
        grads = [q.grad for q in part.parameters() if q.grad is not None]
        assert grads and any(float(g.abs().sum()) > 0 for g in grads)


@pytest.mark.parametrize("name", FAMILY_PARAMS)
def test_one_lora_step_changes_only_lora_weights(name):
    peft = pytest.importorskip("peft")
    fam = MODERN_FAMILIES[name]
    model = peft.get_peft_model(build(name), peft.LoraConfig(
        task_type=fam.peft_task_type, target_modules=list(fam.lora_targets), r=4, lora_alpha=8, lora_dropout=0.0))
    before = {n: q.detach().clone() for n, q in model.named_parameters()}
    trainable = {n for n, q in model.named_parameters() if q.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    optimizer = torch.optim.SGD([q for q in model.parameters() if q.requires_grad], lr=0.1)
    model.train()
    loss = model(**batch(name)).loss
    loss.backward()
    optimizer.step()
    changed = {n for n, q in model.named_parameters() if not torch.equal(q, before[n])}
    assert math.isfinite(float(loss.detach()))
    assert changed and changed <= trainable
    assert any("lora_B" in n for n in changed)


@pytest.mark.parametrize("name", FAMILY_PARAMS)
def test_generate_gives_new_tokens(name):
    model = build(name)
    prompt = chat_rows.prompt_only(batch(name, batch_size=1))
    with torch.no_grad():
        out = model.generate(**prompt, max_new_tokens=3, min_new_tokens=3, do_sample=False)
    n = prompt["input_ids"].shape[1]
    assert out.shape == (1, n + 3)
    assert torch.equal(out[:, :n], prompt["input_ids"])


@pytest.mark.parametrize("name", FAMILY_PARAMS)
def test_seeded_models_and_batches_are_reproducible(name):
    a, b = build(name, seed=0), build(name, seed=0)
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)
    assert any(not torch.equal(state_a[k], v) for k, v in build(name, seed=1).state_dict().items())
    x, y = batch(name, seed=0), batch(name, seed=0)
    assert x.keys() == y.keys() and all(torch.equal(x[k], y[k]) for k in x)
    assert not torch.equal(x["input_ids"], batch(name, seed=1)["input_ids"])
    with torch.no_grad():
        assert float(a(**x).loss) == float(b(**y).loss)


@pytest.mark.parametrize("name", FAMILY_PARAMS)
def test_unexpanded_batch_keeps_one_placeholder_per_image(name):
    model = build(name)
    expanded, unexpanded = batch(name, batch_size=1), batch(name, expanded=False, batch_size=1)
    image_id = getattr(model.config, "image_token_id", None) or model.config.image_token_index
    assert int((unexpanded["input_ids"] == image_id).sum()) <= 1  # Gemma 3 keeps only <start_of_image>
    assert int((expanded["input_ids"] == image_id).sum()) > 1
    assert unexpanded.keys() == expanded.keys()

"""The probes' tiny-model cache: a copy equals a fresh build (weights, buffers, tied weights, config,
and the RNG state left behind), run to run and across processes; nothing a probe does to its copy
reaches the next one; a class a patch provides gets its own master; patches never replace construction."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from vlmcompat import tiny
from vlmcompat.results import Mode
from vlmcompat.tiny import cache

FAMILIES = list(tiny.FAMILIES)


def available(family: str) -> str:
    if not tiny.class_available(family):
        pytest.skip(f"this transformers has no {tiny.get(family).model_class}")
    return family
CONSTRUCTION = {"__init__", "__new__", "_init_weights", "init_weights", "post_init", "_from_config"}


def _state(model) -> dict:
    return {name: tensor.detach().clone() for name, tensor in model.state_dict(keep_vars=True).items()}


def _same_weights(a, b) -> None:
    sa, sb = _state(a), _state(b)
    assert list(sa) == list(sb)
    for name in sa:
        assert sa[name].dtype == sb[name].dtype and torch.equal(sa[name], sb[name]), name


def _tied(model) -> set[tuple[str, str]]:
    """Pairs of state-dict entries that are one tensor (tied weights)."""
    seen, pairs = {}, set()
    for name, tensor in model.state_dict(keep_vars=True).items():
        if tensor.data_ptr() in seen:
            pairs.add((seen[tensor.data_ptr()], name))
        seen.setdefault(tensor.data_ptr(), name)
    return pairs


def digest(model) -> str:
    h = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("image_token", [False, True])
def test_a_copy_equals_a_fresh_build_and_leaves_the_same_rng_state(family, image_token):
    available(family)
    cache.clear()
    first = tiny.model(family, image_token=image_token)  # builds the master
    after_first = torch.get_rng_state()
    fresh = tiny.build(family, image_token=image_token)
    after_fresh = torch.get_rng_state()
    torch.manual_seed(123)  # whatever ran before, a copy starts from the build's state
    second = tiny.model(family, image_token=image_token)  # from the master
    after_second = torch.get_rng_state()
    for copy in (first, second):
        assert type(copy) is type(fresh) and copy is not fresh
        _same_weights(copy, fresh)
        assert _tied(copy) == _tied(fresh)
        assert copy.config.to_dict() == fresh.config.to_dict()
        assert copy.training == fresh.training
    assert torch.equal(after_first, after_fresh) and torch.equal(after_second, after_fresh)


@pytest.mark.parametrize("family", FAMILIES)
def test_deep_copy_copies_what_copy_deepcopy_copies(family):
    import copy

    available(family)
    model = tiny.build(family, image_token=True)
    fast, slow = cache.deep_copy(model), copy.deepcopy(model)
    for (name, a), (_, b), (_, orig) in zip(fast.named_modules(), slow.named_modules(), model.named_modules()):
        assert type(a) is type(b) and list(vars(a)) == list(vars(b)), name
        for attr, value in vars(a).items():
            assert type(value) is type(vars(b)[attr]), f"{name}.{attr}"
            if isinstance(value, (dict, list, torch.Tensor)) or hasattr(value, "to_dict"):
                assert value is not vars(orig)[attr], f"{name}.{attr} is shared with the original"
    _same_weights(fast, slow)
    assert _tied(fast) == _tied(slow) == _tied(model)


def test_a_hook_on_a_copy_stays_on_the_copy():
    copy_ = tiny.model("blip2-opt")
    copy_.get_input_embeddings().register_forward_hook(lambda *a: None)
    copy_.enable_input_require_grads()
    assert not tiny.model("blip2-opt").get_input_embeddings()._forward_hooks


def test_copies_share_no_tensor_and_no_config_with_each_other():
    a, b = tiny.model("blip2-opt"), tiny.model("blip2-opt")
    ptrs = {t.data_ptr() for t in a.state_dict().values()}
    assert not ptrs & {t.data_ptr() for t in b.state_dict().values()}
    a.config.text_config.pad_token_id = 99
    assert b.config.text_config.pad_token_id != 99 and tiny.config("blip2-opt").text_config.pad_token_id != 99


def test_training_a_copy_does_not_reach_the_next_copy():
    from vlmcompat.probes.common import processor_expands

    expanded = processor_expands()  # the format the installed BLIP-2 takes
    model = tiny.model("blip2-opt", image_token=expanded)
    batch = tiny.make_batch("blip2-opt", expanded=expanded)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)
    model.train()
    model(**batch).loss.backward()
    optimizer.step()
    with torch.no_grad():
        next(model.parameters()).fill_(float("nan"))
    _same_weights(tiny.model("blip2-opt", image_token=expanded), tiny.build("blip2-opt", image_token=expanded))


@pytest.mark.parametrize("probe_name", ["training-step", "nan-loss"])
def test_a_probe_that_trains_leaves_the_master_untouched(probe_name):
    """training-step trains LoRA (and TinyLLaVA's connector) in place; nan-loss makes weights NaN natively."""
    from vlmcompat import patches, probes

    before = tiny.model("tinyllava", image_token=True)
    mode = Mode.PATCHED if probe_name == "training-step" else Mode.NATIVE
    if mode is Mode.PATCHED:
        patches.apply()
    try:
        probes.get(probe_name).run("tinyllava", mode)
    except probes.ProbeFailed:
        pass  # nan-loss fails natively by design; the weights it poisoned are the point
    after = tiny.model("tinyllava", image_token=True)
    assert not any("lora_" in name for name, _ in after.named_parameters())
    _same_weights(after, before)
    _same_weights(after, tiny.build("tinyllava", image_token=True))


def test_config_and_model_type_copy_nothing_they_should_not():
    config = tiny.config("blip2-t5", image_token=True)
    assert config is not tiny.config("blip2-t5", image_token=True)
    assert config.to_dict() == tiny.build("blip2-t5", image_token=True).config.to_dict()
    assert tiny.model_type("blip2-t5").__name__ == "Blip2ForConditionalGeneration"


def test_a_class_provided_under_the_family_name_gets_its_own_master(monkeypatch):
    import importlib

    stock = tiny.model("blip2-opt")
    # the module object builders import now (transformers 5 may replace it on a first lazy access)
    current = importlib.import_module("transformers")
    original = current.Blip2ForConditionalGeneration

    class Provided(original):  # a class under transformers' name, as a backport is
        pass

    monkeypatch.setattr(current, "Blip2ForConditionalGeneration", Provided)
    provided = tiny.model("blip2-opt")
    monkeypatch.undo()
    assert type(stock) is original and type(provided) is Provided
    assert type(tiny.model("blip2-opt")) is original
    _same_weights(provided, stock)


def test_patches_replace_methods_never_construction():
    """The cache copies a model built under either patch state: that holds while no patch replaces
    how a model is constructed."""
    from vlmcompat import patches

    for patch in patches.builtin_patches():
        for replacement in patch.plan().replacements:
            owner = replacement.owner
            if isinstance(owner, type) and issubclass(owner, torch.nn.Module):
                where = f"{patch.name} replaces {owner.__name__}.{replacement.attr}"
                assert replacement.attr not in CONSTRUCTION, where


CHILD = """
import hashlib, sys
from vlmcompat import tiny
h = hashlib.sha256()
for name, tensor in tiny.model("blip2-opt", image_token=True).state_dict().items():
    h.update(name.encode())
    h.update(tensor.detach().contiguous().numpy().tobytes())
print(h.hexdigest())
"""


def test_weights_are_identical_in_another_process():
    root = Path(__file__).resolve().parents[3]  # this checkout's vlmcompat, not an installed one
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip().splitlines()[-1] == digest(tiny.build("blip2-opt", image_token=True))


def test_a_backported_class_is_copied_only_while_patches_provide_it():
    from vlmcompat import patches

    family = "instructblip-t5"
    if tiny.class_available(family):
        pytest.skip("this transformers has InstructBLIP: no backport is installed here")
    patches.apply()
    try:
        copied, fresh = tiny.model(family), tiny.build(family)
        assert type(copied) is type(fresh) and type(copied).__module__.startswith("vlmcompat.")
        _same_weights(copied, fresh)
    finally:
        patches.revert()
    with pytest.raises(AttributeError):
        tiny.model(family)  # no master outlives the class

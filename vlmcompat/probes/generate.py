"""``generate``: after a short LoRA training, what does ``generate()`` return?

- native: the stock ``generate()`` of a model trained with ``task_type=None`` LoRA (the
  wrapper every release accepts, so the result is about generate, not the wrapper; see the
  peft-wrapper probe). The probe records whether the output starts with the prompt
  (``includes_prompt``), with BOS (``starts_with_bos``), or with the decoder start token, and
  the number of new tokens. Decoder-only BLIP-2 / InstructBLIP return BOS + new tokens up to
  4.46 and prompt + new tokens from 4.47; LLaVA always the prompt; T5 the decoder start.
- patched: the family's PEFT task type, trained with :func:`vlmcompat.train.training_step`,
  then :func:`vlmcompat.generate.generate` must return exactly the new tokens,
  ``(batch, 1..max_new_tokens)``, equal to the tail of the stock output, and with
  ``include_prompt=True`` the prompt followed by those same tokens, on every release.
"""

from __future__ import annotations

from vlmcompat import tiny
from vlmcompat.probes.base import Metrics, Probe, ProbeFailed
from vlmcompat.probes.common import (
    NATIVE_PLAIN,
    generation_inputs,
    input_format,
    lora_model,
    processor_expands,
    require_class,
)
from vlmcompat.results import Mode
from vlmcompat.train import training_step

STEPS = 2
LR = 5e-3
MAX_NEW_TOKENS = 4


def _trained(family: str, mode: Mode, expanded: bool):
    import torch

    model, backend = lora_model(family, mode, expanded, task_type=NATIVE_PLAIN, dropout=0.0)
    batch = tiny.make_batch(family, expanded)
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=LR)
    losses = [training_step(model, batch, optimizer).loss for _ in range(STEPS)]
    model.eval()
    return model, backend, batch, losses


def describe_output(model, prompt, sequences) -> Metrics:
    """Where the new tokens start in a stock output, as observed."""
    import torch

    from vlmcompat.generate import base_model

    config = base_model(model).config
    text_config = getattr(config, "text_config", config)
    bos = getattr(text_config, "bos_token_id", None)
    start = getattr(text_config, "decoder_start_token_id", None)
    prompt_len = prompt.shape[1]
    includes_prompt = sequences.shape[1] > prompt_len and bool(torch.equal(sequences[:, :prompt_len], prompt))
    starts_with_bos = bos is not None and bool((sequences[:, 0] == bos).all())
    starts_with_decoder_start = start is not None and bool((sequences[:, 0] == start).all())
    if includes_prompt:
        prefix = prompt_len
    elif starts_with_bos or starts_with_decoder_start:
        prefix = 1
    else:
        prefix = 0
    return {"output_length": int(sequences.shape[1]), "prompt_length": int(prompt_len),
            "includes_prompt": includes_prompt, "starts_with_bos": starts_with_bos,
            "starts_with_decoder_start": starts_with_decoder_start, "new_tokens": int(sequences.shape[1] - prefix)}


def run(family: str, mode: Mode) -> Metrics:
    import torch

    from vlmcompat import generate as vgenerate

    require_class(family)
    expanded = processor_expands()
    lora_model, backend, batch, losses = _trained(family, mode, expanded)
    inputs = generation_inputs(batch)
    prompt = inputs["input_ids"]
    metrics: Metrics = {"backend": backend, "input_format": input_format(expanded),
                        "train_losses": [round(x, 5) for x in losses], "max_new_tokens": MAX_NEW_TOKENS}
    with torch.no_grad():
        stock = vgenerate.base_model(lora_model).generate(**inputs, max_new_tokens=MAX_NEW_TOKENS, do_sample=False)
    metrics.update(describe_output(lora_model, prompt, stock))
    metrics["stock_layout"] = vgenerate.stock_layout(lora_model)
    if mode is Mode.NATIVE:
        if metrics["new_tokens"] < 1:
            raise ProbeFailed(None, f"generate() returned no new tokens (shape {tuple(stock.shape)})", metrics)
        return metrics
    new = vgenerate.generate(lora_model, **inputs, max_new_tokens=MAX_NEW_TOKENS, do_sample=False)
    with_prompt = vgenerate.generate(lora_model, include_prompt=True, **inputs, max_new_tokens=MAX_NEW_TOKENS,
                                     do_sample=False)
    metrics.update(patched_shape=list(new.shape), patched_includes_prompt=False)
    if new.ndim != 2 or new.shape[0] != prompt.shape[0] or not 1 <= new.shape[1] <= MAX_NEW_TOKENS:
        raise ProbeFailed(None, f"vlmcompat.generate returned shape {tuple(new.shape)}; expected "
                          f"({prompt.shape[0]}, 1..{MAX_NEW_TOKENS})", metrics)
    if not torch.equal(new, stock[:, stock.shape[1] - new.shape[1]:]):
        raise ProbeFailed(None, "vlmcompat.generate's new tokens differ from the tail of the stock output", metrics)
    expected = torch.cat([prompt, new], dim=1)
    if not torch.equal(with_prompt, expected):
        raise ProbeFailed(None, f"include_prompt=True returned shape {tuple(with_prompt.shape)}, not the prompt "
                          f"followed by the new tokens {tuple(expected.shape)}", metrics)
    return metrics


PROBE = Probe(
    name="generate",
    summary="generate() after LoRA training: what the stock output holds; vlmcompat.generate returns new tokens only",
    run=run,
    families=tuple(tiny.FAMILIES),
)

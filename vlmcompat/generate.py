"""One ``generate()`` behaviour for every transformers release: the new tokens only.

What the stock ``generate()`` of a vision-language model returns depends on the release and
on the language model, so decoding code written against one release breaks on the next:

- encoder-decoder LMs (Flan-T5): the decoder start token, then the new tokens;
- BLIP-2 / InstructBLIP with a decoder-only LM, transformers <= 4.46: BOS, then the new tokens;
- the same from 4.47, and LLaVA on every release: the prompt ``input_ids``, then the new tokens;
- a model class with a ``generate()`` of its own (e.g. TinyLLaVA-style compositions that call
  the LM with ``inputs_embeds``): usually the new tokens only; the prompt is stripped if present.

``generate(model, **inputs, max_new_tokens=...)`` calls the model's own ``generate`` (through a
PEFT wrapper's base model, where the LoRA layers already live) and returns a ``LongTensor`` of
shape ``(batch, new_tokens)``: exactly the tokens generated, whatever the release. With
``include_prompt=True`` it returns ``torch.cat([input_ids, new_tokens], dim=1)`` for every LM
kind. With ``return_dict_in_generate=True`` the output object is returned with its
``sequences`` replaced the same way.

The prefix to strip is decided by the layout the installed release is known to produce and
then verified on the output; a mismatch raises :class:`~vlmcompat.errors.ForwardInputError`
rather than returning wrong tokens.
"""

from __future__ import annotations

from typing import Any

from vlmcompat import versions
from vlmcompat.errors import ForwardInputError

# First release whose decoder-only BLIP-2 / InstructBLIP generate() returns the prompt too.
PROMPT_IN_OUTPUT_SINCE = "4.47"
_BLIP_CLASSES = ("Blip2ForConditionalGeneration", "InstructBlipForConditionalGeneration")

DECODER_START = "decoder-start"  # seq2seq: one decoder start token, then the new tokens
BOS = "bos"  # BOS, then the new tokens
PROMPT = "prompt"  # the prompt input_ids, then the new tokens
DETECT = "detect"  # a generate() of its own (not transformers'): the prompt is stripped if it is there


def base_model(model: Any) -> Any:
    """The transformers model under a PEFT wrapper (LoRA layers are injected into it)."""
    if type(model).__module__.split(".")[0] == "peft" and hasattr(model, "get_base_model"):
        return model.get_base_model()
    return model


def _is_encoder_decoder(model: Any) -> bool:
    config = model.config
    text_config = getattr(config, "text_config", None)
    if text_config is not None and hasattr(config, "vision_config"):
        return bool(getattr(text_config, "is_encoder_decoder", False))
    return bool(getattr(config, "is_encoder_decoder", False))


def stock_layout(model: Any) -> str:
    """What the installed release's ``model.generate()`` puts before the new tokens."""
    model = base_model(model)
    if _is_encoder_decoder(model):
        return DECODER_START
    if getattr(type(model).generate, "__module__", "").startswith("vlmcompat.forwards"):
        return PROMPT  # vlmcompat's legacy-path generate (patched, backport): the prompt, then the new tokens
    blip = any(cls.__name__ in _BLIP_CLASSES for cls in type(model).__mro__)
    if blip:
        return PROMPT if versions.transformers_at_least(PROMPT_IN_OUTPUT_SINCE) else BOS
    if getattr(type(model).generate, "__module__", "").startswith("transformers.generation"):
        return PROMPT  # GenerationMixin.generate given input_ids returns them first
    return DETECT


def _starts_with(sequences, input_ids) -> bool:
    import torch

    n = input_ids.shape[1]
    return sequences.shape[1] > n and bool(torch.equal(sequences[:, :n], input_ids.to(sequences)))


def prefix_length(layout: str, input_ids, sequences) -> int:
    """How many leading positions of ``sequences`` are not new tokens; verified on the output."""
    if layout == DETECT:
        return input_ids.shape[1] if input_ids is not None and _starts_with(sequences, input_ids) else 0
    if layout in (DECODER_START, BOS):
        if sequences.shape[1] < 1:
            raise ForwardInputError(f"generate() returned an empty sequence; expected a {layout} token first")
        return 1
    prompt_len = input_ids.shape[1]
    if not _starts_with(sequences, input_ids):
        raise ForwardInputError(
            f"generate() output does not start with the prompt as transformers {versions.installed('transformers')} "
            f"does for this model (output shape {tuple(sequences.shape)}, prompt length {prompt_len}); "
            "please report this with your versions")
    return prompt_len


def generate(model: Any, include_prompt: bool = False, **inputs: Any):
    """New tokens only, shape ``(batch, new)``; ``include_prompt=True`` prepends ``input_ids``."""
    import torch

    base = base_model(model)
    input_ids = inputs.get("input_ids")
    layout = stock_layout(base)
    if layout == PROMPT and input_ids is None:
        raise ForwardInputError("vlmcompat.generate needs the prompt's input_ids for a decoder-only language "
                                "model (the stock output starts with a prompt it would otherwise have to guess)")
    with torch.no_grad():
        output = base.generate(**inputs)
    sequences = output.sequences if hasattr(output, "sequences") else output
    new_tokens = sequences[:, prefix_length(layout, input_ids, sequences):]
    if include_prompt:
        if input_ids is None:
            raise ForwardInputError("include_prompt=True needs input_ids")
        new_tokens = torch.cat([input_ids.to(new_tokens), new_tokens], dim=1)
    if hasattr(output, "sequences"):
        output.sequences = new_tokens
        return output
    return new_tokens

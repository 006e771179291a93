"""The parts of a vision-language model, found by feature on every transformers release.

    from vlmcompat.parts import parts, text_config
    p = parts(model)   # model: a transformers VLM, or the same wrapped by peft
    p.language_model, p.vision_tower, p.projector, p.lm_head, p.embed_tokens
    text_config(model.config).vocab_size

Attribute paths moved: the 4.52 refactor put the bare decoder at ``model.model.language_model``
(``model.language_model`` was the whole ``...ForCausalLM`` before) and Qwen's vision tower at
``model.model.visual``; 5.x removed the aliases, so ``model.language_model`` / ``model.visual``
raise ``AttributeError``. ``parts`` never names a path. It returns the module objects the stock
forward itself calls:

- ``embed_tokens``: ``model.get_input_embeddings()``;
- ``lm_head``: ``model.get_output_embeddings()``;
- ``language_model``: the text transformer, i.e. the innermost sub-model configured as the text
  model (``config.text_config``, or ``config`` itself where the release has no text config) that
  holds ``embed_tokens``: the bare decoder (``LlamaModel``, ``Qwen2VLTextModel``, ...) for
  decoder-only language models, the whole ``T5ForConditionalGeneration`` for T5;
- ``vision_tower``: the outermost sub-model configured as ``config.vision_config``;
- ``projector``: what maps image features into the text width: the sub-module beside the two
  towers (``multi_modal_projector``, ``connector``, ``language_projection``) or, where the vision
  tower ends in it (Qwen's ``merger``), that last block of the vision tower.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vlmcompat.errors import UsageError

# sizes that tell two configs of one class apart (a deep copy compares equal, another tower does not)
_KEY_ATTRS = ("model_type", "is_encoder_decoder", "is_decoder", "vocab_size", "hidden_size", "embed_dim",
              "intermediate_size", "num_hidden_layers", "depth", "num_attention_heads", "num_heads",
              "image_size", "patch_size")


@dataclass(frozen=True)
class Parts:
    language_model: Any
    vision_tower: Any
    projector: Any
    lm_head: Any
    embed_tokens: Any


def text_config(config: Any) -> Any:
    """The config that holds ``vocab_size`` and ``hidden_size`` of the language model:
    ``config.text_config`` where there is one (Gemma 3, LLaVA, Qwen2-VL from 4.52, ...), else
    ``config`` itself (Qwen2-VL / Qwen2.5-VL before 4.52, text-only models)."""
    candidates = [getattr(config, "text_config", None)]
    get_text_config = getattr(config, "get_text_config", None)
    if callable(get_text_config):
        candidates.append(get_text_config())
    candidates.append(config)
    for candidate in candidates:
        if candidate is not None and _has(candidate, "vocab_size") and _has(candidate, "hidden_size"):
            return candidate
    raise UsageError(f"{type(config).__name__} has no vocab_size/hidden_size, at the top or in text_config; "
                     "vlmcompat cannot tell which config describes its language model")


def _has(config: Any, attr: str) -> bool:
    try:
        return getattr(config, attr) is not None
    except (AttributeError, KeyError):
        return False


def _key(config: Any) -> tuple:
    values = []
    for attr in _KEY_ATTRS:
        try:
            values.append(getattr(config, attr, None))
        except (AttributeError, KeyError):
            values.append(None)
    return (type(config).__name__, *map(repr, values))


def _configured_as(module: Any, target: Any) -> bool:
    config = getattr(module, "config", None)
    if config is None or target is None:
        return False
    return config is target or _key(config) == _key(target)


def unwrap(model: Any) -> Any:
    """The transformers model inside a peft wrapper (``PeftModel`` or ``LoraModel``)."""
    get_base_model = getattr(model, "get_base_model", None)
    if callable(get_base_model):
        model = get_base_model()
    if type(model).__name__ == "LoraModel" and hasattr(model, "model"):
        model = model.model
    return model


def _contains(outer: Any, inner: Any) -> bool:
    return any(m is inner for m in outer.modules())


def _output_width(module: Any) -> int | None:
    """The output width of the last weight matrix in ``module``: a Linear's ``out_features`` or
    the last dimension of a raw ``(in, out)`` projection matrix (Gemma 3's)."""
    import torch

    width = None
    for sub in module.modules():
        if isinstance(sub, torch.nn.Linear):
            width = sub.out_features
        elif not isinstance(sub, torch.nn.Embedding):
            for param in sub.parameters(recurse=False):
                if param.dim() == 2:
                    width = param.shape[-1]
    return width


def _is_projector_like(module: Any, width: int) -> bool:
    """A block (no stack of layers, no embedding table) whose output has the text width."""
    import torch

    if any(isinstance(m, (torch.nn.ModuleList, torch.nn.Embedding)) for m in module.modules()):
        return False
    return _output_width(module) == width


def parts(model: Any) -> Parts:
    """The language model, vision tower, projector, LM head and input embeddings of ``model``."""
    import torch

    name = type(model).__name__
    model = unwrap(model)
    config = getattr(model, "config", None)
    if not isinstance(model, torch.nn.Module) or config is None or not hasattr(model, "get_input_embeddings"):
        raise UsageError(f"{name} is not a transformers model (no config / get_input_embeddings); "
                         "pass the model (or its peft wrapper) itself")
    embed = model.get_input_embeddings()
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    text_cfg = text_config(config)
    vision_cfg = getattr(config, "vision_config", None)
    if vision_cfg is None:
        raise UsageError(f"{name} has no vision_config; vlmcompat.parts reads vision-language models "
                         "(a text and a vision sub-model)")
    named = [(n, m) for n, m in model.named_modules() if m is not model]

    text_models = [m for _, m in named  # outer before inner
                   if _configured_as(m, text_cfg) and embed is not None and _contains(m, embed)]
    language_model = None
    if text_models:  # an encoder-decoder LM is one part (its stacks' configs are copies of it)
        outer = text_models[0]
        language_model = outer if getattr(outer.config, "is_encoder_decoder", False) else text_models[-1]
    vision_tower = next((m for _, m in named if _configured_as(m, vision_cfg)), None)
    if language_model is None or vision_tower is None:
        missing = "language model" if language_model is None else "vision tower"
        raise UsageError(f"{name} has no sub-module configured as its {missing} "
                         f"({type(text_cfg if language_model is None else vision_cfg).__name__}); "
                         "vlmcompat.parts cannot read this model")
    width = int(text_cfg.hidden_size)
    projector = _projector(model, language_model, vision_tower, embed, head, width)
    return Parts(language_model, vision_tower, projector, head, embed)


def _projector(model: Any, language_model: Any, vision_tower: Any, embed: Any, head: Any, width: int) -> Any:
    """The block that maps image features to the text width: a child of the towers' closest
    common container that is neither tower (nor holds one), nor the embeddings or head; where
    there is none, a child of the vision tower (Qwen's ``merger``). A block has no stack of
    layers (``ModuleList``) and no embedding table, which keeps out Q-Formers and tower blocks."""
    container = model
    while True:
        inner = next((c for c in container.children() if _contains(c, language_model) and _contains(c, vision_tower)),
                     None)
        if inner is None:
            break
        container = inner
    beside = [c for c in container.children()
              if not any(_contains(c, m) for m in (language_model, vision_tower, embed))
              and c is not head and _is_projector_like(c, width)]
    inside = [c for c in vision_tower.children() if _is_projector_like(c, width)]
    for candidates in (beside, inside):
        if candidates:
            return candidates[0]
    raise UsageError(f"{type(model).__name__} has no module that maps image features to the text width ({width}) "
                     "beside or at the end of its vision tower; vlmcompat.parts cannot find its projector")

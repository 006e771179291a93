"""The token type ids a processor returns, supplied when a training batch lacks them.

Gemma 3 (transformers 5.0-5.5) and PaliGemma (5.0-5.8) refuse to train without
``token_type_ids`` (``token_type_ids is required as a model input when training``); Qwen2-VL and
Qwen3-VL (5.4 on) refuse image batches without ``mm_token_type_ids`` (M-RoPE needs them).
Collators that rebuild batches from ``input_ids`` drop them. Both are a function of
``input_ids`` and ``labels``, as the processors write them: Gemma 3 marks the image tokens (1),
PaliGemma the suffix it trains on (1 where ``labels`` are not ``-100``; 0 on the prefix, image
included), Qwen the image (1) and video (2) tokens. The patched ``forward`` computes them when missing, on the releases
whose modelling code raises that error (read from the class's module source), nothing else.
"""

from __future__ import annotations

import functools
import inspect
import sys

from vlmcompat.patches import Patch, Plan, Replacement

_TRAINING = "is required as a model input when training"
_MROPE = "Please pass `mm_token_type_ids` to the model"
# class -> (the argument, what it marks, the message its module raises without it)
CLASSES = {
    "Gemma3ForConditionalGeneration": ("token_type_ids", "image", _TRAINING),
    "PaliGemmaForConditionalGeneration": ("token_type_ids", "labels", _TRAINING),
    "Qwen2VLForConditionalGeneration": ("mm_token_type_ids", "image+video", _MROPE),
    "Qwen2_5_VLForConditionalGeneration": ("mm_token_type_ids", "image+video", _MROPE),
    "Qwen3VLForConditionalGeneration": ("mm_token_type_ids", "image+video", _MROPE),
}


def type_ids(config, input_ids, marks: str, labels=None):
    """What the processor writes: ``image``: 1 on image tokens; ``image+video``: also 2 on video
    tokens; ``labels``: 1 where ``labels`` are trained (PaliGemma's suffix), zeros without labels."""
    if marks == "labels":
        return (labels != -100).long() if labels is not None else (input_ids * 0).long()
    image = getattr(config, "image_token_id", None)
    image = getattr(config, "image_token_index", None) if image is None else image
    out = (input_ids == image).long()
    video = getattr(config, "video_token_id", None)
    if marks == "image+video" and video is not None:
        out[input_ids == video] = 2
    return out


def _forward(original, argument: str, marks: str):
    signature = inspect.signature(original)

    @functools.wraps(original)
    def forward(self, *args, **kwargs):
        bound = signature.bind_partial(self, *args, **kwargs)
        input_ids = bound.arguments.get("input_ids")
        if bound.arguments.get(argument) is None and input_ids is not None:
            kwargs[argument] = type_ids(self.config, input_ids, marks, bound.arguments.get("labels"))
            if argument in bound.arguments:  # passed positionally as None
                bound.arguments[argument] = kwargs.pop(argument)
                return original(*bound.args, **bound.kwargs)
        return original(self, *args, **kwargs)

    return forward


def _raises(cls, message: str) -> bool:
    try:
        return message in inspect.getsource(sys.modules[cls.__module__])
    except (OSError, TypeError, KeyError):
        return False


def _plan() -> Plan:
    try:
        import transformers
    except ImportError:
        return Plan(reason="transformers is not installed")
    replacements = []
    for name, (argument, marks, message) in CLASSES.items():
        cls = getattr(transformers, name, None)
        if cls is not None and _raises(cls, message) and argument in inspect.signature(cls.forward).parameters:
            replacements.append(Replacement(cls, "forward", lambda original, argument=argument, marks=marks:
                                            _forward(original, argument, marks)))
    if not replacements:
        return Plan(reason=f"transformers {transformers.__version__}: no model here refuses batches without token "
                    "type ids")
    return Plan(replacements)


PATCH = Patch(
    name="token_type_ids",
    summary="Gemma 3 / PaliGemma token_type_ids and Qwen mm_token_type_ids computed from input_ids when a batch "
    "lacks them",
    plan=_plan,
)

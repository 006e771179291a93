"""Text settings read through ``config.text_config`` for Qwen2-VL / Qwen2.5-VL configs.

From 4.52 ``Qwen2VLConfig`` / ``Qwen2_5_VLConfig`` take the text settings in ``text_config``. A
config built that way (TRL's tiny-model script does; 5.x saves config.json with the text settings
only there) has no top-level ``vocab_size``/``hidden_size`` on 4.52-4.55, while the stock model
still reads them from the top: ``'Qwen2VLConfig' object has no attribute 'hidden_size'`` (4.52.1,
at build) / ``... 'vocab_size'`` (4.52.4-4.55.4, in the loss). On 5.x code outside the model
fails the same way. The patched classes answer a missing text setting from ``text_config``
(``__getattr__``, only called when the normal lookup fails); nothing else changes.
"""

from __future__ import annotations

from vlmcompat.patches import Patch, Plan, Replacement

CLASSES = ("Qwen2VLConfig", "Qwen2_5_VLConfig")
TEXT_SETTINGS = frozenset((
    "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
    "num_key_value_heads", "max_position_embeddings", "rms_norm_eps", "hidden_act", "rope_theta", "rope_scaling",
    "sliding_window", "max_window_layers", "use_sliding_window", "attention_dropout", "tie_word_embeddings",
))


def _getattr(original):
    def __getattr__(self, name):
        if name in TEXT_SETTINGS:
            text = self.__dict__.get("text_config")
            if text is not None and name in getattr(text, "__dict__", {}):
                return getattr(text, name)
        if original is not None:
            return original(self, name)
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    return __getattr__


def _plan() -> Plan:
    try:
        import transformers
    except ImportError:
        return Plan(reason="transformers is not installed")
    replacements = []
    for name in CLASSES:
        cls = getattr(transformers, name, None)
        if cls is not None and "text_config" in (getattr(cls, "sub_configs", None) or {}):
            replacements.append(Replacement(cls, "__getattr__", _getattr))
    if not replacements:
        return Plan(reason=f"transformers {transformers.__version__}: no Qwen2-VL config with a text_config here")
    return Plan(replacements)


PATCH = Patch(
    name="nested_text_config",
    summary="Qwen2-VL / Qwen2.5-VL configs answer missing top-level text settings from text_config",
    plan=_plan,
)

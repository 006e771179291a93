"""Let peft < 0.21.2 build ``PeftModelForSeq2SeqLM`` on transformers >= 5.18.

``PeftModelForSeq2SeqLM.__init__`` (peft < 0.21.2) stores
``base_model._prepare_encoder_decoder_kwargs_for_generation`` so that its ``generate()`` can
swap it and put it back. transformers 5.18 renamed the ``GenerationMixin`` method to
``_prepare_text_encoder_decoder_kwargs_for_generation``, so ``get_peft_model(model,
LoraConfig(task_type="SEQ_2_SEQ_LM"))`` fails with ``AttributeError: ... has no attribute
'_prepare_encoder_decoder_kwargs_for_generation'`` (``peft-seq2seq-generation-kwargs``).

The patch gives the vision-language classes that people wrap as SEQ_2_SEQ_LM (BLIP-2,
InstructBLIP) the old name, delegating to the new method with the same arguments. It is planned
only where the old name is absent, so it never replaces a method transformers still ships, and
changes nothing else: BLIP-2 / InstructBLIP ``generate()`` hands generation to the language
model, which never calls the old name.
"""

from __future__ import annotations

from vlmcompat.patches import Patch, Plan, Replacement

OLD_NAME = "_prepare_encoder_decoder_kwargs_for_generation"
NEW_NAME = "_prepare_text_encoder_decoder_kwargs_for_generation"
CLASS_NAMES = ("Blip2ForConditionalGeneration", "InstructBlipForConditionalGeneration")


def _prepare_encoder_decoder_kwargs_for_generation(self, inputs_tensor, model_kwargs, model_input_name,
                                                   generation_config):
    """The pre-5.18 name of ``GenerationMixin._prepare_text_encoder_decoder_kwargs_for_generation``."""
    return getattr(self, NEW_NAME)(inputs_tensor=inputs_tensor, model_kwargs=model_kwargs,
                                   model_input_name=model_input_name, generation_config=generation_config)


def _plan() -> Plan:
    try:
        import transformers
    except ImportError:
        return Plan(reason="transformers is not installed")
    replacements = []
    for name in CLASS_NAMES:
        cls = getattr(transformers, name, None)
        if cls is None or hasattr(cls, OLD_NAME) or not hasattr(cls, NEW_NAME):
            continue
        replacements.append(Replacement(cls, OLD_NAME, lambda original: _prepare_encoder_decoder_kwargs_for_generation))
    if not replacements:
        return Plan(reason=f"transformers {transformers.__version__} still has {OLD_NAME} (removed in 5.18)")
    return Plan(replacements)


PATCH = Patch(
    name="peft_seq2seq_wrapper",
    summary="peft<0.21.2 SEQ_2_SEQ_LM wrapper on transformers>=5.18: restore the generation-kwargs method name",
    plan=_plan,
)

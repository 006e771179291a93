"""The version-aware forward pieces that the patches and the backports share.

- :mod:`~vlmcompat.forwards.language_model` — the VLM's language model found by feature, modules
  called with only the arguments they accept (``None`` is never passed);
- :mod:`~vlmcompat.forwards.merge` — image features merged into text embeddings (prepend or
  scatter, out of place), the language-model call with ``inputs_embeds`` only, the losses;
- :mod:`~vlmcompat.forwards.generation` — generation from merged embeddings, the same layout on
  every release;
- :mod:`~vlmcompat.forwards.qformer` — BLIP-2 and InstructBLIP forward/generate;
- :mod:`~vlmcompat.forwards.llava` — LLaVA forward.

Nothing here imports :mod:`vlmcompat.patches` or :mod:`vlmcompat.backports`: patches install
these functions, backports build classes from them.
"""

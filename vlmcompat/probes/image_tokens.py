"""``image-tokens``: does the language model receive the sequence the inputs describe?

Two checks, both formats a user can hold whatever transformers is installed:

1. a *legacy* checkpoint (config without an image token id, text-only ``input_ids``): the
   model must prepend the query embeddings. Transformers >= 4.55 removed that path and fails
   (``'bool' object has no attribute 'unsqueeze'``).
2. *expanded* inputs (``num_query_tokens`` image tokens in ``input_ids``, the config names the
   token id): the LM must receive exactly ``len(input_ids)`` positions with the query
   embeddings in the image-token slots. Transformers 4.31-4.44 ignore the id and prepend the
   queries anyway, treating the image tokens as text: no error, wrong inputs. Only the length
   of what the LM receives (checked without labels, which would slice the logits) shows it.

The two formats must also give the same loss on the same weights. Families without a legacy
format (Qwen2-VL, LLaVA-OneVision, SmolVLM, Gemma 3, PaliGemma 2: their processors expanded the
image tokens from the first release) get check 2 only.
"""

from __future__ import annotations

import contextlib

from vlmcompat import known_issues, tiny
from vlmcompat.probes.base import Metrics, Probe, ProbeFailed
from vlmcompat.probes.common import require_class, without
from vlmcompat.results import Mode

LOSS_ATOL = 1e-5


def _lm_sequence_length(outputs, seq2seq: bool) -> int:
    if seq2seq:
        return int(outputs.language_model_outputs.encoder_last_hidden_state.shape[1])
    return int(outputs.logits.shape[1])


@contextlib.contextmanager
def _rejection(input_format: str):
    """A model that validates its inputs (LLaVA) rejects a format with a ValueError: the same issue,
    unless the catalogue knows the error as something more specific (e.g. ``legacy-loss-shape``)."""
    try:
        yield
    except ValueError as exc:
        issue = known_issues.classify_exception(exc) or "image-token-expansion"
        raise ProbeFailed(issue, f"{input_format} inputs are rejected: {exc}") from exc


def run(family: str, mode: Mode) -> Metrics:
    import torch

    fam = require_class(family)
    metrics: Metrics = {}
    legacy_loss = None
    if fam.legacy_format:  # 1. legacy checkpoint, legacy inputs
        legacy_model = tiny.model(family, seed=0, image_token=False)
        legacy_batch = tiny.make_batch(family, expanded=False)
        with torch.no_grad(), _rejection("legacy"):
            legacy_loss = float(legacy_model(**legacy_batch).loss)
        metrics["legacy_loss"] = legacy_loss
    else:
        metrics["legacy_loss"] = f"n/a: every {fam.model_class} processor expands the image tokens"
    # 2. expanded inputs, config with the image token id
    model = tiny.model(family, seed=0, image_token=True)
    batch = tiny.make_batch(family, expanded=True)
    probe_inputs = without(batch, "labels")
    if fam.is_seq2seq:
        probe_inputs["decoder_input_ids"] = torch.zeros((batch["input_ids"].shape[0], 1), dtype=torch.long)
    with torch.no_grad(), _rejection("expanded"):
        outputs = model(**probe_inputs)
        expanded_loss = float(model(**batch).loss)
    received, expected = _lm_sequence_length(outputs, fam.is_seq2seq), int(batch["input_ids"].shape[1])
    metrics.update(expanded_loss=expanded_loss, lm_positions=received, input_positions=expected)
    if received != expected:
        raise ProbeFailed(
            "image-token-expansion",
            f"expanded inputs are treated as text: the language model received {received} positions for "
            f"{expected} input ids (the image tokens were kept as text and the image features added again, "
            f"{received - expected:+d} positions)",
            metrics,
        )
    if legacy_loss is not None and abs(expanded_loss - legacy_loss) > LOSS_ATOL:
        raise ProbeFailed(
            "image-token-expansion",
            f"legacy and expanded inputs give different losses on the same weights ({legacy_loss:.6f} vs "
            f"{expanded_loss:.6f})",
            metrics,
        )
    return metrics


PROBE = Probe(
    name="image-tokens",
    summary="legacy checkpoints on new transformers, expanded inputs on old: what the LM really receives",
    run=run,
    families=tuple(tiny.FAMILIES),
)

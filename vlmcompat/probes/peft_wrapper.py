"""``peft-wrapper``: can a LoRA model made by ``get_peft_model`` run a forward with labels?

Tried with the family's task type (SEQ_2_SEQ_LM for T5, CAUSAL_LM for LLaMA), whose wrappers
always pass ``inputs_embeds=None`` (and ``decoder_inputs_embeds`` for seq2seq), and with
``task_type=None``, which passes only what the caller gave. Native failures are
``inputs-embeds-unexpected`` (forward has no such parameter, transformers < 4.52) or
``inputs-embeds-duplicate`` (it lands in ``**kwargs`` and reaches the LM twice, 4.52-4.53).
"""

from __future__ import annotations

from vlmcompat import known_issues, tiny
from vlmcompat.probes.base import Metrics, Probe
from vlmcompat.probes.common import first_failure, lora_model, processor_expands, require_class
from vlmcompat.results import Mode


def run(family: str, mode: Mode) -> Metrics:
    import torch

    fam = require_class(family)
    expanded = processor_expands()
    batch = tiny.make_batch(family, expanded)
    metrics: Metrics = {}
    failures: list[tuple[str | None, str, BaseException | None]] = []
    for task_type in (fam.peft_task_type, None):
        label = task_type or "none"
        try:
            model, backend = lora_model(family, mode, expanded, task_type=task_type)
            with torch.no_grad():
                loss = float(model(**batch).loss)
            metrics[label] = f"pass ({backend}, loss {loss:.4f})"
        except Exception as exc:
            issue = known_issues.classify_exception(exc)
            metrics[label] = f"{issue or type(exc).__name__}: {str(exc)[:200]}"
            failures.append((issue, f"task_type={label}: {type(exc).__name__}: {exc}", exc))
    first_failure(failures, metrics)
    return metrics


PROBE = Probe(
    name="peft-wrapper",
    summary="get_peft_model with the family's task type and with task_type=None, forward with labels",
    run=run,
    families=tuple(tiny.FAMILIES),
)

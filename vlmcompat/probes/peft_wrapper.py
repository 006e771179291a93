"""``peft-wrapper``: can a LoRA model made by ``get_peft_model`` run a forward with labels?

Tried with the family's task type (SEQ_2_SEQ_LM for T5, CAUSAL_LM for LLaMA), whose wrappers
always pass ``inputs_embeds=None`` (and ``decoder_inputs_embeds`` for seq2seq), and with
``task_type=None``, which passes only what the caller gave. Native failures are
``inputs-embeds-unexpected`` (forward has no such parameter, transformers < 4.52) or
``inputs-embeds-duplicate`` (it lands in ``**kwargs`` and reaches the LM twice, 4.52-4.53).
"""

from __future__ import annotations

from vlmcompat import known_issues, tiny
from vlmcompat.probes.base import Metrics, Probe, ProbeFailed
from vlmcompat.probes.common import processor_expands, require_class
from vlmcompat.results import Mode
from vlmcompat.train import LoraSpec, add_lora


def run(family: str, mode: Mode) -> Metrics:
    import torch

    fam = require_class(family)
    expanded = processor_expands()
    metrics: Metrics = {}
    failures: list[tuple[str | None, str]] = []
    for task_type in (fam.peft_task_type, None):
        label = task_type or "none"
        model = tiny.build(family, seed=0, image_token=expanded)
        batch = tiny.make_batch(family, expanded)
        spec = LoraSpec(fam.lora_targets, task_type=task_type)
        try:
            lora_model, backend = add_lora(model, spec, allow_fallback=mode is Mode.PATCHED)
            with torch.no_grad():
                out = lora_model(**batch)
            loss = float(out.loss)
            metrics[label] = f"pass ({backend}, loss {loss:.4f})"
        except Exception as exc:
            issue = known_issues.classify_exception(exc)
            metrics[label] = f"{issue or type(exc).__name__}: {str(exc)[:200]}"
            failures.append((issue, f"task_type={label}: {type(exc).__name__}: {exc}"))
    if failures:
        issue, message = failures[0]
        if issue is None:
            raise RuntimeError(message)
        raise ProbeFailed(issue, message, metrics)
    return metrics


PROBE = Probe(
    name="peft-wrapper",
    summary="get_peft_model with the family's task type and with task_type=None, forward with labels",
    run=run,
    families=tuple(tiny.FAMILIES),
)

"""``peft-import``: can peft be imported next to the installed transformers?

``import peft`` and ``from transformers import Trainer`` (which imports peft whenever it is
installed, as TRL and diffusers do) run where nothing has imported peft yet: a probe worker runs
them first, right after importing torch and transformers (:func:`check_here`); elsewhere a fresh
interpreter (``sys.executable``) does, so a half-imported peft never lingers in this process.
Neither involves vlmcompat's patches, so what it finds is a fact of the environment, the same for
both modes: it runs once per process and both modes read its answer. A failure names the missing
symbol, the module it was expected in, and the import path that met it. Where peft cannot be
imported, the patched mode proves that training proceeds anyway with vlmcompat's own LoRA
(:mod:`vlmcompat.lora_fallback`): a tiny T5 gets LoRA layers, takes optimizer steps, and its adapter
is saved in peft's format.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from vlmcompat import known_issues, peft_pins, versions
from vlmcompat.probes.base import Metrics, Probe, ProbeFailed, ProbeSkipped, Scope
from vlmcompat.results import Mode

SMOKE = Path(__file__).resolve().parents[1] / "peft_smoke.py"
TIMEOUT = 300.0
FALLBACK = "vlmcompat-lora"

_MISSING = [
    re.compile(r"cannot import name '(?P<symbol>[\w.]+)' from '(?P<module>[\w.]+)'"),
    re.compile(r"No module named '(?P<module>[\w.]+)\.(?P<symbol>\w+)'"),
    re.compile(r"module '(?P<module>[\w.]+)' has no attribute '(?P<symbol>\w+)'"),
]


@dataclass
class ImportCheck:
    peft: str | None
    transformers: str | None
    error: str | None  # "Type: message" of the first failing import, or None
    via: str | None  # "peft" or "transformers.Trainer": the import that met the error
    symbol: str | None = None
    module: str | None = None
    trainer_error: str | None = None  # what ``from transformers import Trainer`` raised, if anything

    @property
    def ok(self) -> bool:
        return self.error is None


def missing_symbol(error: str) -> tuple[str | None, str | None]:
    """(symbol, module) named by an import error text, or (None, None)."""
    for pattern in _MISSING:
        match = pattern.search(error)
        if match:
            return match.group("symbol"), match.group("module")
    return None, None


_CHECKED: dict[str, ImportCheck] = {}  # interpreter -> what it said


def check_import(python: str | None = None, timeout: float = TIMEOUT) -> ImportCheck:
    """The import check in ``python`` (default: this interpreter): run once per process and interpreter
    (a check that raises is not kept), then a copy of what it said."""
    python = python or sys.executable
    if python not in _CHECKED:
        _CHECKED[python] = run_import_check(python, timeout)
    return dataclasses.replace(_CHECKED[python])


def forget_checks() -> None:
    """Forget what the import checks said (tests)."""
    _CHECKED.clear()


def check_here() -> None:
    """The import check in this interpreter, before anything has imported peft: what a probe worker does
    first when its tasks include this probe (it would import the stack anyway; a second interpreter
    costs 5-12 s of CPU per cell). The answer is kept as this interpreter's, as :func:`check_import`'s."""
    from vlmcompat import peft_smoke

    if "peft" in sys.modules:  # too late for a clean answer here: check_import runs a fresh interpreter
        return
    _CHECKED[sys.executable] = _parse(peft_smoke.check(train=False))


def run_import_check(python: str, timeout: float = TIMEOUT) -> ImportCheck:
    """Run the import check in a fresh ``python`` and parse what it says."""
    try:
        proc = subprocess.run([python, str(SMOKE)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"importing peft took longer than {timeout:.0f} s") from None
    try:
        data = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = proc.stderr.strip()[-500:]
        raise RuntimeError(f"the peft import check died (exit {proc.returncode}): {tail}") from None
    return _parse(data)


def _parse(data: dict) -> ImportCheck:
    error, via = data["import_error"], "peft"
    if error is None and data["trainer_error"] is not None:
        error, via = data["trainer_error"], "transformers.Trainer"
    check = ImportCheck(data["peft"], data["transformers"], error, via if error else None,
                        trainer_error=data["trainer_error"])
    if error:
        check.symbol, check.module = missing_symbol(error)
    return check


def failure_message(check: ImportCheck) -> str:
    """One line: what failed, what is installed, what to pin (from :mod:`vlmcompat.peft_pins`)."""
    what = f"{check.symbol} from {check.module}" if check.symbol else check.error
    via = "" if check.via == "peft" else f" (met through {check.via})"
    advice = peft_pins.advice_text(check.transformers, check.peft)
    return (f"peft {check.peft} cannot be imported with transformers {check.transformers}{via}: it needs {what}; "
            f"{advice}")


def fallback_metrics() -> Metrics:
    """Train a tiny T5 with the LoRA fallback and save its adapter; raise if it cannot."""
    import torch
    import transformers

    from vlmcompat import lora_fallback
    from vlmcompat.tiny import cache

    cache.one_thread()
    torch.manual_seed(0)
    config = transformers.T5Config(vocab_size=64, d_model=16, d_kv=4, d_ff=32, num_layers=1, num_decoder_layers=1,
                                   num_heads=2, decoder_start_token_id=0, pad_token_id=0, dropout_rate=0.0)
    model = lora_fallback.inject(transformers.T5ForConditionalGeneration(config), ["q", "v"], r=2, alpha=4, dropout=0.0)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=5e-2)
    ids, labels = torch.randint(1, 64, (2, 5)), torch.randint(1, 64, (2, 3))
    losses = []
    for _ in range(5):
        loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(round(loss.item(), 5))
    if not losses[-1] < losses[0]:
        raise RuntimeError(f"the LoRA fallback did not train: losses {losses}")
    with tempfile.TemporaryDirectory() as tmp:
        lora_fallback.save_adapter(model, tmp, base_model_name_or_path=None, task_type="SEQ_2_SEQ_LM")
        saved = sorted(p.name for p in Path(tmp).iterdir())
    return {"fallback": FALLBACK, "fallback_trainable": sum(p.numel() for p in trainable),
            "fallback_losses": losses, "fallback_saved": saved}


def run(family: str, mode: Mode) -> Metrics:
    if versions.installed("peft") is None:
        raise ProbeSkipped("peft is not installed")
    check = check_import()
    metrics: Metrics = {"peft": check.peft, "transformers": check.transformers,
                        "symbol": check.symbol, "module": check.module, "via": check.via,
                        "trainer_imports": check.trainer_error is None}
    if check.ok:
        return {**metrics, "fallback": None}
    below = known_issues.environment_issue(check.error)  # not peft's own imports: pyarrow against numpy ...
    issue = below or "peft-import"
    message = f"{check.via} cannot be imported here ({below}): {check.error}" if below else failure_message(check)
    if mode is Mode.NATIVE:
        raise ProbeFailed(issue, message, metrics)
    try:
        return {**metrics, **fallback_metrics()}
    except Exception as exc:  # the fallback is the patched mode's claim: report why it fails
        raise ProbeFailed(issue, f"{message}; the LoRA fallback failed too ({type(exc).__name__}: {exc})",
                          {**metrics, "fallback": None}) from exc


PROBE = Probe(
    name="peft-import",
    summary="peft (and transformers.Trainer) import with the installed transformers; patched: LoRA trains anyway",
    run=run,
    scope=Scope.ENVIRONMENT,
)

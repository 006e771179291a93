"""The probe registry: built-ins listed explicitly, third-party probes via entry points.

Third-party probes register through the ``vlmcompat.probes`` entry-point group, or without
packaging through ``VLMCOMPAT_PROBES=module:attr,...``; each must resolve to a
:class:`~vlmcompat.probes.base.Probe`. A bad one is rejected with a message naming it.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os

from vlmcompat.errors import UsageError
from vlmcompat.paths import PROBES_ENV
from vlmcompat.probes.base import Probe, ProbeFailed, ProbeSkipped, Scope

__all__ = ["Probe", "ProbeFailed", "ProbeSkipped", "Scope", "all_probes", "get", "names", "register", "reset"]

# module path -> attribute; order is the order probes run and columns appear in reports.
BUILTIN = (
    "vlmcompat.probes.model_class:PROBE",
    "vlmcompat.probes.model_parts:PROBE",
    "vlmcompat.probes.text_config:PROBE",
    "vlmcompat.probes.auto_class:PROBE",
    "vlmcompat.probes.peft_import:PROBE",
    "vlmcompat.probes.peft_wrapper:PROBE",
    "vlmcompat.probes.image_tokens:PROBE",
    "vlmcompat.probes.image_truncation:PROBE",
    "vlmcompat.probes.token_type_ids:PROBE",
    "vlmcompat.probes.training_step:PROBE",
    "vlmcompat.probes.tokenizer_format:PROBE",
    "vlmcompat.probes.nan_loss:PROBE",
    "vlmcompat.probes.trainer:PROBE",
    "vlmcompat.probes.sft_trainer:PROBE",
    "vlmcompat.probes.gradient_checkpointing:PROBE",
    "vlmcompat.probes.generate:PROBE",
)

EXTRA_ENV = PROBES_ENV

_REGISTRY: dict[str, Probe] = {}
_LOADED = False


def _load_ref(ref: str) -> Probe:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def _broken(ref: str, exc: BaseException) -> Probe:
    """Stand-in for a built-in probe whose module fails to import: every run reports the error."""
    name = ref.partition(":")[0].rsplit(".", 1)[-1].replace("_", "-")

    def run(family, mode):
        raise RuntimeError(f"probe module {ref} could not be imported: {type(exc).__name__}: {exc}")

    return Probe(name=name, summary=f"(could not be imported: {type(exc).__name__})", run=run,
                 scope=Scope.ENVIRONMENT)


def register(probe: object, source: str = "<direct>") -> None:
    if not isinstance(probe, Probe):
        raise UsageError(f"probe {source} is a {type(probe).__name__}, not a vlmcompat.probes.Probe; fix that plugin")
    if probe.name in _REGISTRY and _REGISTRY[probe.name] is not probe:
        raise UsageError(f"probe name {probe.name!r} from {source} is already registered; rename it")
    _REGISTRY[probe.name] = probe


def _ensure_loaded() -> None:
    global _LOADED
    if _LOADED:
        return
    _LOADED = True
    for ref in BUILTIN:
        try:
            probe = _load_ref(ref)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name == ref.partition(":")[0]:
                continue  # a built-in that this build does not ship
            probe = _broken(ref, exc)
        except Exception as exc:  # a probe that cannot even be imported here is a result, not a crash
            probe = _broken(ref, exc)
        register(probe, ref)
    for ep in importlib.metadata.entry_points(group="vlmcompat.probes"):
        register(ep.load(), f"entry point {ep.name!r} ({ep.value})")
    for ref in filter(None, (r.strip() for r in os.environ.get(EXTRA_ENV, "").split(","))):
        try:
            probe = _load_ref(ref)
        except (ImportError, AttributeError) as exc:
            raise UsageError(f"{EXTRA_ENV} names {ref!r}, which cannot be loaded ({exc}); "
                             "use module:attribute") from None
        register(probe, f"{EXTRA_ENV} {ref!r}")


def all_probes() -> dict[str, Probe]:
    """A copy of the registry, in run order."""
    _ensure_loaded()
    return dict(_REGISTRY)


def names() -> list[str]:
    return list(all_probes())


def get(name: str) -> Probe:
    probes = all_probes()
    if name not in probes:
        raise UsageError(f"unknown probe {name!r}; choose from: {', '.join(probes)}")
    return probes[name]


def reset() -> None:
    """Forget every registration (tests)."""
    global _LOADED
    _REGISTRY.clear()
    _LOADED = False

"""The patch registry: version-aware fixes installed in place, recorded, and revertible.

Each defect has a module here that defines a :class:`Patch`. ``apply()`` asks every patch
for its plan *now* (feature detection on the installed libraries), replaces the attributes it
names and records the originals; ``revert()`` puts the originals back exactly (an attribute
that did not exist is deleted again); ``status()`` says what is applied, and why a patch
was not. ``apply()`` is idempotent and leaves classes it does not know untouched.

This module has no import side effect; ``import vlmcompat.patch`` is the one that applies.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vlmcompat.errors import UsageError

log = logging.getLogger("vlmcompat.patch")

_MISSING = object()


@dataclass(frozen=True)
class Replacement:
    owner: Any  # a class or module
    attr: str
    make: Callable[[Any], Any]  # original (or None if absent) -> replacement


@dataclass
class Plan:
    replacements: list[Replacement] = field(default_factory=list)
    reason: str = ""  # why nothing is replaced, when the list is empty


@dataclass(frozen=True)
class Patch:
    name: str
    summary: str
    plan: Callable[[], Plan]

    @property
    def fixes(self) -> tuple[str, ...]:
        """The known-issue ids this patch fixes: the catalogue's ``fixed_by`` says, nothing here."""
        from vlmcompat import known_issues

        return known_issues.fixes_of(self.name)


def transformers_class(name: str, since: str | None = None) -> tuple[Any, str]:
    """``(class, "")`` from the installed transformers, or ``(None, reason)`` for a Plan."""
    try:
        import transformers
    except ImportError:
        return None, "transformers is not installed"
    cls = getattr(transformers, name, None)
    if cls is None:
        first = f" (first in {since})" if since else ""
        return None, f"transformers {transformers.__version__} has no {name}{first}"
    return cls, ""


def forward_plan(class_name: str, forward: Callable[..., Any],
                 make_generate: Callable[[Any], Any] | None = None, since: str | None = None) -> Plan:
    """Replace ``class_name.forward`` (and ``generate``, where the stock merge needs
    ``config.image_token_id``, i.e. the class has ``get_placeholder_mask``: >= 4.55)."""
    cls, reason = transformers_class(class_name, since=since)
    if cls is None:
        return Plan(reason=reason)
    replacements = [Replacement(cls, "forward", lambda original: forward)]
    if make_generate is not None and hasattr(cls, "get_placeholder_mask"):
        replacements.append(Replacement(cls, "generate", make_generate))
    return Plan(replacements)


BUILTIN = (
    "vlmcompat.patches.instructblip_forward:PATCH",
    "vlmcompat.patches.tokenizer_load:PATCH",
    "vlmcompat.patches.backport_classes:PATCH",
    "vlmcompat.patches.blip2_forward:PATCH",
    "vlmcompat.patches.llava_forward:PATCH",
    "vlmcompat.patches.peft_seq2seq_wrapper:PATCH",
    "vlmcompat.patches.conversion_mapping:PATCH",
    "vlmcompat.patches.peft_unavailable:PATCH",  # before anything that imports transformers.trainer
    "vlmcompat.patches.trainer_adapter_save:PATCH",
    "vlmcompat.patches.accelerate_dataloader_kwargs:PATCH",
    "vlmcompat.patches.peft_adapter_layout:PATCH",
    "vlmcompat.patches.checkpoint_layout:PATCH",
    "vlmcompat.patches.qwen_vl_config:PATCH",
    "vlmcompat.patches.vision2seq_alias:PATCH",
    "vlmcompat.patches.token_type_ids:PATCH",
    "vlmcompat.patches.nested_text_config:PATCH",
    "vlmcompat.patches.vision_input_grad:PATCH",
    "vlmcompat.patches.qwen2_vl_rope_deltas:PATCH",
)

_lock = threading.RLock()
_applied: dict[str, list[tuple[Any, str, Any, Any]]] = {}  # patch -> [(owner, attr, original, new)]
_left: dict[str, list[tuple[Any, str, Any, Any]]] = {}  # reverted patch -> what other code had replaced
_reasons: dict[str, str] = {}


def builtin_patches() -> list[Patch]:
    patches = []
    for ref in BUILTIN:
        module, _, attr = ref.partition(":")
        try:
            patches.append(getattr(importlib.import_module(module), attr))
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue  # not shipped in this build
            raise
    return patches


def _check_names(names: list[str] | None, known: list[str]) -> None:
    unknown = [name for name in names or () if name not in known]
    if unknown:
        raise UsageError(f"unknown patch {', '.join(map(repr, unknown))}; vlmcompat's patches are: {', '.join(known)}")


def apply(names: list[str] | None = None) -> dict[str, str]:
    """Install the fixes that apply to the installed libraries; returns :func:`status`."""
    with _lock:
        _check_names(names, [patch.name for patch in builtin_patches()])
        for patch in builtin_patches():
            if names is not None and patch.name not in names:
                continue
            if patch.name in _applied:
                continue
            try:
                plan = patch.plan()
            except Exception as exc:  # a broken plan must never break the user's import
                _reasons[patch.name] = f"not applied: planning failed ({type(exc).__name__}: {exc})"
                log.warning("vlmcompat: patch %s %s", patch.name, _reasons[patch.name])
                continue
            if not plan.replacements:
                _reasons[patch.name] = f"not applied: {plan.reason or 'nothing to patch here'}"
                log.info("vlmcompat: patch %s %s", patch.name, _reasons[patch.name])
                continue
            done: list[tuple[Any, str, Any, Any]] = []
            for rep in plan.replacements:
                original = rep.owner.__dict__.get(rep.attr, _MISSING) if isinstance(rep.owner, type) \
                    else getattr(rep.owner, rep.attr, _MISSING)
                resolved = getattr(rep.owner, rep.attr, None)
                new = rep.make(resolved)
                setattr(rep.owner, rep.attr, new)
                done.append((rep.owner, rep.attr, original, new))
                log.info("vlmcompat: patched %s.%s", getattr(rep.owner, "__name__", rep.owner), rep.attr)
            _applied[patch.name] = done
            _reasons.pop(patch.name, None)
        return status()


def _current(owner: Any, attr: str) -> Any:
    return owner.__dict__.get(attr, _MISSING) if isinstance(owner, type) else getattr(owner, attr, _MISSING)


def _target(owner: Any, attr: str) -> str:
    return f"{getattr(owner, '__name__', owner)}.{attr}"


def _restore(entries: list[tuple[Any, str, Any, Any]]) -> list[tuple[Any, str, Any, Any]]:
    """Put back every original whose attribute still holds vlmcompat's replacement; the rest is returned."""
    left = []
    for owner, attr, original, new in reversed(entries):
        current = _current(owner, attr)
        if current is not new and current is not original:
            left.append((owner, attr, original, new))
            continue
        if original is _MISSING:
            if current is not _MISSING:
                delattr(owner, attr)
        else:
            setattr(owner, attr, original)
        log.info("vlmcompat: reverted %s", _target(owner, attr))
    return list(reversed(left))


def revert(names: list[str] | None = None) -> dict[str, str]:
    """Restore every recorded original exactly (what other code replaced since is left and named);
    returns :func:`status`."""
    with _lock:
        _check_names(names, [patch.name for patch in builtin_patches()])
        for name in sorted(set(_applied) | set(_left)):
            if names is not None and name not in names:
                continue
            left = _restore(_applied.pop(name, []) + _left.pop(name, []))
            if left:
                _left[name] = left
                targets = ", ".join(_target(o, a) for o, a, _, _ in left)
                _reasons[name] = (f"reverted except {targets}: changed by other code after vlmcompat patched it, "
                                  "left as that code set it")
                log.warning("vlmcompat: patch %s %s", name, _reasons[name])
            else:
                _reasons.pop(name, None)
        return status()


def status() -> dict[str, str]:
    """``{patch name: "applied: X.forward, ..." | "not applied: <reason>" | "reverted except ..." |
    "not applied"}``."""
    with _lock:
        out = {}
        for patch in builtin_patches():
            if patch.name in _applied:
                out[patch.name] = "applied: " + ", ".join(_target(o, a) for o, a, _, _ in _applied[patch.name])
            else:
                out[patch.name] = _reasons.get(patch.name, "not applied")
        return out


def reset() -> dict[str, str]:
    """Revert, then forget whatever other code left in place (tests; a process that starts over)."""
    with _lock:
        revert()
        _left.clear()
        _reasons.clear()
        return status()


def is_applied(name: str) -> bool:
    with _lock:
        return name in _applied

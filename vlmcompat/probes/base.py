"""The probe contract.

A probe is a function ``run(family, mode) -> metrics`` wrapped in a :class:`Probe`. It runs the
installed libraries for real, once with the stock classes (``Mode.NATIVE``, patches reverted)
and once with vlmcompat's fixes (``Mode.PATCHED``, patches applied); the engine sets the patch
state before calling it. Outcomes:

- return a dict of metrics                      -> ``pass``
- raise :class:`ProbeFailed` (issue id, message) -> ``fail`` (a check failed in a known way)
- raise :class:`ProbeSkipped` (reason)           -> ``skip``
- any other exception                            -> ``fail`` if its text matches a known issue's
  signature (``known_issues.classify_exception``), else ``error``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from vlmcompat.results import Mode

Metrics = dict[str, Any]


class ProbeFailed(Exception):
    """The probe's check failed in a known way (``issue`` is a known-issue id)."""

    def __init__(self, issue: str | None, message: str, metrics: Metrics | None = None):
        super().__init__(message)
        self.issue = issue
        self.metrics = metrics or {}


class ProbeSkipped(Exception):
    """The probe does not apply here; the message says why."""


@dataclass(frozen=True)
class Probe:
    name: str
    summary: str
    run: Callable[[str, Mode], Metrics]
    families: tuple[str, ...] | None = None  # None: every family
    modes: tuple[Mode, ...] = (Mode.NATIVE, Mode.PATCHED)

    def applies_to(self, family: str) -> bool:
        return self.families is None or family in self.families

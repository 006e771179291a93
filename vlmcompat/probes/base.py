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

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vlmcompat.results import ENVIRONMENT, Mode

Metrics = dict[str, Any]


class ProbeFailed(Exception):
    """The probe's check failed in a known way (``issue`` is a known-issue id)."""

    def __init__(self, issue: str | None, message: str, metrics: Metrics | None = None):
        super().__init__(message)
        self.issue = issue
        self.metrics = metrics or {}


class ProbeSkipped(Exception):
    """The probe does not apply here; the message says why."""


class Scope(str, enum.Enum):
    FAMILY = "family"  # runs once per model family it applies to
    ENVIRONMENT = "environment"  # runs once per cell; its results carry the family ``*``


@dataclass(frozen=True)
class Probe:
    name: str
    summary: str
    run: Callable[[str, Mode], Metrics]
    families: tuple[str, ...] | None = None  # family scope: the families it applies to; None: every family
    modes: tuple[Mode, ...] = (Mode.NATIVE, Mode.PATCHED)
    scope: Scope = Scope.FAMILY

    def applies_to(self, family: str) -> bool:
        if self.scope is Scope.ENVIRONMENT:
            return family == ENVIRONMENT
        return self.families is None or family in self.families

    def targets(self, families: list[str]) -> list[str]:
        """What this probe runs for, given the selected model families."""
        if self.scope is Scope.ENVIRONMENT:
            return [ENVIRONMENT]
        return [family for family in families if self.applies_to(family)]

"""Installed versions and feature detection. Versions are compared with packaging only."""

from __future__ import annotations

import importlib.metadata
import platform
from collections.abc import Iterable
from functools import cache

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from vlmcompat.paths import STACK


@cache
def installed(package: str) -> Version | None:
    """The installed version of ``package`` (distribution metadata; nothing is imported)."""
    try:
        raw = importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None
    try:
        return Version(raw)
    except InvalidVersion:
        return None


def stack_versions(also: Iterable[str] = ()) -> dict[str, str | None]:
    """python + the HF stack (and the packages ``also`` names), as strings, for a CellResult."""
    versions: dict[str, str | None] = {"python": platform.python_version()}
    for package in (*STACK, *(p for p in also if p not in STACK)):
        version = installed(package)
        versions[package] = None if version is None else str(version)
    return versions


def recorded_versions() -> dict[str, str | None]:
    """What a cell records: the stack plus every package a catalogue range names (accelerate, numpy,
    pyarrow ...), so that a diagnosis can be held to its range."""
    from vlmcompat import known_issues

    return stack_versions(known_issues.packages())


def in_range(package: str, specifier: str, version: Version | str | None = None) -> bool:
    """Whether ``package`` (installed, or the given version) satisfies ``specifier``.

    Pre-releases count as their final release (5.0.0rc1 is "5.0").
    """
    if version is None:
        version = installed(package)
        if version is None:
            return False
    version = Version(str(version))
    return SpecifierSet(specifier).contains(version, prereleases=True)


def transformers_at_least(version: str) -> bool:
    current = installed("transformers")
    return current is not None and Version(current.base_version) >= Version(version)


def describe(package: str) -> str:
    version = installed(package)
    return f"{package} {version}" if version is not None else f"{package} (not installed)"

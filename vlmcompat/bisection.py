"""Bisect a package's real releases for the first one where a probe's outcome changes.

:func:`search` is the pure binary search over an ordered list of versions with an injectable
``outcome(version)`` (``None`` means "could not tell": the release does not install; it is
skipped like ``git bisect skip``). :func:`releases` reads the final, non-yanked releases from
the package index; :class:`ProbeOutcome` builds one cell per release (:mod:`vlmcompat.matrix.cell`), runs one
probe × family there and caches the native outcome (``status (issue)``) per version on disk.

The search assumes one change between the ends (the outcome at ``good`` holds up to some release
and not from then on); it reports the last release with the ``good`` outcome and the first
without it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import InvalidVersion, Version

from vlmcompat.errors import EnvironmentProblem, UsageError

INDEX_JSON = "https://pypi.org/pypi/{package}/json"
Outcome = str


@dataclass
class Step:
    version: Version
    outcome: Outcome | None  # None: skipped (did not install)
    note: str = ""


@dataclass
class BisectResult:
    good: Outcome
    bad: Outcome
    last_good: Version
    first_changed: Version
    changed_to: Outcome
    steps: list[Step] = field(default_factory=list)
    skipped: list[Version] = field(default_factory=list)  # releases between the two that could not be tested

    @property
    def exact(self) -> bool:
        return not any(self.last_good < v < self.first_changed for v in self.skipped)


def final_releases(index_json: dict) -> list[Version]:
    """Final (no pre/dev), non-yanked releases with files, sorted with packaging."""
    found = []
    for raw, files in (index_json.get("releases") or {}).items():
        try:
            version = Version(raw)
        except InvalidVersion:
            continue
        if version.is_prerelease or version.is_devrelease or not files:
            continue
        if all(f.get("yanked") for f in files):
            continue
        found.append(version)
    return sorted(found)


def releases(package: str, timeout: float = 30.0) -> list[Version]:
    url = os.environ.get("VLMCOMPAT_INDEX_JSON", INDEX_JSON).format(package=package)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            data = json.load(response)
    except urllib.error.HTTPError as exc:
        raise UsageError(f"the package index has no {package!r} ({exc.code} from {url}); check the name") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise EnvironmentProblem(f"cannot list {package} releases from {url} ({exc}); check the network") from None
    return final_releases(data)


def between(versions: list[Version], good: str, bad: str) -> list[Version]:
    """The releases from ``good`` to ``bad`` inclusive (both must be releases)."""
    lo, hi = Version(good), Version(bad)
    for end in (lo, hi):
        if end not in versions:
            near = ", ".join(str(v) for v in versions if v.release[:2] == end.release[:2])
            raise UsageError(f"{end} is not a final release on the index (same series: {near or 'none'}); "
                             "pick a listed release")
    if lo >= hi:
        raise UsageError(f"--good {lo} must be an older release than --bad {hi}")
    return [v for v in versions if lo <= v <= hi]


def search(versions: list[Version], outcome: Callable[[Version], Outcome | None],
           on_step: Callable[[Step], None] | None = None) -> BisectResult:
    """First version in ``versions`` (sorted) whose outcome differs from the first version's."""
    steps: list[Step] = []
    skipped: list[Version] = []

    def probe(index: int) -> Outcome | None:
        result = outcome(versions[index])
        step = Step(versions[index], result)
        steps.append(step)
        if result is None:
            skipped.append(versions[index])
        if on_step:
            on_step(step)
        return result

    lo, hi = 0, len(versions) - 1
    good, bad = probe(lo), probe(hi)
    if good is None or bad is None:
        end = versions[lo] if good is None else versions[hi]
        raise EnvironmentProblem(f"cannot test {end} (it did not install); pick another end release")
    if good == bad:
        raise UsageError(f"the outcome is the same at {versions[lo]} and {versions[hi]} ({good}); "
                         "nothing to bisect: widen the range or pick another probe/family")
    changed_to = bad
    untested = set(range(lo + 1, hi))
    while True:
        candidates = sorted((i for i in untested if lo < i < hi), key=lambda i: (abs(i - (lo + hi) / 2), i))
        if not candidates:
            break
        mid = candidates[0]
        untested.discard(mid)
        result = probe(mid)
        if result is None:
            continue
        if result == good:
            lo = mid
        else:
            hi, changed_to = mid, result
    return BisectResult(good, bad, versions[lo], versions[hi], changed_to, steps, sorted(skipped))


class ProbeOutcome:
    """``outcome(version)``: build a cell with ``package==version`` (plus ``with_``), run one probe."""

    def __init__(self, package: str, probe: str, family: str, with_: list[str] | None = None,
                 cache_file: Path | None = None, log: Callable[[str], None] | None = None):
        from vlmcompat.paths import cache_root

        self.package, self.probe, self.family, self.with_ = package, probe, family, list(with_ or [])
        key = hashlib.sha256("|".join([package, probe, family, *sorted(self.with_)]).encode()).hexdigest()[:12]
        self.cache_file = cache_file or cache_root() / "bisect" / f"{package}-{probe}-{family}-{key}.json"
        self.log = log or (lambda message: None)
        self.cache: dict[str, Outcome | None] = {}
        if self.cache_file.is_file():
            self.cache = json.loads(self.cache_file.read_text())

    def _save(self) -> None:
        from vlmcompat.results import write_json_atomic

        write_json_atomic(self.cache_file, self.cache)

    def __call__(self, version: Version) -> Outcome | None:
        if str(version) in self.cache:
            self.log(f"{self.package} {version}: cached")
            return self.cache[str(version)]
        from vlmcompat.matrix import cell

        requirements = [f"{self.package}=={version}", *self.with_]
        venv, info = cell.build(requirements)
        if info.status.value != "ok":
            self.log(f"{self.package} {version}: install {info.status.value}, skipped")
            if info.status.value == "network":
                return None  # not cached: try again next time
            result: Outcome | None = None
        else:
            with tempfile.TemporaryDirectory() as tmp:
                result_cell = cell.run_probe(venv, f"{self.package}{version}", Path(tmp) / "cell.json",
                                             [self.family], [self.probe])
            found = result_cell.find(self.probe, self.family, "native")
            if found is None:
                raise EnvironmentProblem(f"probe {self.probe!r} gave no native result for {self.family!r} "
                                         f"with {self.package} {version}; check `vlmcompat probe --list`")
            result = found.outcome
        self.cache[str(version)] = result
        self._save()
        return result

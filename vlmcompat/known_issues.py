"""The catalogue of known issues, loaded from ``vlmcompat/data/known_issues.toml``.

Ids are a contract (results, reports, explain, gate): add new ones, never rename one. The data
file is the one source of truth for each issue's text, error signatures, affected ranges and
the patches that fix it (``fixed_by``; :mod:`vlmcompat.patches` reads the same mapping). A new
finding is a data change with a test, not a code change.

An issue *applies* to a set of installed versions when any of its ``affected`` entries holds,
and an entry holds when every package it names is installed in the stated range — so one entry
can say "peft>=0.18 with transformers<4.47". An entry with ``only_if`` describes versions where the
issue shows only when the code does something (imports a name 5.x removed, trains Gemma 3 without
token_type_ids): it is *possible* there, but the installed versions alone are not broken, so it never
makes the issue apply. An entry with ``unfixed = true`` marks versions where the issue's patches were
measured not to fix it (a limit the report shows as still failing).

``classify(text)`` maps an error message (or a whole traceback) to the ids whose signatures
match it; probes use it to tell a known failure (``fail``) from an unexpected one (``error``).

``[issue.explain]`` holds what ``vlmcompat explain`` needs beyond the signatures to tell an issue
from its look-alikes: ``context`` (regexes: a signature match is a diagnosis only when one of them is
found in the pasted text too, else a suggestion), ``unless`` (regexes: the look-alike; the match is
dropped) and named lists or tables (kwarg names, symbols with their pin advice, ...) that explain's
family rules read by name.
"""

from __future__ import annotations

import functools
import importlib.metadata
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from vlmcompat.paths import CATALOGUE_DOC

DATA_FILE = "known_issues.toml"
EVIDENCE = ("matrix", "bisected", "lead")
ISSUE_KEYS = ("id", "title", "cause", "fix", "fixed_by", "fallback_only", "signatures", "links", "affected",
              "explain")
AFFECTED_KEYS = ("when", "evidence", "note", "only_if", "unfixed")


@dataclass(frozen=True)
class Affected:
    """Where an issue happens: every package in ``when`` installed within its specifier."""

    when: tuple[tuple[str, str], ...]  # ((package, specifier), ...)
    evidence: str = "lead"  # matrix | bisected | lead
    note: str = ""
    only_if: str = ""  # the use that shows the issue in these versions (then it is possible, not applying)
    unfixed: bool = False  # measured: vlmcompat's patches (fixed_by) do not fix it in these versions

    def holds(self, versions: Mapping[str, str | None]) -> bool:
        for package, specifier in self.when:
            installed = versions.get(package)
            if not installed:
                return False
            try:
                if not SpecifierSet(specifier).contains(Version(str(installed)), prereleases=True):
                    return False
            except InvalidVersion:
                return False
        return True

    @property
    def text(self) -> str:
        """``peft>=0.18, transformers<4.47``."""
        return ", ".join(f"{package}{specifier}" for package, specifier in self.when)


@dataclass(frozen=True)
class KnownIssue:
    id: str
    title: str
    cause: str
    fix: str
    signatures: tuple[str, ...]  # regexes, searched case-sensitively in the error text
    affected: tuple[Affected, ...] = ()
    fixed_by: tuple[str, ...] = ()  # the vlmcompat.patches modules that fix it
    fallback_only: bool = False  # the patches route around a library that stays unusable
    links: tuple[str, ...] = ()
    explain: Mapping[str, str | tuple[str, ...] | Mapping[str, str]] = field(default_factory=dict, compare=False)
    _compiled: tuple[re.Pattern[str], ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", tuple(re.compile(s, re.S) for s in self.signatures))
        object.__setattr__(self, "explain", MappingProxyType(dict(self.explain)))

    def explain_list(self, key: str) -> tuple[str, ...]:
        """A named list from ``[issue.explain]`` (empty when absent)."""
        value = self.explain.get(key, ())
        return value if isinstance(value, tuple) else ()

    def explain_value(self, key: str, default: str = "") -> str:
        value = self.explain.get(key, default)
        return value if isinstance(value, str) else default

    def explain_table(self, key: str) -> Mapping[str, str]:
        """A named table from ``[issue.explain]`` (empty when absent)."""
        value = self.explain.get(key, {})
        return value if isinstance(value, Mapping) else {}

    @property
    def link(self) -> str:
        """Where the catalogue explains this issue: the project's page if the installed metadata
        names a repository, else the page's path in this repository."""
        return f"{catalogue_location()}#{self.id}"

    def matches(self, text: str) -> re.Match[str] | None:
        for pattern in self._compiled:
            match = pattern.search(text)
            if match:
                return match
        return None

    def applies(self, versions: Mapping[str, str | None]) -> list[Affected]:
        """The affected entries that hold for these installed versions, whatever the code does (empty: it does not
        apply)."""
        return [entry for entry in self.affected if not entry.only_if and entry.holds(versions)]

    def unfixed_in(self, versions: Mapping[str, str | None]) -> bool:
        """Whether ``import vlmcompat.patch`` leaves this issue in place for these versions: no patch fixes
        it, or an entry measured so (``unfixed``) holds."""
        return not self.fixed_by or any(entry.unfixed and entry.holds(versions) for entry in self.affected)

    def possible(self, versions: Mapping[str, str | None]) -> list[Affected]:
        """The affected entries that hold, including those that need a particular use (``only_if``)."""
        return [entry for entry in self.affected if entry.holds(versions)]


class CatalogueError(ValueError):
    """The shipped catalogue file is malformed (a packaging or development error, not a user's)."""


def _explain(raw: object, where: str) -> dict[str, str | tuple[str, ...] | Mapping[str, str]]:
    """``[issue.explain]``: strings, lists of strings or tables of strings; ``context`` and ``unless`` must be
    regexes."""
    if not isinstance(raw, dict):
        raise CatalogueError(f"{where}: explain must be a table")
    data: dict[str, str | tuple[str, ...] | Mapping[str, str]] = {}
    for key, value in raw.items():
        if isinstance(value, str):
            data[key] = value
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            data[key] = tuple(value)
        elif isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
            data[key] = MappingProxyType(dict(value))
        else:
            raise CatalogueError(f"{where}: explain.{key} must be a string, a list of strings or a table of strings")
    for key in ("context", "unless"):
        for pattern in data.get(key, ()):
            re.compile(pattern)
    return data


def _issue(raw: dict, index: int) -> KnownIssue:
    where = f"{DATA_FILE} issue #{index + 1} ({raw.get('id', '?')})"
    _known_keys(raw, ISSUE_KEYS, where)
    try:
        affected = []
        for entry in raw.get("affected", []):
            _known_keys(entry, AFFECTED_KEYS, f"{where} affected")
            when = tuple((str(pkg), _specifier(spec)) for pkg, spec in entry["when"].items())
            if entry.get("evidence", "lead") not in EVIDENCE:
                raise CatalogueError(f"{where}: evidence must be one of {', '.join(EVIDENCE)}")
            if not isinstance(entry.get("unfixed", False), bool):
                raise CatalogueError(f"{where}: unfixed must be true or false")
            affected.append(Affected(when, entry.get("evidence", "lead"), entry.get("note", ""),
                                     str(entry.get("only_if", "")), entry.get("unfixed", False)))
        return KnownIssue(id=raw["id"], title=raw["title"], cause=raw["cause"], fix=raw["fix"],
                          signatures=tuple(raw.get("signatures", ())), affected=tuple(affected),
                          fixed_by=tuple(raw.get("fixed_by", ())), fallback_only=bool(raw.get("fallback_only")),
                          links=tuple(raw.get("links", ())), explain=_explain(raw.get("explain", {}), where))
    except (KeyError, TypeError, AttributeError, InvalidSpecifier, re.error) as exc:
        raise CatalogueError(f"{where}: {type(exc).__name__}: {exc}") from None


def _specifier(text: str) -> str:
    """The specifier as written (``>=4.27,<4.52``: lower bound first, as people read it), once valid."""
    SpecifierSet(text)
    return ",".join(part.strip() for part in str(text).split(","))


def _known_keys(table: dict, known: tuple[str, ...], where: str) -> None:
    """A misplaced key (an issue's ``id`` that landed in the previous ``[[issue.affected]]``) is an error."""
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise CatalogueError(f"{where}: unknown keys {', '.join(unknown)}; known: {', '.join(known)}")


@functools.lru_cache(maxsize=1)
def _catalogue() -> tuple[KnownIssue, ...]:
    text = resources.files("vlmcompat").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    issues = tuple(_issue(raw, i) for i, raw in enumerate(tomllib.loads(text).get("issue", [])))
    ids = [issue.id for issue in issues]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise CatalogueError(f"{DATA_FILE}: duplicate ids {', '.join(duplicates)}")
    return issues


def all_issues() -> list[KnownIssue]:
    return list(_catalogue())


def ids() -> tuple[str, ...]:
    return tuple(issue.id for issue in _catalogue())


def __getattr__(name: str):
    if name == "IDS":  # the ids, in catalogue order (loaded on first use)
        return ids()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def get(issue_id: str) -> KnownIssue:
    for issue in _catalogue():
        if issue.id == issue_id:
            return issue
    raise KeyError(f"unknown known-issue id {issue_id!r}; known: {', '.join(ids())}")


def fixes_of(patch: str) -> tuple[str, ...]:
    """The ids a patch module fixes (read from the catalogue's ``fixed_by``)."""
    return tuple(issue.id for issue in _catalogue() if patch in issue.fixed_by)


def packages() -> tuple[str, ...]:
    """Every package some affected range names (what doctor needs the versions of)."""
    return tuple(sorted({pkg for issue in _catalogue() for entry in issue.affected for pkg, _ in entry.when}))


def catalogue_location() -> str:
    """The catalogue page: ``<repository>/blob/main/docs/known-issues.md`` when the installed
    metadata names a repository (``[project.urls] Repository``), else its path in this repository."""
    try:
        urls = importlib.metadata.metadata("vlmcompat").get_all("Project-URL") or []
    except importlib.metadata.PackageNotFoundError:
        urls = []
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() in ("repository", "source", "homepage") and "github.com" in url:
            return f"{url.strip().rstrip('/')}/blob/main/{CATALOGUE_DOC.as_posix()}"
    return CATALOGUE_DOC.as_posix()


def classify(text: str) -> list[str]:
    """Ids whose signatures match ``text``, most specific first (catalogue order)."""
    return [issue.id for issue in _catalogue() if issue.matches(text)]


def environment_issue(text: str) -> str | None:
    """The first known issue matching ``text`` that lives below the HF stack: every affected range
    names only other packages (pyarrow against numpy ...), so no stack pin or patch explains it."""
    from vlmcompat.paths import STACK

    for issue_id in classify(text):
        issue = get(issue_id)
        if issue.affected and all(pkg not in STACK for entry in issue.affected for pkg, _ in entry.when):
            return issue_id
    return None


def classify_exception(exc: BaseException) -> str | None:
    """The first known-issue id matching an exception (its type name and message), or None."""
    found = classify(f"{type(exc).__name__}: {exc}")
    return found[0] if found else None

"""Supported ranges from the evidence: which transformers (and peft) releases a family works with.

For the selected families and one mode (stock, or with ``import vlmcompat.patch``) every installed
cell is one piece of evidence:

- **fails** when a probe fails with a *version-dependent* known issue (the catalogue gives it
  ``affected`` ranges), or when nothing of the family applies there (its class does not exist);
- **passes** when every probe passes or skips, failures no version avoids aside (an issue without
  ``affected`` ranges, e.g. ``nan-loss-all-masked``: listed apart as "not a pin problem");
- is **inconclusive** otherwise (an unexpected error, a timeout, a crash): not used.

Releases are compared by line (``4.54`` stands for ``4.54.*``); lines that disagree within
themselves count as failing. The newest run of passing lines gives the specifier; failing lines
inside it become exclusions (``!=4.55.*``) only where passing lines sit right beside them, so
every bound is shown by a cell. Where the matrix has no cell between a passing and a failing one,
the bound stays on the tested side and a :class:`Gap` says so (``vlmcompat bisect`` finds the
release). A major release's ``.0`` counts as the line after the previous major's last line.
peft's range is computed from the cells inside transformers' range.

Pure: results in, data out (no torch, no I/O).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby, pairwise

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from vlmcompat import known_issues
from vlmcompat.report import BAD, install_failed, is_environment
from vlmcompat.report import families as report_families
from vlmcompat.results import CellResult, Mode, Status

PACKAGES = ("transformers", "peft")


def version_dependent(issue: str | None) -> bool | None:
    """True when a pin can avoid the issue (it has affected ranges), False when none can, None: unknown id."""
    try:
        return bool(known_issues.get(issue).affected) if issue else None
    except KeyError:
        return None


@dataclass
class Verdict:
    """One cell's evidence for the selected families in one mode."""

    cell: CellResult
    ok: bool | None  # None: inconclusive or no results here
    why: str = ""  # "peft-wrapper fails (inputs-embeds-duplicate)", "passes", ...
    probe: str | None = None  # the first failing probe (for bisect)
    issues: tuple[str, ...] = ()  # version-dependent issues seen
    not_pin: tuple[str, ...] = ()  # issues no version avoids
    family: str = ""  # the family this evidence is about (the failing one, for several)


def verdict(cell: CellResult, families: list[str], mode: Mode) -> Verdict:
    """The cell's evidence for every family in ``families`` together: failing if one fails."""
    each = [family_verdict(cell, family, mode) for family in families]
    chosen = next((v for v in each if v.ok is False), None) or next((v for v in each if v.ok is None), None) \
        or each[0]
    chosen.not_pin = tuple(dict.fromkeys(i for v in each for i in v.not_pin))
    return chosen


def family_verdict(cell: CellResult, family: str, mode: Mode) -> Verdict:
    found = _family_verdict(cell, family, mode)
    found.family = family
    return found


def _family_verdict(cell: CellResult, family: str, mode: Mode) -> Verdict:
    if install_failed(cell):
        return Verdict(cell, None, f"not installed ({cell.install.status.value})")
    mine = [r for r in cell.results if r.family == family and not is_environment(r) and r.mode is mode]
    if not mine:
        return Verdict(cell, None, "not run")
    failing = [r for r in mine if r.status is Status.FAIL and version_dependent(r.issue)]
    not_pin = tuple(dict.fromkeys(r.issue for r in mine
                                  if r.status is Status.FAIL and version_dependent(r.issue) is False))
    unknown = [r for r in mine if r.status in BAD and not version_dependent(r.issue) and r.issue not in not_pin]
    if failing:
        ids = tuple(dict.fromkeys(r.issue for r in failing))
        return Verdict(cell, False, f"{failing[0].probe} fails ({', '.join(ids)})", failing[0].probe, ids, not_pin)
    if unknown:
        return Verdict(cell, None, f"{unknown[0].probe}: {unknown[0].status.value}", not_pin=not_pin)
    if not any(r.status is Status.PASS for r in mine):
        reason = next((r.reason for r in mine if r.reason), "nothing applies")
        return Verdict(cell, False, f"nothing runs ({reason})", mine[0].probe, not_pin=not_pin)
    return Verdict(cell, True, "passes", not_pin=not_pin)


@dataclass(frozen=True)
class Point:
    version: Version
    verdict: Verdict

    @property
    def line(self) -> tuple[int, int]:
        return (self.version.major, self.version.minor)


@dataclass(frozen=True)
class Gap:
    """No cell between a passing and a failing release line: the boundary is somewhere in between."""

    package: str
    older: Point
    newer: Point

    def text(self, families: list[str]) -> str:
        failing = self.newer if not self.newer.verdict.ok else self.older
        extra = "".join(f" --with {pkg}=={failing.verdict.cell.versions[pkg]}" for pkg in PACKAGES
                        if pkg != self.package and failing.verdict.cell.versions.get(pkg))
        return (f"{self.package} {self.older.version} ({self.older.verdict.cell.cell}: {self.older.verdict.why}) and "
                f"{self.newer.version} ({self.newer.verdict.cell.cell}: {self.newer.verdict.why}) have no cell between "
                f"them: `vlmcompat bisect --probe {failing.verdict.probe} "
                f"--family {failing.verdict.family or families[0]} --package "
                f"{self.package} --good {self.older.version} --bad {self.newer.version}{extra}`")


@dataclass
class Bound:
    specifier: str  # ">=4.54", "<4.55", "!=4.55.*", "" for "no upper bound"
    evidence: str


@dataclass
class Range:
    package: str
    specifier: str = ""  # "" when no release line passes
    bounds: list[Bound] = field(default_factory=list)
    gaps: list[Gap] = field(default_factory=list)
    also: list[str] = field(default_factory=list)  # older passing lines the specifier leaves out

    def contains(self, version: str) -> bool:
        return bool(self.specifier) and Version(version) in SpecifierSet(self.specifier)


def _adjacent(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return (b[0] == a[0] and b[1] == a[1] + 1) or (b[0] == a[0] + 1 and b[1] == 0)


def _name(line: tuple[int, int]) -> str:
    return f"{line[0]}.{line[1]}"


def _show(points: list[Point]) -> str:
    return ", ".join(f"{p.verdict.cell.cell} {p.verdict.why}" for p in points)


def _failing(group: list[Point]) -> Point:
    """The newest failing point of a failing (or mixed) line."""
    return next(p for p in reversed(group) if not p.verdict.ok)


def compute_range(package: str, points: list[Point]) -> Range:
    """The specifier for ``package`` from (version, verdict) points (see the module docstring)."""
    result = Range(package)
    lines = [(line, list(group)) for line, group in groupby(sorted(points, key=lambda p: p.version),
                                                             key=lambda p: p.line)]
    if not any(all(p.verdict.ok for p in group) for _, group in lines):
        return result
    good = [all(p.verdict.ok for p in group) for _, group in lines]
    runs = [(ok, [i for i, _ in items]) for ok, items in groupby(enumerate(good), key=lambda x: x[1])]
    # the newest passing run, extended backwards over failing runs bounded exactly on both sides
    pos = max(i for i, (ok, _) in enumerate(runs) if ok)
    start, exclusions = pos, []
    while start >= 2:
        hole = runs[start - 1][1]
        chain = [runs[start - 2][1][-1], *hole, runs[start][1][0]]
        if not all(_adjacent(lines[a][0], lines[b][0]) for a, b in pairwise(chain)):
            break
        exclusions = [*hole, *exclusions]
        start -= 2
    first, last = runs[start][1][0], runs[pos][1][-1]
    newest_pass = [p for p in lines[last][1]]
    if start > 0:
        before = lines[first - 1]
        if _adjacent(before[0], lines[first][0]):
            result.bounds.append(Bound(f">={_name(lines[first][0])}",
                                       f"{_show([_failing(before[1])])}; {_show(lines[first][1][:1])}"))
        else:
            result.bounds.append(Bound(f">={_name(lines[first][0])}", f"first passing cell after a gap: "
                                       f"{_show(lines[first][1][:1])}"))
            result.gaps.append(Gap(package, _failing(before[1]), lines[first][1][0]))
    else:
        result.bounds.append(Bound(f">={_name(lines[first][0])}",
                                   f"oldest cell: {_show(lines[first][1][:1])}; older releases untested"))
    for i in exclusions:
        result.bounds.append(Bound(f"!={_name(lines[i][0])}.*", _show(lines[i][1])))
    if last + 1 < len(lines):
        after = lines[last + 1]
        if _adjacent(lines[last][0], after[0]):
            result.bounds.append(Bound(f"<{_name(after[0])}", f"{_show([_failing(after[1])])}; "
                                       f"{_show(newest_pass[-1:])}"))
        else:
            upper = (lines[last][0][0], lines[last][0][1] + 1)
            why = f"last passing cell before a gap: {_show(newest_pass[-1:])}"
            result.bounds.append(Bound(f"<{_name(upper)}", why))
            result.gaps.append(Gap(package, newest_pass[-1], _failing(after[1])))
    else:
        result.bounds.append(Bound("", f"the newest cell passes ({_show(newest_pass[-1:])}); "
                                   "newer releases untested"))
    for ok, idx in runs[:start]:
        if ok:
            span = _name(lines[idx[0]][0]) + (f"–{_name(lines[idx[-1]][0])}" if len(idx) > 1 else "")
            result.also.append(f"{span} "
                               f"({', '.join(p.verdict.cell.cell for i in idx for p in lines[i][1])})")
    result.specifier = ",".join(b.specifier for b in result.bounds if b.specifier)
    SpecifierSet(result.specifier)  # always valid: built from versions
    return result


def points(verdicts: list[Verdict], package: str) -> list[Point]:
    found = []
    for v in verdicts:
        raw = v.cell.versions.get(package)
        if v.ok is None or not raw:
            continue
        try:
            found.append(Point(Version(raw), v))
        except InvalidVersion:
            continue
    return found


@dataclass
class IssueSpan:
    """Where one version-dependent issue shows: runs of transformers release lines, as ``4.31–4.33``."""

    issue: str
    cells: list[str]  # cell ids where it shows
    spans: list[str]


def issue_spans(cells: list[CellResult], families: list[str], mode: Mode) -> list[IssueSpan]:
    """Each version-dependent issue seen in ``mode``, with the transformers lines it shows on (in runs
    broken by lines where the family ran without it)."""
    ran: dict[tuple[int, int], set[str]] = {}
    where: dict[str, list[str]] = {}
    for cell in cells:
        mine = [r for r in cell.results if r.family in families and not is_environment(r) and r.mode is mode]
        raw = cell.versions.get("transformers")
        if install_failed(cell) or not mine or not raw:
            continue
        try:
            version = Version(raw)
        except InvalidVersion:
            continue
        ids = ran.setdefault((version.major, version.minor), set())
        for r in mine:
            if r.status is Status.FAIL and version_dependent(r.issue):
                ids.add(r.issue)
                if cell.cell not in where.setdefault(r.issue, []):
                    where[r.issue].append(cell.cell)
    order = sorted(ran)
    spans = []
    for issue, seen in where.items():
        runs = [[line for line, _ in group] for shows, group in groupby(((line, issue in ran[line]) for line in order),
                                                                       key=lambda x: x[1]) if shows]
        spans.append(IssueSpan(issue, seen, [_name(run[0]) if len(run) == 1 else f"{_name(run[0])}–{_name(run[-1])}"
                                             for run in runs]))
    return spans


@dataclass
class Pins:
    families: list[str]
    patched: bool
    ranges: dict[str, Range]  # package -> range
    verdicts: list[Verdict]
    by_issue: list[IssueSpan]
    not_a_pin_problem: dict[str, list[str]]  # issue id -> cell ids

    @property
    def mode(self) -> Mode:
        return Mode.PATCHED if self.patched else Mode.NATIVE


def compute(cells: list[CellResult], families: list[str] | None = None, patched: bool = False) -> Pins:
    """Pins for ``families`` (default: every model family in the results), stock or patched."""
    families = list(families or report_families(cells))
    mode = Mode.PATCHED if patched else Mode.NATIVE
    verdicts = [verdict(cell, families, mode) for cell in cells]
    transformers = compute_range("transformers", points(verdicts, "transformers"))
    inside = [v for v in verdicts if v.cell.versions.get("transformers")
              and transformers.contains(v.cell.versions["transformers"])]
    peft = compute_range("peft", points(inside, "peft"))
    not_pin: dict[str, list[str]] = {}
    for v in verdicts:
        for issue in v.not_pin:
            not_pin.setdefault(issue, []).append(v.cell.cell)
    return Pins(families, patched, {"transformers": transformers, "peft": peft}, verdicts,
                issue_spans(cells, families, mode), not_pin)

"""This environment: installed versions, the known issues that apply, and pins that work.

A *source* (what is installed, what a live ``import peft`` says, matrix results) joined with a
*service* (the known-issue catalogue and the measured peft x transformers table in
:mod:`vlmcompat.peft_pins`). :func:`diagnose` is pure: it takes those inputs and returns a
:class:`Diagnosis`; :func:`gather` collects them from the running environment.

Every pin names the evidence it rests on:

- ``measured``: a row of :data:`vlmcompat.peft_pins.MEASURED` (real imports and LoRA steps);
- ``matrix``: a cell of ``reports/compat.json`` whose ``peft-import`` (native) and
  ``training-step`` results pass (same transformers minor, or same peft release);
- a matrix cell that *contradicts* the table removes that candidate and is reported.

An applicable issue is *unfixed* when no shipped vlmcompat patch fixes it; ``peft-import`` is
always unfixed (the LoRA fallback trains, but peft, Trainer and TRL stay unusable). The exit
code is 1 when an unfixed issue applies, or when the measured table says the installed peft
imports but cannot train with the installed transformers (e.g. peft 0.18 with transformers
4.43-4.46 and torch 2.13), 0 otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from packaging.version import Version

from vlmcompat import known_issues, peft_pins
from vlmcompat.results import CellResult, Mode, Status


@dataclass
class IssueFinding:
    id: str
    title: str
    fix: str
    fixed_by: str | None  # the shipped patch that fixes it here, if any
    evidence: list[str] = field(default_factory=list)


@dataclass
class Pin:
    package: str
    specifier: str
    reason: str
    evidence: list[str] = field(default_factory=list)


@dataclass
class Diagnosis:
    versions: dict[str, str | None]
    issues: list[IssueFinding]
    pins: list[Pin]
    notes: list[str] = field(default_factory=list)
    peft_trains: bool | None = None  # the measured table's verdict on the installed pair; None: not covered

    @property
    def unfixed(self) -> list[str]:
        return [issue.id for issue in self.issues if issue.fixed_by is None]

    @property
    def exit_code(self) -> int:
        return 1 if self.unfixed or self.peft_trains is False else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "versions": self.versions,
            "issues": [issue.id for issue in self.issues],
            "unfixed": self.unfixed,
            "pins": {pin.package: pin.specifier for pin in self.pins},
            "evidence": {
                "pins": {pin.package: {"reason": pin.reason, "sources": pin.evidence} for pin in self.pins},
                "issues": {issue.id: {"fixed_by": issue.fixed_by, "sources": issue.evidence} for issue in self.issues},
            },
            "peft_trains": self.peft_trains,
            "notes": self.notes,
        }


def _same_minor(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and Version(a).release[:2] == Version(b).release[:2]


def _cell_outcome(cell: CellResult) -> tuple[bool | None, bool | None]:
    """(peft imports natively, a training step passes) in a matrix cell; None where not measured."""
    imports = trains = None
    for result in cell.results:
        if result.probe == "peft-import" and result.mode is Mode.NATIVE and result.status in (Status.PASS, Status.FAIL):
            imports = result.status is Status.PASS
        if result.probe == "training-step" and result.status in (Status.PASS, Status.FAIL):
            trains = bool(trains) or result.status is Status.PASS
    return imports, trains


def _describe(cell: CellResult) -> str:
    v = cell.versions
    return f"cell {cell.cell} (transformers {v.get('transformers')}, peft {v.get('peft')})"


def catalogue_issues(versions: dict[str, str | None]) -> list[tuple[known_issues.KnownIssue, list[str]]]:
    """Issues the catalogue says apply to these versions: some affected entry holds, i.e. every
    package it names is installed within its range (``peft>=0.18`` *with* ``transformers<4.47``)."""
    found = []
    for issue in known_issues.all_issues():
        if issue.id == "peft-import":  # judged from a live import (or the measured table) instead
            continue
        hits = [f"catalogue ({entry.evidence}): {_installed_text(entry, versions)} in {entry.text}"
                + (f" ({entry.note})" if entry.note else "") for entry in issue.applies(versions)]
        if hits:
            found.append((issue, hits))
    return found


def _installed_text(entry: known_issues.Affected, versions: dict[str, str | None]) -> str:
    return ", ".join(f"{package} {versions.get(package)}" for package, _ in entry.when)


def peft_import_evidence(versions: dict[str, str | None], import_error: str | None, import_checked: bool,
                         cells: list[CellResult]) -> list[str]:
    """Why peft-import applies here; an empty list when it does not."""
    transformers, peft = versions.get("transformers"), versions.get("peft")
    if peft is None or transformers is None:
        return []
    if import_checked:
        return [f"import check: {import_error}"] if import_error else []
    evidence = []
    row = peft_pins.row_for(peft)
    if row is not None and not peft_pins.imports_with(row, transformers):
        evidence.append(f"measured: peft {row.peft} imports with transformers>={row.min_imports} only "
                        f"({peft_pins.SOURCE})")
    for cell in cells:
        imports, _ = _cell_outcome(cell)
        if imports is False and cell.versions.get("peft") == peft and _same_minor(cell.versions.get("transformers"),
                                                                                   transformers):
            evidence.append(f"matrix: {_describe(cell)}: peft-import fails")
    return evidence


def peft_pin(transformers: str, cells: list[CellResult], notes: list[str]) -> Pin | None:
    """The newest peft that imports and trains with ``transformers``, from the table and the matrix."""
    candidates: dict[Version, list[str]] = {}
    for row in peft_pins.MEASURED:
        if peft_pins.trains_with(row, transformers):
            candidates.setdefault(row.version, []).append(
                f"measured: peft {row.peft} imports and trains with transformers{row.trains} ({peft_pins.SOURCE})")
    contradicted: set[Version] = set()
    for cell in cells:
        peft, cell_t = cell.versions.get("peft"), cell.versions.get("transformers")
        if peft is None or not _same_minor(cell_t, transformers):
            continue
        imports, trains = _cell_outcome(cell)
        if imports and trains:
            candidates.setdefault(Version(peft), []).append(f"matrix: {_describe(cell)}: peft-import and "
                                                            "training-step pass")
        elif imports is False or (imports and trains is False):
            contradicted.add(Version(peft))
            if Version(peft) in candidates:
                notes.append(f"matrix {_describe(cell)} contradicts the measured table; peft {peft} is not advised")
    usable = {v: ev for v, ev in candidates.items() if v not in contradicted}
    if not usable:
        return None
    best = max(usable)
    return Pin("peft", f"=={best}", f"the newest peft that imports and trains with transformers {transformers}",
               usable[best])


def transformers_pin(peft: str, cells: list[CellResult], notes: list[str]) -> Pin | None:
    """The transformers range the installed peft needs: the measured row, backed or widened by the matrix."""
    row = peft_pins.row_for(peft)
    passing = [c for c in cells if c.versions.get("peft") == peft and all(_cell_outcome(c))]
    failing = [c for c in cells if c.versions.get("peft") == peft and False in _cell_outcome(c)]
    if row is not None:
        evidence = [f"measured: peft {row.peft} imports and trains with transformers{row.trains} ({peft_pins.SOURCE})"]
        evidence += [f"matrix: {_describe(c)}: peft-import and training-step pass" for c in passing
                     if peft_pins.trains_with(row, c.versions["transformers"])]
        for cell in failing:
            if peft_pins.trains_with(row, cell.versions["transformers"]):
                notes.append(f"matrix {_describe(cell)} fails inside the measured range transformers{row.trains}")
        oldest = "the oldest transformers" + ("" if row.peft == peft else f" (measured on peft {row.peft})")
        return Pin("transformers", row.trains, f"{oldest} that peft {peft} needs, up to the newest it works with",
                   evidence)
    if passing:
        oldest = min(passing, key=lambda c: Version(c.versions["transformers"]))
        return Pin("transformers", f">={oldest.versions['transformers']}",
                   f"the oldest transformers the matrix shows working with peft {peft}",
                   [f"matrix: {_describe(c)}: peft-import and training-step pass" for c in passing])
    notes.append(f"no measurement or matrix cell covers peft {peft}; no transformers pin can be advised")
    return None


def diagnose(versions: dict[str, str | None], cells: list[CellResult], fixes: dict[str, str],
             import_error: str | None = None, import_checked: bool = False) -> Diagnosis:
    """Join the environment with the catalogue, the measured table and matrix ``cells``.

    ``fixes`` maps a known-issue id to the shipped patch that fixes it.
    """
    findings = [IssueFinding(issue.id, issue.title, issue.fix, fixes.get(issue.id), hits)
                for issue, hits in catalogue_issues(versions)]
    peft_evidence = peft_import_evidence(versions, import_error, import_checked, cells)
    if peft_evidence:
        issue = known_issues.get("peft-import")
        findings.insert(0, IssueFinding(issue.id, issue.title, issue.fix, None, peft_evidence))
    notes: list[str] = []
    peft_trains = None
    row = peft_pins.row_for(versions.get("peft"))
    if row is not None and versions.get("transformers"):
        peft_trains = peft_pins.trains_with(row, versions["transformers"]) and not peft_evidence
        if not peft_trains and not peft_evidence:
            notes.append(f"measured: peft {row.peft} imports but does not train with transformers "
                         f"{versions['transformers']} ({row.note}); use one of the pins")
    pins = []
    if versions.get("transformers"):
        pins.append(peft_pin(versions["transformers"], cells, notes))
    if versions.get("peft"):
        pins.append(transformers_pin(versions["peft"], cells, notes))
    return Diagnosis(dict(versions), findings, [p for p in pins if p is not None], notes, peft_trains)


def shipped_fixes() -> dict[str, str]:
    """Known-issue id -> the shipped patches that fix it (the catalogue's ``fixed_by``). Issues the
    patches only route around (``fallback_only``: peft-import) are left out: they stay unfixed."""
    from vlmcompat import patches

    shipped = {patch.name for patch in patches.builtin_patches()}
    found = {}
    for issue in known_issues.all_issues():
        names = [name for name in issue.fixed_by if name in shipped]
        if names and not issue.fallback_only:
            found[issue.id] = ", ".join(names)
    return found


def gather(cells: list[CellResult], check_import: bool = True) -> Diagnosis:
    """Diagnose the running environment (a live ``import peft`` in a subprocess unless told not to)."""
    from vlmcompat.versions import recorded_versions

    versions = recorded_versions()  # the stack and every package a catalogue range names (accelerate, trl ...)
    error, checked = None, False
    if check_import and versions.get("peft") and versions.get("transformers"):
        from vlmcompat.probes.peft_import import check_import as run_check

        check = run_check()
        error, checked = check.error, True
    return diagnose(versions, cells, shipped_fixes(), import_error=error, import_checked=checked)

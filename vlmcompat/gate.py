"""The gate: fresh results against a committed baseline (and matrix.toml's expectations).

Results are matched by cell id, then by (probe, family, mode). What counts:

- **regression** (exit 1): a patched ``pass`` becomes anything else; a native outcome becomes an
  unknown failure (``error``, ``crash``, ``timeout``) it was not before; a native ``pass`` becomes
  a known failure that matrix.toml does not declare; a cell that installed no longer installs,
  for a reason other than the network; an outcome that contradicts a declared expectation with
  an unknown failure.
- **improvement**: something that did not pass now passes (and was not declared to fail), or an
  unknown failure became a known one.
- **unexpected pass**: matrix.toml declares a failure and the probe passed (``xfail(strict=True)``:
  reported, and a regression with ``--strict``).
- **missing**: a baseline cell or result absent from the fresh run (a regression with ``--strict``).
- **changed**: any other difference (a known failure became another known failure, ...), for the record.

Not verdicts, so never a regression (each gets a note): a result ``interrupted`` by SIGINT/SIGTERM and
the tasks an interrupted run never reached; a later run of a cell that did not finish (its cell
file still holds the run before it, which is what is compared); a cell that could not reach the
package index. A run whose probe command died (``crashed``) is a regression.

Everything here is pure data in, data out: no torch, no subprocesses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from vlmcompat.matrix.record import CRASH_PROBE
from vlmcompat.matrix.spec import Expectation
from vlmcompat.results import INSTALLED, CellResult, InstallStatus, Mode, ProbeResult, RunState, Status

UNKNOWN = (Status.ERROR, Status.CRASH, Status.TIMEOUT)


@dataclass
class Change:
    cell: str
    probe: str = ""
    family: str = ""
    mode: str = ""
    baseline: str = ""  # "pass", "fail (inputs-embeds-unexpected)", "install ok", "absent"
    now: str = ""
    why: str = ""
    issue: str | None = None  # the known issue behind ``now``, if any

    def to_dict(self) -> dict[str, str | None]:
        return asdict(self)


@dataclass
class GateReport:
    regressions: list[Change] = field(default_factory=list)
    improvements: list[Change] = field(default_factory=list)
    unexpected_passes: list[Change] = field(default_factory=list)
    missing: list[Change] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    strict: bool = False

    @property
    def failed(self) -> bool:
        return bool(self.regressions or (self.strict and (self.unexpected_passes or self.missing)))

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "regressions": [c.to_dict() for c in self.regressions],
            "improvements": [c.to_dict() for c in self.improvements],
            "unexpected_passes": [c.to_dict() for c in self.unexpected_passes],
            "missing": [c.to_dict() for c in self.missing],
            "changed": [c.to_dict() for c in self.changed],
            "notes": list(self.notes),
            "strict": self.strict,
            "failed": self.failed,
        }


def outcome(result: ProbeResult | None) -> str:
    return "absent" if result is None else result.outcome


def expectation_for(expectations: Iterable[Expectation], result: ProbeResult) -> Expectation | None:
    """The first matrix.toml expectation covering ``result``."""
    return next((e for e in expectations if e.matches(result.probe, result.family, result.mode.value)), None)


def meets(result: ProbeResult, exp: Expectation) -> bool:
    if result.status.value != exp.status:
        return False
    return not exp.issue or result.issue == exp.issue


def _compare_result(cell: str, base: ProbeResult | None, now: ProbeResult, exp: Expectation | None,
                    report: GateReport) -> None:
    if now.status is Status.INTERRUPTED:
        return  # no verdict (noted per cell)
    change = Change(cell, now.probe, now.family, now.mode.value, outcome(base), outcome(now), issue=now.issue)
    if exp is not None and now.status is Status.PASS and exp.status != Status.PASS.value:
        change.why = f"declared {exp.status}{f' ({exp.issue})' if exp.issue else ''} in matrix.toml"
        if exp.reason:
            change.why += f": {exp.reason}"
        report.unexpected_passes.append(change)
        return
    if exp is not None and meets(now, exp):
        if base is not None and outcome(base) != outcome(now) and base.status is Status.PASS:
            change.why = "declared in matrix.toml"
            report.changed.append(change)
        return
    if exp is not None and now.status in UNKNOWN:
        declared = f"{exp.status} ({exp.issue})" if exp.issue else exp.status
        change.why = f"matrix.toml declares {declared}; got an unknown failure"
        report.regressions.append(change)
        return
    if base is None:
        return  # new: nothing to compare with
    if outcome(base) == outcome(now):
        return
    if now.mode is Mode.PATCHED and base.status is Status.PASS:
        change.why = "the patched path passed in the baseline"
        report.regressions.append(change)
    elif now.mode is Mode.NATIVE and now.status in UNKNOWN and base.status is not now.status:
        change.why = "the stock path now fails in a way no known issue explains"
        report.regressions.append(change)
    elif now.mode is Mode.NATIVE and base.status is Status.PASS and now.status is Status.FAIL:
        change.why = "the stock path broke and matrix.toml does not declare it"
        report.regressions.append(change)
    elif now.status is Status.PASS:
        change.why = "now passes"
        report.improvements.append(change)
    elif base.status in UNKNOWN and now.status is Status.FAIL:
        change.why = "an unknown failure is now diagnosed"
        report.improvements.append(change)
    else:
        report.changed.append(change)


def _compare_install(base: CellResult, now: CellResult, report: GateReport) -> bool:
    """False when the fresh cell did not install (its probe results are then not compared)."""
    if now.installed:
        return True
    change = Change(base.cell, baseline=f"install {base.install.status.value}",
                    now=f"install {now.install.status.value}")
    if now.install.status is InstallStatus.NETWORK:
        report.notes.append(f"{now.cell}: the package index could not be reached; its results were not compared")
    elif base.install.status in INSTALLED:
        tail = now.install.log_tail.strip().splitlines()[-1:] or [""]
        change.why = f"the cell no longer installs: {tail[0][:160]}".rstrip(": ")
        report.regressions.append(change)
    return False


def compare(baseline: list[CellResult], results: list[CellResult],
            expectations: dict[str, list[Expectation]] | None = None,
            strict: bool = False) -> GateReport:
    """Gate ``results`` against ``baseline``; ``expectations`` maps cell id -> matrix.toml expectations."""
    expectations = expectations or {}
    report = GateReport(strict=strict)
    fresh = {cell.cell: cell for cell in results}
    for base in baseline:
        now = fresh.get(base.cell)
        if now is None:
            report.missing.append(Change(base.cell, baseline="present", now="absent",
                                         why="the cell is in the baseline but not in the results"))
            continue
        if not _compare_install(base, now, report):
            continue
        not_run = _run_notes(now, report) if now.run is not None and now.run.state is RunState.INTERRUPTED else set()
        for base_result in base.results:
            if base_result.key in not_run:
                continue
            if now.find(base_result.probe, base_result.family, base_result.mode) is None:
                report.missing.append(Change(base.cell, base_result.probe, base_result.family, base_result.mode.value,
                                             outcome(base_result), "absent", "not run in the results"))
    known = {cell.cell: cell for cell in baseline}
    for now in results:
        base_cell = known.get(now.cell)
        _later_and_crash(now, report)
        if base_cell is None and now.run is not None and now.run.state is RunState.INTERRUPTED:
            _run_notes(now, report)
        if not now.installed:
            continue
        for result in now.results:
            base = None if base_cell is None else base_cell.find(result.probe, result.family, result.mode)
            exp = expectation_for(expectations.get(now.cell, ()), result)
            _compare_result(now.cell, base, result, exp, report)
    return report


def _run_notes(cell: CellResult, report: GateReport) -> set[tuple[str, str, str]]:
    """Note an interrupted run; the keys of the tasks it never reached (not counted as missing)."""
    assert cell.run is not None
    not_run = {(t.probe, t.family, t.mode) for t in cell.run.not_run}
    stopped = [r for r in cell.results if r.status is Status.INTERRUPTED]
    report.notes.append(f"{cell.cell}: the run was {cell.run.reason or 'interrupted'}; "
                        f"{len(stopped) + len(not_run)} of {cell.run.tasks} results have no verdict and were not "
                        "compared")
    return not_run


def _later_and_crash(cell: CellResult, report: GateReport) -> None:
    if cell.later_run:
        reason = cell.later_run.get("reason") or cell.later_run.get("state") or "did not finish"
        report.notes.append(f"{cell.cell}: a later run did not finish ({reason}); the results compared are those "
                            "of the run before it")
    if cell.run is not None and cell.run.state is RunState.CRASHED:
        report.regressions.append(Change(cell.cell, now="crashed", baseline="",
                                         why=cell.run.reason or "the probe command died"))


def check_absolute(results: list[CellResult], patched: bool = False) -> GateReport:
    """Gate without a baseline (a user's own pins): every probe must pass or skip on the user's path.

    ``patched=False`` (the default): the user's code does not ``import vlmcompat.patch``, so the
    native results decide and the patched ones say whether the patch would help; ``patched=True``:
    the patched results decide and the native failures are recorded as fixed by the patch.
    """
    report = GateReport()
    deciding = Mode.PATCHED if patched else Mode.NATIVE
    for cell in results:
        _later_and_crash(cell, report)
        if not cell.installed:
            report.regressions.append(Change(cell.cell, now=f"install {cell.install.status.value}",
                                             why="the requirements do not install"))
            continue
        other = {(r.probe, r.family): r for r in cell.results if r.mode is not deciding}
        for result in cell.results:
            if result.status in (Status.INTERRUPTED, Status.PASS, Status.SKIP) or result.probe == CRASH_PROBE:
                continue
            change = Change(cell.cell, result.probe, result.family, result.mode.value, "", outcome(result), "",
                            result.issue)
            if result.mode is deciding:
                change.why = _why_failing(patched, other.get((result.probe, result.family)))
                report.regressions.append(change)
            else:
                change.why = "the stock path fails; your code imports vlmcompat.patch, which fixes it" if patched \
                    else "fails with vlmcompat.patch too"
                report.changed.append(change)
    return report


def _why_failing(patched: bool, counterpart: ProbeResult | None) -> str:
    if patched:
        return "your path (with `import vlmcompat.patch`) fails with these pins"
    helps = counterpart is not None and counterpart.status in (Status.PASS, Status.SKIP)
    return "your path (stock, without `import vlmcompat.patch`) fails with these pins" + \
        ("; `import vlmcompat.patch` makes it pass" if helps else "")


_SECTIONS = (
    ("regressions", "Regressions"),
    ("unexpected_passes", "Unexpected passes (declared to fail in matrix.toml)"),
    ("improvements", "Improvements"),
    ("missing", "Missing from the results"),
    ("changed", "Other changes"),
)
_HEADERS = ["cell", "probe", "family", "mode", "baseline", "now", "why"]


def verdict(report: GateReport) -> str:
    counts = [f"{title.split(' (')[0].lower()}: {len(getattr(report, key))}" for key, title in _SECTIONS
              if getattr(report, key)]
    summary = ", ".join(counts) if counts else "no changes"
    if report.failed:
        return f"FAILED: {summary}"
    return f"passed: {summary}"


def render_markdown(report: GateReport, source: str = "") -> str:
    """A short markdown diff for a CI job summary."""
    from tabulate import tabulate

    lines = [f"## vlmcompat gate {verdict(report)}", ""]
    if source:
        lines += [source, ""]
    for key, title in _SECTIONS:
        changes: list[Change] = getattr(report, key)
        if not changes:
            continue
        rows = [[c.cell, c.probe, c.family, c.mode, c.baseline, c.now, c.why] for c in changes]
        lines += [f"### {title}", "", tabulate(rows, headers=_HEADERS, tablefmt="github"), ""]
    for note in report.notes:
        lines.append(f"- note: {note}")
    if report.strict:
        lines.append("- strict: unexpected passes and missing results fail the gate")
    return "\n".join(lines).rstrip() + "\n"

"""A cell's result files: what a probe run writes while it runs, and where its record goes when it ends.

    reports/cells/<cell>.json            the cell's results: what report and gate read
    reports/cells/.<cell>.json.partial   the run in progress, rewritten after every result
    reports/cells/.<cell>.later.json     a later run that did not finish, kept beside the results

Nothing computed is lost, and a complete result is never overwritten by less:

- a run writes only its partial file (a dot-file: report and gate skip it) until it ends;
- a run that ends **complete**, or **crashed** (the probe command died: that is this
  environment's outcome, and the gate must see it), replaces ``<cell>.json``;
- a run that was **interrupted** (SIGINT/SIGTERM), or an install that could not reach the
  package index (``network``), is not a verdict on the environment: when ``<cell>.json`` holds a
  finished run, that file stays byte for byte and the unfinished record goes to
  ``.<cell>.later.json``, which the report shows beside the cell; with no finished run to keep
  it becomes ``<cell>.json`` itself. The next run that finishes removes ``.<cell>.later.json``.

``run.not_run`` lists the planned tasks without a result at every moment, so the parent of a
probe command that died can close its partial file as ``crashed`` (:func:`close_crashed`).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from vlmcompat.errors import ResultsError
from vlmcompat.results import (
    ENVIRONMENT,
    CellResult,
    Mode,
    ProbeResult,
    RunInfo,
    RunState,
    Status,
    TaskRef,
    later_path,
    load_cell,
    now_iso,
    write_json_atomic,
)

CRASH_PROBE = "probe-command"  # the result that records a probe command that died
PARTIAL_SUFFIX = ".partial"

Key = tuple[str, str, str]


def partial_path(out: str | os.PathLike[str]) -> Path:
    out = Path(out)
    return out.with_name(f".{out.name}{PARTIAL_SUFFIX}")


def describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


def _holds_finished_run(path: Path) -> bool:
    try:
        return load_cell(path).finished
    except ResultsError:
        return False


def place(out: str | os.PathLike[str], cell: CellResult) -> Path:
    """Write ``cell`` where the rules above put it; returns the path written."""
    out, later = Path(out), later_path(out)
    if not cell.finished and _holds_finished_run(out):
        write_json_atomic(later, cell.to_dict())
        return later
    write_json_atomic(out, cell.to_dict())
    later.unlink(missing_ok=True)
    return out


class CellRecord:
    """The record of one probe run: results in plan order, the partial file after each one."""

    def __init__(self, out: Path | None, result: CellResult, planned: list[Key]):
        self.out, self.result, self.planned = out, result, planned
        self.index = {key: i for i, key in enumerate(planned)}
        self.by_key: dict[Key, ProbeResult] = {}
        self.path: Path | None = None  # where the record went when the run ended
        result.run = RunInfo(RunState.RUNNING, started=now_iso(), tasks=len(planned))
        self._sync()
        self._write()

    def add(self, result: ProbeResult) -> None:
        if result.status is Status.INTERRUPTED and result.key in self.by_key:
            return  # it finished just before the signal
        self.by_key[result.key] = result
        self._sync()
        self._write()

    def _sync(self) -> None:
        last = len(self.index)
        self.result.results = sorted(self.by_key.values(), key=lambda r: self.index.get(r.key, last))
        assert self.result.run is not None
        self.result.run.not_run = [TaskRef(*key) for key in self.planned if key not in self.by_key]

    def _write(self) -> None:
        if self.out is not None:
            write_json_atomic(partial_path(self.out), self.result.to_dict())

    def complete(self) -> None:
        self._end(RunState.COMPLETE, None)

    def interrupted(self, reason: str) -> None:
        self._end(RunState.INTERRUPTED, reason)

    def _end(self, state: RunState, reason: str | None) -> None:
        run = self.result.run
        assert run is not None
        run.state, run.ended, run.reason = state, now_iso(), reason
        if self.result.cache is not None and not self.result.cache.reused:
            self.result.cache.produced = run.ended
        if self.out is not None:
            self.path = place(self.out, self.result)
            partial_path(self.out).unlink(missing_ok=True)


def close_crashed(out: str | os.PathLike[str], exit_code: int | None) -> CellResult | None:
    """After a probe command exited: if it left its partial file, it died mid-run. Record that as
    ``crashed`` (a ``probe-command`` crash result; ``run.not_run`` keeps the tasks that never ran)
    and place it; None when there is no partial file."""
    partial = partial_path(out)
    if not partial.is_file():
        return None
    try:
        cell = load_cell(partial)
    except ResultsError:
        partial.unlink(missing_ok=True)
        return None
    run = cell.run or RunInfo(RunState.RUNNING)
    done = len(cell.results)
    reason = f"the probe command {describe_exit(exit_code)} after {done} of {run.tasks} tasks"
    cell.results.append(ProbeResult(CRASH_PROBE, ENVIRONMENT, Mode.NATIVE, Status.CRASH, reason=reason))
    run.state, run.ended, run.reason = RunState.CRASHED, now_iso(), reason
    cell.run = run
    place(out, cell)
    partial.unlink(missing_ok=True)
    return cell


def snapshot(out: str | os.PathLike[str]) -> tuple[tuple[int, int, int] | None, ...]:
    """What the cell's files look like now (to tell afterwards whether a run placed a record)."""
    stats = []
    for path in (Path(out), later_path(out)):
        try:
            st = path.stat()
            stats.append((st.st_ino, st.st_mtime_ns, st.st_size))
        except OSError:
            stats.append(None)
    return tuple(stats)

"""Progress of a matrix run: cells done out of the matrix's total, and an estimate of the time left.

Every ``matrix(<cell>)`` session (in the nox process itself, or in one of the child processes
``nox -j`` starts) notes in a small ledger in the cells folder (``.matrix-progress.json``, a
dot-file that reports skip) when its cell starts and ends, and prints one line each time::

    matrix: 4/12 cells done, 2 running, about 3 min left (t4.44.0-tok0.19.1-peft0.16.0 started)

A ledger belongs to one matrix run: the nox process that schedules the sessions (the parent of
the session's process under ``nox -j``), so the next ``nox -s matrix`` starts a new one. The
estimate is what each unfinished cell took the last time (from its cell file: the run's start
and end, or install plus probe seconds for older files; the median of the known cells for a
new one), less what the running ones have already spent, shared among the cells that run at
once (the most seen so far in this run). Under ``nox -j`` the status board shows these lines
and each cell's ``[done/total]`` probe lines as its preview.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from vlmcompat.errors import ResultsError
from vlmcompat.paths import PROGRESS_FILE
from vlmcompat.results import CellResult, load_cell


def run_id(parallel: bool) -> str:
    """The process that drives this matrix run, with its start time (pids are reused)."""
    pid = os.getppid() if parallel else os.getpid()
    try:
        started = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        started = "?"
    return f"{pid}:{started}"


def _seconds(iso: str | None) -> float | None:
    try:
        return dt.datetime.fromisoformat(iso).timestamp() if iso else None
    except ValueError:
        return None


def last_duration(cell: CellResult) -> float | None:
    """Wall seconds the cell's last recorded run took (install included)."""
    if cell.run is not None and cell.run.ended:
        start, end = _seconds(cell.run.started), _seconds(cell.run.ended)
        if start is not None and end is not None and not (cell.cache and cell.cache.reused):
            return max(0.0, end - start) + cell.install.seconds
    spent = cell.install.seconds + sum(r.seconds for r in cell.results)
    return spent or None


def estimates(names: Iterable[str], cells_dir: Path) -> dict[str, float]:
    """Seconds each cell is expected to take, from its last run (the median for unknown ones)."""
    known: dict[str, float] = {}
    for name in names:
        path = Path(cells_dir) / f"{name}.json"
        try:
            duration = last_duration(load_cell(path)) if path.is_file() else None
        except ResultsError:
            duration = None
        if duration is not None:
            known[name] = duration
    default = statistics.median(known.values()) if known else 60.0
    return {name: known.get(name, default) for name in names}


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


class Ledger:
    """The ledger of one matrix run in ``cells_dir``; every update is under a file lock."""

    def __init__(self, cells_dir: Path, names: list[str], run: str):
        self.path = Path(cells_dir) / PROGRESS_FILE
        self.names, self.run = list(names), run
        self.expected = estimates(self.names, Path(cells_dir))

    @contextlib.contextmanager
    def _state(self) -> Iterator[dict]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        key = hashlib.sha256(str(self.path.resolve()).encode()).hexdigest()[:12]
        with open(Path(tempfile.gettempdir()) / f"vlmcompat-progress-{key}.lock", "w") as lock:
            try:
                import fcntl

                fcntl.flock(lock, fcntl.LOCK_EX)
            except ImportError:
                pass
            try:
                state = json.loads(self.path.read_text())
            except (OSError, ValueError):
                state = {}
            if not isinstance(state, dict) or state.get("run") != self.run:
                state = {"run": self.run, "cells": {}}
            yield state
            tmp = self.path.with_name(f"{self.path.name}.tmp{os.getpid()}")
            tmp.write_text(json.dumps(state))
            os.replace(tmp, self.path)

    def started(self, name: str) -> str:
        with self._state() as state:
            state["cells"][name] = {"started": time.time(), "ended": None}
            running = sum(1 for e in state["cells"].values() if not e.get("ended"))
            state["parallel"] = max(state.get("parallel", 1), running)
            return self.line(state, f"{name} started")

    def ended(self, name: str, how: str = "done") -> str:
        """The cell's session is over: ``how`` says how in a word or a line (done, interrupted, ...)."""
        with self._state() as state:
            entry = state["cells"].setdefault(name, {"started": time.time()})
            entry["ended"] = time.time()
            word = "done" if how == "done" else "ended: " + how.removeprefix(f"cell {name}: ")[:80]
            return self.line(state, f"{name} {word} after {_duration(entry['ended'] - entry['started'])}")

    def line(self, state: dict, event: str) -> str:
        now = time.time()
        cells = state["cells"]
        done = [n for n, e in cells.items() if e.get("ended")]
        running = [n for n, e in cells.items() if not e.get("ended")]
        left = sum(self.expected.get(n, 60.0) for n in self.names if n not in cells)
        left += sum(max(0.0, self.expected.get(n, 60.0) - (now - cells[n]["started"])) for n in running)
        left /= max(1, state.get("parallel", 1))  # cells at once: the most seen in this run
        total = max(len(self.names), len(cells))
        eta = f"about {_duration(left)} left" if len(done) < total else "all done"
        return f"matrix: {len(done)}/{total} cells done, {len(running)} running, {eta} ({event})"

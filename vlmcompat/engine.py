"""Runs probe tasks in a supervised worker process and writes results as they come.

One worker process runs all tasks (so torch and transformers are imported once). The
engine reads its JSON lines with a per-task deadline: a task past ``timeout`` is recorded as
``timeout`` and the worker killed; a worker that dies mid-task (segfault, abort, hard exit)
gives ``crash`` with its exit status and stderr tail. Either way a new worker continues with
the remaining tasks, and every result is flushed to the JSON file as soon as it arrives.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from vlmcompat import probes, tiny, versions
from vlmcompat.results import (
    CellResult,
    ErrorInfo,
    InstallInfo,
    InstallStatus,
    Mode,
    ProbeResult,
    Status,
    write_json_atomic,
)

DEFAULT_TIMEOUT = 300.0
STDERR_TAIL = 1500


@dataclass(frozen=True)
class Task:
    probe: str
    family: str
    mode: Mode

    def to_dict(self) -> dict[str, str]:
        return {"probe": self.probe, "family": self.family, "mode": self.mode.value}


def plan(probe_names: Iterable[str] | None = None, families: Iterable[str] | None = None) -> list[Task]:
    """The tasks to run: every selected probe × applicable family × mode, in registry order."""
    selected = [probes.get(n) for n in probe_names] if probe_names else list(probes.all_probes().values())
    model_families = [tiny.get(f).name for f in families] if families else list(tiny.FAMILIES)
    return [Task(probe.name, family, mode) for probe in selected for family in probe.targets(model_families)
            for mode in probe.modes]


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-STDERR_TAIL:]
    except OSError:
        return ""


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with status {code}"


def _worker_env() -> dict[str, str]:
    """The worker inherits this process's environment and working directory, so it imports the
    same vlmcompat (a cell's linked package, an installed one, or the checkout it runs from)."""
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


def run_tasks(tasks: list[Task], timeout: float = DEFAULT_TIMEOUT,
              on_result: Callable[[ProbeResult], None] = lambda r: None) -> list[ProbeResult]:
    """Run ``tasks`` in worker processes; ``on_result`` is called as each result arrives."""
    results: list[ProbeResult] = []
    remaining = list(tasks)
    while remaining:
        with tempfile.NamedTemporaryFile(prefix="vlmcompat-worker-", suffix=".log", delete=False) as errf:
            err_path = Path(errf.name)
        with open(err_path, "w") as err:
            proc = subprocess.Popen([sys.executable, "-m", "vlmcompat.worker"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=err, env=_worker_env(), start_new_session=True)
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps([t.to_dict() for t in remaining]).encode())
        proc.stdin.close()
        done = _supervise(proc, remaining, timeout, err_path, results, on_result)
        remaining = remaining[done:]
        err_path.unlink(missing_ok=True)
    return results


def _supervise(proc, tasks, timeout, err_path, results, on_result) -> int:
    """Consume one worker's output; returns how many tasks it accounted for."""
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ)
    buffer = b""
    done = 0
    started_at = time.monotonic()
    in_flight = False
    while done < len(tasks):
        wait = max(0.0, started_at + timeout - time.monotonic()) if in_flight else timeout
        ready = selector.select(timeout=wait)
        if not ready:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            task = tasks[done]
            result = ProbeResult(task.probe, task.family, task.mode, Status.TIMEOUT, seconds=timeout,
                                 reason=f"ran past the {timeout:g} s time limit and was killed")
            results.append(result)
            on_result(result)
            return done + 1
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:  # the worker died before accounting for every task: the one in hand crashed
            code = proc.wait()
            task = tasks[done]
            result = ProbeResult(task.probe, task.family, task.mode, Status.CRASH,
                                 seconds=time.monotonic() - started_at,
                                 error=ErrorInfo("WorkerCrash", _tail(err_path)[-800:]),
                                 reason=f"the probe process {_describe_exit(code)}")
            results.append(result)
            on_result(result)
            return done + 1
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            try:
                message = json.loads(line)
            except json.JSONDecodeError:
                continue
            if message.get("event") == "start":
                in_flight, started_at = True, time.monotonic()
            elif message.get("event") == "result":
                result = ProbeResult.from_dict(message["result"])
                results.append(result)
                on_result(result)
                done += 1
                in_flight = False
    proc.wait()
    return done


def run_cell(cell: str, json_path: str | None, tasks: list[Task], timeout: float = DEFAULT_TIMEOUT,
             install_seconds: float | None = None,
             on_result: Callable[[ProbeResult], None] = lambda r: None) -> CellResult:
    """Run the tasks and write the CellResult after every result (nothing computed is lost)."""
    install = InstallInfo(InstallStatus.OK if install_seconds is not None else InstallStatus.EXISTING,
                          install_seconds or 0.0)
    cell_result = CellResult(cell=cell, versions=versions.stack_versions(), install=install)

    def record(result: ProbeResult) -> None:
        cell_result.results.append(result)
        if json_path:
            write_json_atomic(json_path, cell_result.to_dict())
        on_result(result)

    if json_path:
        write_json_atomic(json_path, cell_result.to_dict())
    run_tasks(tasks, timeout=timeout, on_result=record)
    return cell_result

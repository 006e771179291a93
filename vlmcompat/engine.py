"""Runs probe tasks in a supervised worker process and writes results as they come.

One worker process runs the tasks (so torch and transformers are imported once). It imports
its libraries first and says ``ready``, and before each task sets its patch state (applying
the patches imports the classes they patch); both have their own, generous limit
(``startup_timeout``), and ``timeout`` counts from the start of the probe itself. A task past ``timeout``
is recorded as ``timeout`` and the worker killed; a worker that dies mid-task (segfault,
abort, hard exit) gives ``crash`` with its exit status and stderr tail. Either way a new
worker continues with the remaining tasks.

Every native task runs before any patched one: a worker that has applied a patch once is
never asked for stock behaviour again (a patch can leave registrations and imported modules
behind that ``revert()`` cannot take back), and the cost is nothing (a second worker per
cell would cost one more import of the stack). Results are still written in plan order.

The worker runs in its own session; SIGINT/SIGTERM to this process kill its whole process
group and raise :class:`Interrupted`, and the worker dies with this process even when this
one is killed outright (:mod:`vlmcompat.signals`). :func:`run_cell` records the run in the cell's
files through :mod:`vlmcompat.matrix.record`.
"""

from __future__ import annotations

import contextlib
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

from vlmcompat import paths, probes, signals, tiny, usermodel, versions
from vlmcompat.matrix.record import CellRecord, describe_exit
from vlmcompat.results import ENVIRONMENT, CellResult, ErrorInfo, InstallInfo, InstallStatus, Mode, ProbeResult, Status

DEFAULT_TIMEOUT = 300.0
STARTUP_TIMEOUT = 600.0  # importing torch + transformers on a busy machine takes a while
STDERR_TAIL = 1500
ENGINE_PID_ENV = "VLMCOMPAT_ENGINE_PID"  # the worker exits if this process is gone


@dataclass(frozen=True)
class Task:
    probe: str
    family: str
    mode: Mode

    def to_dict(self) -> dict[str, str]:
        return {"probe": self.probe, "family": self.family, "mode": self.mode.value}

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.probe, self.family, self.mode.value)


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived; the worker's process group is gone."""

    def __init__(self, signum: int, task: Task | None = None, seconds: float = 0.0):
        self.signum, self.task, self.seconds = signum, task, seconds
        self.path: Path | None = None  # where the interrupted run was recorded
        super().__init__(f"interrupted by {signal.Signals(signum).name}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def plan(probe_names: Iterable[str] | None = None, families: Iterable[str] | None = None) -> list[Task]:
    """The tasks to run: every selected probe × applicable family × mode, in registry order."""
    selected = [probes.get(n) for n in probe_names] if probe_names else list(probes.all_probes().values())
    model_families = [tiny.get(f).name for f in families] if families else list(tiny.FAMILIES)
    return [Task(probe.name, family, mode) for probe in selected for family in probe.targets(model_families)
            for mode in probe.modes]


def schedule(tasks: list[Task]) -> list[Task]:
    """The order tasks run in: every native task first, then the patched ones (each in plan order)."""
    return sorted(tasks, key=lambda t: t.mode is not Mode.NATIVE)


def _tail(path: Path) -> str:
    try:
        return path.read_text(errors="replace")[-STDERR_TAIL:]
    except OSError:
        return ""


def _worker_env() -> dict[str, str]:
    """The worker inherits this process's environment and working directory, so it imports the
    same vlmcompat (a cell's linked package, an installed one, or the checkout it runs from)."""
    return {**os.environ, "PYTHONUNBUFFERED": "1", ENGINE_PID_ENV: str(os.getpid())}


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def run_tasks(tasks: list[Task], timeout: float = DEFAULT_TIMEOUT,
              on_result: Callable[[ProbeResult], None] = lambda r: None,
              startup_timeout: float = STARTUP_TIMEOUT, preload: Iterable[str] | None = None) -> list[ProbeResult]:
    """Run ``tasks`` in worker processes (:func:`schedule` order); ``on_result`` sees each result as it
    arrives. Raises :class:`Interrupted` on SIGINT/SIGTERM, with no worker left running."""
    results: list[ProbeResult] = []
    remaining = schedule(tasks)
    preload = paths.preload_modules() if preload is None else tuple(preload)
    while remaining:
        with tempfile.NamedTemporaryFile(prefix="vlmcompat-worker-", suffix=".log", delete=False) as errf:
            err_path = Path(errf.name)
        proc = None
        try:
            with open(err_path, "w") as err:
                proc = subprocess.Popen([sys.executable, "-m", "vlmcompat.worker"], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=err, env=_worker_env(), start_new_session=True)
            assert proc.stdin is not None
            proc.stdin.write(json.dumps({"preload": list(preload), "tasks": [t.to_dict() for t in remaining]}).encode())
            proc.stdin.close()
            done = _Supervisor(proc, remaining, timeout, startup_timeout, err_path, results, on_result).run()
        finally:
            if proc is not None and proc.poll() is None:
                _kill_group(proc)
            err_path.unlink(missing_ok=True)
        remaining = remaining[done:]
    return results


class _Supervisor:
    """Consumes one worker's output; :meth:`run` returns how many tasks it accounted for."""

    def __init__(self, proc, tasks, timeout, startup_timeout, err_path, results, on_result):
        self.proc, self.tasks, self.timeout, self.startup_timeout = proc, tasks, timeout, startup_timeout
        self.err_path, self.results, self.on_result = err_path, results, on_result
        self.done, self.ready, self.in_flight, self.started_at = 0, False, False, time.monotonic()
        self.preparing = False  # setting a task's patch state: the start-up limit applies

    def emit(self, result: ProbeResult) -> None:
        if result.model is None and result.family != ENVIRONMENT:  # a timeout or crash on the user's checkpoint
            result.model = usermodel.active_name()
        self.results.append(result)
        self.on_result(result)
        self.done += 1

    def not_started(self, status: Status, reason: str, error: ErrorInfo | None = None) -> int:
        """The worker died or hung before it was ready: no task can run in this environment."""
        for task in self.tasks:
            self.emit(ProbeResult(task.probe, task.family, task.mode, status, error=error, reason=reason))
        return self.done

    def run(self) -> int:
        selector = selectors.DefaultSelector()
        selector.register(self.proc.stdout, selectors.EVENT_READ)
        buffer = b""
        try:
            while self.done < len(self.tasks):
                limit = self.timeout if self.ready and not self.preparing else self.startup_timeout
                wait = max(0.0, self.started_at + limit - time.monotonic()) if self.in_flight or not self.ready \
                    else None
                if not selector.select(timeout=wait):
                    return self.timed_out()
                chunk = os.read(self.proc.stdout.fileno(), 65536)
                if not chunk:
                    return self.crashed()
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    self.message(line)
        except Interrupted as exc:
            _kill_group(self.proc)
            if self.in_flight:
                exc.task, exc.seconds = self.tasks[self.done], time.monotonic() - self.started_at
            raise
        self.proc.wait()
        return self.done

    def message(self, line: bytes) -> None:
        try:
            message = json.loads(line)
        except json.JSONDecodeError:
            return
        event = message.get("event") if isinstance(message, dict) else None
        if event == "ready":
            self.ready = True
        elif event == "prepare":
            self.in_flight, self.preparing, self.started_at = True, True, time.monotonic()
        elif event == "start":
            self.in_flight, self.preparing, self.started_at = True, False, time.monotonic()
        elif event == "result":
            self.emit(ProbeResult.from_dict(message["result"]))
            self.in_flight = False

    def timed_out(self) -> int:
        _kill_group(self.proc)
        if not self.ready:
            return self.not_started(Status.TIMEOUT, f"the probe worker did not finish importing its libraries "
                                                    f"within the {self.startup_timeout:g} s start-up limit")
        task = self.tasks[self.done]
        if self.preparing:
            self.emit(ProbeResult(task.probe, task.family, task.mode, Status.TIMEOUT, seconds=self.startup_timeout,
                                  reason=f"setting the {task.mode.value} patch state took longer than the "
                                         f"{self.startup_timeout:g} s start-up limit; killed"))
            return self.done
        self.emit(ProbeResult(task.probe, task.family, task.mode, Status.TIMEOUT, seconds=self.timeout,
                              reason=f"ran past the {self.timeout:g} s time limit and was killed"))
        return self.done

    def crashed(self) -> int:
        code = self.proc.wait()
        error = ErrorInfo("WorkerCrash", _tail(self.err_path)[-800:])
        if not self.ready:
            return self.not_started(Status.CRASH, f"the probe worker {describe_exit(code)} while importing its "
                                                  "libraries", error)
        task = self.tasks[self.done]
        self.emit(ProbeResult(task.probe, task.family, task.mode, Status.CRASH,
                              seconds=time.monotonic() - self.started_at, error=error,
                              reason=f"the probe process {describe_exit(code)}"))
        return self.done


def run_cell(cell: str, json_path: str | os.PathLike[str] | None, tasks: list[Task], timeout: float = DEFAULT_TIMEOUT,
             install_seconds: float | None = None, on_result: Callable[[ProbeResult], None] = lambda r: None,
             startup_timeout: float = STARTUP_TIMEOUT, preload: Iterable[str] | None = None,
             cache=None) -> CellResult:
    """Run the tasks and record them: the partial file after every result, the cell file when the run
    ends (:mod:`vlmcompat.matrix.record`). Raises :class:`Interrupted` after recording an interruption."""
    install = InstallInfo(InstallStatus.OK if install_seconds is not None else InstallStatus.EXISTING,
                          install_seconds or 0.0)
    cell_result = CellResult(cell=cell, versions=versions.recorded_versions(), install=install, cache=cache)
    record = CellRecord(Path(json_path) if json_path else None, cell_result, [t.key for t in tasks])

    def collect(result: ProbeResult) -> None:
        record.add(result)
        on_result(result)

    with signals.raise_on_signals(Interrupted):
        try:
            run_tasks(tasks, timeout=timeout, on_result=collect, startup_timeout=startup_timeout, preload=preload)
        except Interrupted as exc:
            with signals.held():
                if exc.task is not None:
                    record.add(ProbeResult(exc.task.probe, exc.task.family, exc.task.mode, Status.INTERRUPTED,
                                           seconds=exc.seconds, reason=f"{exc} after {exc.seconds:.1f} s"))
                record.interrupted(str(exc))
            exc.path = record.path
            raise
        with signals.held():
            record.complete()
    return record.result

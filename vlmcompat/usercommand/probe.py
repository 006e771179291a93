"""The ``run`` probe: the user's commands, native and patched (see :mod:`vlmcompat.usercommand`)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vlmcompat.probes.base import Metrics, Probe, ProbeFailed, Scope
from vlmcompat.results import Mode
from vlmcompat.usercommand import PROBE_NAME, commands, folder, shim

OUTPUT_TAIL = 2000  # kept in the result
EXPLAINED_TAIL = 20000  # read by explain (a traceback's end, with the context above it)


def environment(mode: Mode, tmp: Path) -> dict[str, str]:
    """This environment's variables with the cell's Python first on PATH (``python`` is the cell's),
    and the shim for patched runs."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    for key in ("VLMCOMPAT_ENGINE_PID", "VLMCOMPAT_RUN"):
        env.pop(key, None)
    return shim.patched_env(env, shim.install(tmp / "shim")) if mode is Mode.PATCHED else env


def diagnose(output: str) -> tuple[str | None, str]:
    """The known issue the output shows, if any, and its fix."""
    from vlmcompat.explain import explain

    matches = explain(output)
    return (matches[0].issue, matches[0].fix) if matches else (None, "")


def run_one(command: str, mode: Mode) -> dict[str, object]:
    """Run ``command`` from the project's folder; its exit status, seconds and output tail."""
    with tempfile.TemporaryDirectory(prefix="vlmcompat-run-") as tmp:
        start = time.perf_counter()
        proc = subprocess.run(command, shell=True, cwd=folder(), env=environment(mode, Path(tmp)),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace")
        seconds = time.perf_counter() - start
    return {"command": command, "exit": proc.returncode, "seconds": round(seconds, 2),
            "output_tail": proc.stdout[-EXPLAINED_TAIL:]}


def short(command: str, width: int = 60) -> str:
    return command if len(command) <= width else command[: width - 1] + "…"


def run(family: str, mode: Mode) -> Metrics:
    given = commands()
    if not given:
        from vlmcompat.probes.base import ProbeSkipped

        raise ProbeSkipped("no command given (--run CMD or run = [...] in matrix.toml)")
    runs = [run_one(command, mode) for command in given]
    outputs = [str(item["output_tail"]) for item in runs]
    for item in runs:
        item["output_tail"] = str(item["output_tail"])[-OUTPUT_TAIL:]
    metrics: Metrics = {"cwd": folder(), "runs": runs}
    for item, output in zip(runs, outputs):
        if item["exit"] != 0:
            issue, fix = diagnose(output)
            metrics["fix"] = fix or None
            last = next((line for line in reversed(str(item["output_tail"]).splitlines()) if line.strip()), "")
            raise ProbeFailed(issue, f"`{short(str(item['command']))}` exited {item['exit']} after "
                              f"{item['seconds']}s: {last[:300]}", metrics)
    return metrics


PROBE = Probe(name=PROBE_NAME, summary="your own command (--run / run = [...]): exit status, time, output",
              run=run, scope=Scope.ENVIRONMENT)

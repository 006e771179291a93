"""The probe worker: runs probe tasks in this process and reports each as a JSON line.

Started by :mod:`vlmcompat.engine` as ``python -m vlmcompat.worker`` with
``{"preload": [modules], "tasks": [...]}`` as JSON on stdin. The protocol goes to the original
stdout (one JSON object per line): ``ready`` once the preloaded libraries are imported, then
for each task ``prepare`` (the patch state is being set: applying patches imports what they
patch), ``start`` (the probe itself runs) and its ``result``. The engine's task time limit
counts from ``start``; ``ready`` and ``prepare`` have the start-up limit. Everything the
libraries print goes to stderr. The engine restarts a worker that crashes or hangs, with the
remaining tasks.

Once a patched task has run here, this worker refuses native ones (the engine schedules every
native task first): a patch can leave state behind that ``revert()`` cannot take back, and a
native result must be what the stock libraries do. The worker dies with the engine
(``PR_SET_PDEATHSIG``), and its own subprocesses with it (SIGTERM kills its process group).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import os
import signal
import sys
import time
import warnings
from typing import Any, TextIO

from vlmcompat import known_issues, signals
from vlmcompat.probes.base import ProbeFailed, ProbeSkipped
from vlmcompat.results import ENVIRONMENT, ErrorInfo, Mode, ProbeResult, Status

_patched_once = False


def set_patch_state(probe_name: str, family: str, mode: Mode) -> None:
    """Apply every patch for a patched task, revert them for a native one (imports what they patch)."""
    global _patched_once
    from vlmcompat import patches

    if mode is Mode.NATIVE and _patched_once:
        raise RuntimeError(f"{probe_name} ({family}, native) after a patched task in the same worker: "
                           "native results must come from a worker that never applied a patch")
    if mode is Mode.PATCHED:
        _patched_once = True
        patches.apply()
    else:
        patches.revert()


def run_task(probe_name: str, family: str, mode: Mode) -> ProbeResult:
    """Run one probe in one mode here (after :func:`set_patch_state`); patches are reverted after it."""
    from vlmcompat import patches, probes, usermodel

    probe = probes.get(probe_name)
    start = time.perf_counter()
    result = ProbeResult(probe=probe_name, family=family, mode=mode, status=Status.PASS,
                         model=usermodel.active_name() if family != ENVIRONMENT else None)
    try:
        result.metrics = dict(probe.run(family, mode) or {})
    except ProbeSkipped as exc:
        result.status, result.reason = Status.SKIP, str(exc)
    except ProbeFailed as exc:
        result.status, result.issue, result.metrics = Status.FAIL, exc.issue, exc.metrics
        result.error = ErrorInfo(type="ProbeFailed", message=str(exc)[:2000])
        result.reason = str(exc).splitlines()[0][:300] if str(exc) else None
    except Exception as exc:  # the libraries under test raise anything; classify it
        result.error = ErrorInfo.from_exception(exc)
        result.issue = known_issues.classify_exception(exc)
        result.status = Status.FAIL if result.issue else Status.ERROR
    finally:
        if mode is Mode.PATCHED:
            patches.revert()
    result.seconds = time.perf_counter() - start
    return result


def _quiet_libraries() -> None:
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _die_with_engine() -> None:
    """SIGTERM when the engine dies, and SIGTERM takes this process group (the probes' own
    subprocesses) down with this process."""
    def stop(signum, frame):
        with contextlib.suppress(OSError):
            os.killpg(os.getpgrp(), signal.SIGKILL)
        os._exit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    engine = os.environ.get("VLMCOMPAT_ENGINE_PID")
    signals.die_with_parent(signal.SIGTERM, int(engine) if engine else None)


def preload(modules: list[str], tasks: list[dict[str, Any]] = ()) -> None:
    """Import the libraries every task needs, before the task clocks start; a library that fails to
    import is left for the tasks to report. When a task is ``peft-import``, its import check runs here
    first, while nothing has imported peft (no second interpreter). The user's checkpoint
    (``probe --model``) becomes its family's model before the probes are loaded."""
    from vlmcompat import patches, probes, usermodel

    usermodel.activate_from_env()

    for name in modules:
        try:
            module = importlib.import_module(name)
            if name == "transformers":
                module.PreTrainedModel  # noqa: B018 - the lazy module imports modeling_utils here
        except Exception:  # reported by the tasks themselves
            pass
    if any(task.get("probe") == "peft-import" for task in tasks):
        from vlmcompat.probes import peft_import

        try:
            peft_import.check_here()
        except Exception:  # the task falls back to a fresh interpreter
            pass
    for load in (probes.all_probes, patches.builtin_patches):
        try:
            load()
        except Exception:  # the task that needs it reports it
            pass


def serve(tasks: list[dict[str, Any]], proto: TextIO) -> None:
    _quiet_libraries()
    for index, task in enumerate(tasks):
        mode = Mode(task["mode"])
        proto.write(json.dumps({"event": "prepare", "index": index}) + "\n")
        proto.flush()
        set_patch_state(task["probe"], task["family"], mode)
        proto.write(json.dumps({"event": "start", "index": index}) + "\n")
        proto.flush()
        result = run_task(task["probe"], task["family"], mode)
        proto.write(json.dumps({"event": "result", "index": index, "result": result.to_dict()}) + "\n")
        proto.flush()


def main() -> int:
    _die_with_engine()
    request = json.load(sys.stdin)
    proto = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # library prints go to stderr
    _quiet_libraries()
    start = time.perf_counter()
    preload(request.get("preload", []), request["tasks"])
    proto.write(json.dumps({"event": "ready", "seconds": round(time.perf_counter() - start, 3)}) + "\n")
    proto.flush()
    serve(request["tasks"], proto)
    return 0


if __name__ == "__main__":
    sys.exit(main())

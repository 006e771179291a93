"""The probe worker: runs probe tasks in this process and reports each as a JSON line.

Started by :mod:`vlmcompat.engine` as ``python -m vlmcompat.worker`` with the task list as
JSON on stdin. The protocol goes to the original stdout (one JSON object per line: a
``start`` event before each task, then its result); everything the libraries print goes to
stderr. The engine restarts a worker that crashes or hangs, with the remaining tasks.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import warnings
from typing import Any, TextIO

from vlmcompat import known_issues
from vlmcompat.probes.base import ProbeFailed, ProbeSkipped
from vlmcompat.results import ErrorInfo, Mode, ProbeResult, Status


def run_task(probe_name: str, family: str, mode: Mode) -> ProbeResult:
    """Run one probe in one mode here, with the patch state the mode asks for."""
    from vlmcompat import patches, probes

    probe = probes.get(probe_name)
    if mode is Mode.PATCHED:
        patches.apply()
    else:
        patches.revert()
    start = time.perf_counter()
    result = ProbeResult(probe=probe_name, family=family, mode=mode, status=Status.PASS)
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


def serve(tasks: list[dict[str, Any]], proto: TextIO) -> None:
    _quiet_libraries()
    for index, task in enumerate(tasks):
        proto.write(json.dumps({"event": "start", "index": index}) + "\n")
        proto.flush()
        result = run_task(task["probe"], task["family"], Mode(task["mode"]))
        proto.write(json.dumps({"event": "result", "index": index, "result": result.to_dict()}) + "\n")
        proto.flush()


def main() -> int:
    tasks = json.load(sys.stdin)
    proto = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # library prints go to stderr
    serve(tasks, proto)
    return 0


if __name__ == "__main__":
    sys.exit(main())

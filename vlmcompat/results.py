"""The result schema: what a probe run produces and what reports, the gate and doctor read.

A *cell* is one environment (one transformers/tokenizers/peft combination). Its JSON is::

    {"schema_version": 1, "cell": "t4.44-p0.16", "versions": {...},
     "install": {"status": "ok", "seconds": 1.2, "log_tail": ""},
     "results": [{"probe": "peft-wrapper", "family": "instructblip-t5", "mode": "native",
                  "status": "fail", "issue": "inputs-embeds-unexpected",
                  "error": {"type": "TypeError", "message": "..."}, "metrics": {}, "seconds": 0.4,
                  "reason": null}, ...]}

The merged report is ``{"schema_version", "generated", "cells": [<cell>, ...]}``.
Everything here is plain data: no torch, no transformers.

Fields added after the first release are optional and only written when they say something,
so schema_version stays 1 and every older file still reads: ``run`` (how the probe run ended:
``complete``, ``interrupted`` or ``crashed``, with the tasks that never ran), ``cache`` (the
result-cache key, whether these results were reused, when they were produced), ``later_run``
(in a merged report: a later run of the cell that did not finish, whose record lies beside
the cell file) and ``install.offline`` (resolved from the local cache because the package
index could not be reached) and a result's ``model`` (the user's checkpoint folder the probe
ran on). A reader of the old schema ignores the new keys; a result with the new status
``interrupted`` it refuses by name rather than misreads.

Size: the schema and its validation (every field checked, each problem one line naming the
file and the field) belong together; ~400 lines.
"""

from __future__ import annotations

import datetime as _dt
import enum
import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vlmcompat.errors import ResultsError

SCHEMA_VERSION = 1
ENVIRONMENT = "*"  # the family of a result that is about the environment, not one model family
LATER_SUFFIX = ".later.json"  # ``.<cell>.later.json``: a later run of the cell that did not finish
REGENERATE = "regenerate it with `vlmcompat probe --json`"


class Status(str, enum.Enum):
    PASS = "pass"  # the probe's check held
    FAIL = "fail"  # the check failed in a known way (``issue`` names it)
    ERROR = "error"  # an unexpected exception (not in the catalogue)
    SKIP = "skip"  # not applicable here; ``reason`` says why
    TIMEOUT = "timeout"  # the probe ran past its time limit and was killed
    CRASH = "crash"  # the probe process died (signal, abort, hard exit)
    INTERRUPTED = "interrupted"  # the run was stopped (SIGINT/SIGTERM) while this probe ran: no verdict

    def __str__(self) -> str:
        return self.value


class Mode(str, enum.Enum):
    NATIVE = "native"  # stock classes, to diagnose
    PATCHED = "patched"  # with vlmcompat's fixes, to prove them

    def __str__(self) -> str:
        return self.value


class InstallStatus(str, enum.Enum):
    OK = "ok"
    EXISTING = "existing"  # probes ran in an environment vlmcompat did not build
    NOT_FOUND = "not-found"  # a pinned version does not exist on the index
    UNRESOLVABLE = "unresolvable"  # the resolver found no solution
    NETWORK = "network"  # the index could not be reached
    BUILD_FAILED = "build-failed"  # a source build failed
    ERROR = "error"  # anything else

    def __str__(self) -> str:
        return self.value


class RunState(str, enum.Enum):
    RUNNING = "running"  # only in the partial file of a run in progress
    COMPLETE = "complete"  # every planned task has a result
    INTERRUPTED = "interrupted"  # stopped by SIGINT/SIGTERM; ``not_run`` lists what never ran
    CRASHED = "crashed"  # the probe command itself died; ``not_run`` lists what never ran

    def __str__(self) -> str:
        return self.value


INSTALLED = (InstallStatus.OK, InstallStatus.EXISTING)  # install statuses under which probes ran


def now_iso() -> str:
    return _dt.datetime.now(_dt.UTC).replace(microsecond=0).isoformat()


class _Fields:
    """Typed access to one JSON object of a results file; every problem is one line naming the file
    and the field (``reports/cells/x.json: results[3].status: ...``)."""

    def __init__(self, data: Any, source: str, where: str) -> None:
        self.source, self.where = source, where
        if not isinstance(data, dict):
            raise self.error("", "an object", data)
        self.data = data

    def error(self, key: str, wanted: str, got: Any) -> ResultsError:
        name = f"{self.where}.{key}" if self.where and key else (self.where or key or "top level")
        return ResultsError(f"{self.source}: {name}: expected {wanted}, got {json.dumps(got)[:80]}; {REGENERATE}")

    def get(self, key: str, kinds: tuple[type, ...], wanted: str, required: bool = False, default: Any = None) -> Any:
        if key not in self.data:
            if required:
                raise ResultsError(f"{self.source}: {self.where + '.' if self.where else ''}{key}: missing; "
                                   f"{REGENERATE}")
            return default
        value = self.data[key]
        if value is None and not required:
            return default
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise self.error(key, wanted, value)
        return value

    def text(self, key: str, required: bool = False, default: str | None = None) -> Any:
        value = self.get(key, (str,), "a string", required, default)
        if required and not value:
            raise self.error(key, "a non-empty string", value)
        return value

    def number(self, key: str) -> float:
        return float(self.get(key, (int, float), "a number", default=0.0))

    def enum(self, key: str, kind: type[enum.Enum], required: bool = True, default: Any = None) -> Any:
        value = self.get(key, (str,), "a string", required, default)
        try:
            return value if value is default and not required else kind(value)
        except ValueError:
            raise self.error(key, "one of " + ", ".join(str(m.value) for m in kind), value) from None

    def obj(self, key: str) -> dict[str, Any]:
        return dict(self.get(key, (dict,), "an object", default={}))

    def items(self, key: str) -> list[Any]:
        return list(self.get(key, (list,), "a list", default=[]))


@dataclass
class ErrorInfo:
    type: str
    message: str

    @classmethod
    def from_exception(cls, exc: BaseException, limit: int = 2000) -> ErrorInfo:
        message = str(exc)
        if len(message) > limit:
            message = message[:limit] + " …"
        return cls(type=type(exc).__name__, message=message)


@dataclass
class ProbeResult:
    probe: str
    family: str
    mode: Mode
    status: Status
    issue: str | None = None
    error: ErrorInfo | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    reason: str | None = None  # why a skip/fail/timeout/crash happened, in words
    model: str | None = None  # the user's checkpoint the family's probes ran on (``probe --model``)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.probe, self.family, self.mode.value)

    @property
    def outcome(self) -> str:
        """``pass``, ``skip``, ``fail (inputs-embeds-unexpected)``: what the gate and bisect compare."""
        return f"{self.status.value} ({self.issue})" if self.issue else self.status.value

    def to_dict(self) -> dict[str, Any]:
        out = {
            "probe": self.probe,
            "family": self.family,
            "mode": self.mode.value,
            "status": self.status.value,
            "issue": self.issue,
            "error": None if self.error is None else {"type": self.error.type, "message": self.error.message},
            "metrics": self.metrics,
            "seconds": round(self.seconds, 3),
            "reason": self.reason,
        }
        if self.model is not None:
            out["model"] = self.model
        return out

    @classmethod
    def from_dict(cls, data: Any, source: str = "<result>", where: str = "result") -> ProbeResult:
        f = _Fields(data, source, where)
        error = f.get("error", (dict,), "an object or null")
        if error is not None:
            e = _Fields(error, source, f"{where}.error")
            error = ErrorInfo(type=e.text("type", required=True), message=e.text("message", default="") or "")
        return cls(
            probe=f.text("probe", required=True),
            family=f.text("family", required=True),
            mode=f.enum("mode", Mode),
            status=f.enum("status", Status),
            issue=f.text("issue"),
            error=error,
            metrics=f.obj("metrics"),
            seconds=f.number("seconds"),
            reason=f.text("reason"),
            model=f.text("model"),
        )


@dataclass(frozen=True)
class TaskRef:
    """A planned probe × family × mode (what ``run.not_run`` lists)."""

    probe: str
    family: str
    mode: str

    def to_dict(self) -> dict[str, str]:
        return {"probe": self.probe, "family": self.family, "mode": self.mode}


@dataclass
class RunInfo:
    """How the probe run that produced a cell's results went."""

    state: RunState = RunState.RUNNING
    started: str = ""
    ended: str | None = None
    tasks: int = 0  # planned tasks
    not_run: list[TaskRef] = field(default_factory=list)  # planned tasks without a result
    reason: str | None = None  # why it did not complete ("interrupted by SIGINT", "exit status -9")

    @property
    def finished(self) -> bool:
        """A complete or crashed run is this environment's outcome; an interrupted one is not."""
        return self.state in (RunState.COMPLETE, RunState.CRASHED)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"state": self.state.value, "started": self.started, "ended": self.ended,
                                "tasks": self.tasks}
        if self.not_run:
            data["not_run"] = [t.to_dict() for t in self.not_run]
        if self.reason:
            data["reason"] = self.reason
        return data

    @classmethod
    def from_dict(cls, data: Any, source: str, where: str = "run") -> RunInfo:
        f = _Fields(data, source, where)
        not_run = []
        for i, item in enumerate(f.items("not_run")):
            t = _Fields(item, source, f"{where}.not_run[{i}]")
            not_run.append(TaskRef(t.text("probe", True), t.text("family", True), t.text("mode", True)))
        return cls(f.enum("state", RunState), f.text("started", default="") or "", f.text("ended"),
                   int(f.number("tasks")), not_run, f.text("reason"))


@dataclass
class CacheInfo:
    """The result cache's record (:mod:`vlmcompat.matrix.cache`)."""

    key: str
    reused: bool = False
    produced: str = ""  # when these results were computed

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "reused": self.reused, "produced": self.produced}

    @classmethod
    def from_dict(cls, data: Any, source: str) -> CacheInfo:
        f = _Fields(data, source, "cache")
        return cls(f.text("key", True), bool(f.get("reused", (bool,), "true or false", default=False)),
                   f.text("produced", default="") or "")


@dataclass
class InstallInfo:
    status: InstallStatus = InstallStatus.EXISTING
    seconds: float = 0.0
    log_tail: str = ""
    offline: bool = False  # resolved from the local cache: the package index could not be reached

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"status": self.status.value, "seconds": round(self.seconds, 3),
                                "log_tail": self.log_tail}
        if self.offline:
            data["offline"] = True
        return data

    @classmethod
    def from_dict(cls, data: Any, source: str = "<install>") -> InstallInfo:
        f = _Fields(data, source, "install")
        return cls(f.enum("status", InstallStatus), f.number("seconds"), f.text("log_tail", default="") or "",
                   bool(f.get("offline", (bool,), "true or false", default=False)))


@dataclass
class CellResult:
    cell: str
    versions: dict[str, str | None] = field(default_factory=dict)
    install: InstallInfo = field(default_factory=InstallInfo)
    results: list[ProbeResult] = field(default_factory=list)
    run: RunInfo | None = None
    cache: CacheInfo | None = None
    later_run: dict[str, Any] | None = None  # a later unfinished run ({run..., "results": N, "file": ...})

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "cell": self.cell,
            "versions": self.versions,
            "install": self.install.to_dict(),
            "results": [r.to_dict() for r in self.results],
        }
        if self.run is not None:
            data["run"] = self.run.to_dict()
        if self.cache is not None:
            data["cache"] = self.cache.to_dict()
        if self.later_run is not None:
            data["later_run"] = self.later_run
        return data

    @classmethod
    def from_dict(cls, data: Any, source: str = "<cell>") -> CellResult:
        f = _Fields(data, source, "")
        _check_schema(data, source)
        versions = f.obj("versions")
        for name, value in versions.items():
            if value is not None and not isinstance(value, str):
                raise _Fields(versions, source, "versions").error(name, "a version string or null", value)
        install = data.get("install")
        return cls(
            cell=f.text("cell", required=True),
            versions=versions,
            install=InstallInfo() if install is None else InstallInfo.from_dict(install, source),
            results=[ProbeResult.from_dict(r, source, f"results[{i}]") for i, r in enumerate(f.items("results"))],
            run=None if data.get("run") is None else RunInfo.from_dict(data["run"], source),
            cache=None if data.get("cache") is None else CacheInfo.from_dict(data["cache"], source),
            later_run=f.obj("later_run") or None,
        )

    @property
    def installed(self) -> bool:
        """Whether the probes ran (an install that failed is never an incompatibility)."""
        return self.install.status in INSTALLED

    @property
    def finished(self) -> bool:
        """Whether this record is an outcome of the environment (see :attr:`RunInfo.finished`): files
        written before runs were recorded are; a run stopped by the user or by the network is not."""
        if self.install.status is InstallStatus.NETWORK:
            return False
        return self.run is None or self.run.finished

    def find(self, probe: str, family: str, mode: Mode | str) -> ProbeResult | None:
        mode = Mode(mode)
        for result in self.results:
            if result.probe == probe and result.family == family and result.mode is mode:
                return result
        return None


def _check_schema(data: dict[str, Any], source: str) -> None:
    version = data.get("schema_version")
    if version is None:
        raise ResultsError(f"{source}: no schema_version; this is not a vlmcompat results file")
    if version != SCHEMA_VERSION:
        raise ResultsError(
            f"{source}: schema_version {json.dumps(version)[:40]} is not supported (this vlmcompat reads "
            f"{SCHEMA_VERSION}); regenerate the file with this version"
        )


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> None:
    """Write JSON so that a reader never sees a half-written file (tmp file + rename), readable by
    everyone as the reports are (0644 under the usual umask; mkstemp alone would give 0600)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def read_json(path: str | os.PathLike[str]) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ResultsError(f"{path}: a directory, not a results file") from None
    except OSError as exc:
        raise ResultsError(f"{path}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise ResultsError(f"{path}: not a JSON text file (byte {exc.start} is not UTF-8); "
                           "pass a vlmcompat results file") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


def load_cell(path: str | os.PathLike[str]) -> CellResult:
    return CellResult.from_dict(read_json(path), source=str(path))


def later_path(cell_file: str | os.PathLike[str]) -> Path:
    """Where a later, unfinished run of the cell in ``cell_file`` is kept (a dot-file: never a cell)."""
    cell_file = Path(cell_file)
    return cell_file.with_name(f".{cell_file.stem}{LATER_SUFFIX}")


def later_summary(cell_file: Path) -> dict[str, Any] | None:
    """What a report says about the later unfinished run beside ``cell_file`` (None when there is none)."""
    path = later_path(cell_file)
    if not path.is_file():
        return None
    later = load_cell(path)
    summary: dict[str, Any] = later.run.to_dict() if later.run is not None else {}
    summary.pop("not_run", None)
    if later.install.status is InstallStatus.NETWORK:
        summary["reason"] = "the package index could not be reached"
    summary.update(results=len(later.results), file=path.name)
    return summary


def load_results(source: str | os.PathLike[str]) -> list[CellResult]:
    """Cells from a directory of cell JSON files (``reports/cells``), a merged report or one cell
    file. Two files with the same cell id are refused: which one is current cannot be told. A later
    run that did not finish (``.<cell>.later.json``) is attached to its cell as ``later_run``."""
    source = Path(source)
    if source.is_dir():
        files = sorted(p for p in source.glob("*.json") if not p.name.startswith("."))
        if not files:
            raise ResultsError(f"{source}: no cell results (*.json); run `nox -s matrix` first or pass another path")
        cells, seen = [], {}
        for path in files:
            cell = load_cell(path)
            if cell.cell in seen:
                raise ResultsError(f"{path}: cell {cell.cell!r} is also in {seen[cell.cell]}; remove one of them")
            seen[cell.cell] = path
            cell.later_run = later_summary(path)
            cells.append(cell)
        return cells
    if not source.exists():
        raise ResultsError(f"{source}: no such file or directory; run `nox -s matrix` first or pass another path")
    return load_merged(source)


def merge(cells: list[CellResult], generated: str | None = None) -> dict[str, Any]:
    """The merged report: ``{schema_version, generated, cells}``."""
    if generated is None:
        generated = now_iso()
    return {"schema_version": SCHEMA_VERSION, "generated": generated, "cells": [c.to_dict() for c in cells]}


def load_merged(path: str | os.PathLike[str]) -> list[CellResult]:
    """Read a merged report, or a single cell file, as a list of cells."""
    data = read_json(path)
    if isinstance(data, dict) and "cells" in data:
        _check_schema(data, str(path))
        if not isinstance(data["cells"], list):
            raise _Fields(data, str(path), "").error("cells", "a list of cells", data["cells"])
        return [CellResult.from_dict({"schema_version": SCHEMA_VERSION, **_Fields(c, str(path), f"cells[{i}]").data},
                                     source=f"{path}[{i}]") for i, c in enumerate(data["cells"])]
    return [CellResult.from_dict(data, source=str(path))]

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


class Status(str, enum.Enum):
    PASS = "pass"  # the probe's check held
    FAIL = "fail"  # the check failed in a known way (``issue`` names it)
    ERROR = "error"  # an unexpected exception (not in the catalogue)
    SKIP = "skip"  # not applicable here; ``reason`` says why
    TIMEOUT = "timeout"  # the probe ran past its time limit and was killed
    CRASH = "crash"  # the probe process died (signal, abort, hard exit)

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


@dataclass
class ErrorInfo:
    type: str
    message: str

    @classmethod
    def from_exception(cls, exc: BaseException, limit: int = 2000) -> "ErrorInfo":
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

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.probe, self.family, self.mode.value)

    def to_dict(self) -> dict[str, Any]:
        return {
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

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ProbeResult":
        try:
            error = data.get("error")
            return cls(
                probe=data["probe"],
                family=data["family"],
                mode=Mode(data["mode"]),
                status=Status(data["status"]),
                issue=data.get("issue"),
                error=None if error is None else ErrorInfo(type=error["type"], message=error["message"]),
                metrics=dict(data.get("metrics") or {}),
                seconds=float(data.get("seconds") or 0.0),
                reason=data.get("reason"),
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise ResultsError(f"a probe result is malformed ({exc!r}): {json.dumps(data)[:200]}") from None


@dataclass
class InstallInfo:
    status: InstallStatus = InstallStatus.EXISTING
    seconds: float = 0.0
    log_tail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status.value, "seconds": round(self.seconds, 3), "log_tail": self.log_tail}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "InstallInfo":
        try:
            return cls(InstallStatus(data["status"]), float(data.get("seconds") or 0.0), data.get("log_tail") or "")
        except (KeyError, ValueError, TypeError) as exc:
            raise ResultsError(f"a cell's install record is malformed ({exc!r})") from None


@dataclass
class CellResult:
    cell: str
    versions: dict[str, str | None] = field(default_factory=dict)
    install: InstallInfo = field(default_factory=InstallInfo)
    results: list[ProbeResult] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "cell": self.cell,
            "versions": self.versions,
            "install": self.install.to_dict(),
            "results": [r.to_dict() for r in self.results],
        }
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "<cell>") -> "CellResult":
        if not isinstance(data, dict):
            raise ResultsError(f"{source}: expected a JSON object for a cell, got {type(data).__name__}")
        _check_schema(data, source)
        try:
            return cls(
                cell=data["cell"],
                versions=dict(data.get("versions") or {}),
                install=InstallInfo.from_dict(data.get("install") or {"status": "existing"}),
                results=[ProbeResult.from_dict(r) for r in data.get("results") or []],
            )
        except KeyError as exc:
            raise ResultsError(f"{source}: a cell lacks the key {exc}; regenerate it with `vlmcompat probe --json`") from None

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
            f"{source}: schema_version {version} is not supported (this vlmcompat reads {SCHEMA_VERSION}); "
            "regenerate the file with this version"
        )


def write_json_atomic(path: str | os.PathLike[str], data: Any) -> None:
    """Write JSON so that a reader never sees a half-written file (tmp file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: str | os.PathLike[str]) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise ResultsError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None


def load_cell(path: str | os.PathLike[str]) -> CellResult:
    return CellResult.from_dict(read_json(path), source=str(path))


def merge(cells: list[CellResult], generated: str | None = None) -> dict[str, Any]:
    """The merged report: ``{schema_version, generated, cells}``."""
    if generated is None:
        generated = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
    return {"schema_version": SCHEMA_VERSION, "generated": generated, "cells": [c.to_dict() for c in cells]}


def load_merged(path: str | os.PathLike[str]) -> list[CellResult]:
    """Read a merged report, or a single cell file, as a list of cells."""
    data = read_json(path)
    if isinstance(data, dict) and "cells" in data:
        _check_schema(data, str(path))
        return [CellResult.from_dict({"schema_version": SCHEMA_VERSION, **c}, source=f"{path}[{i}]")
                for i, c in enumerate(data["cells"])]
    return [CellResult.from_dict(data, source=str(path))]

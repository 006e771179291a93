"""The cell's virtual environment: a uv venv with the pinned stack, sharing the host's torch.

A cell never installs torch (several GB from PyPI, one CPU build on this kind of machine):
uv resolves with ``--excludes`` naming torch, and a ``.pth`` file puts a directory of
symlinks to the host's torch and its dependency closure on the cell's ``sys.path``. The
symlink directory holds only torch's closure, so nothing else from the host leaks in, and
the cell's own packages come first on ``sys.path``. A cell may ask for its own torch
(``torch = "..."`` in matrix.toml); then it is installed normally.

:mod:`vlmcompat.matrix.cell` builds every cell through this module, for the noxfile
(``nox -s matrix``), ``vlmcompat gate --requirements`` and ``bisect`` alike. Install failures
are classified (not-found, unresolvable, network, build-failed) so that a
missing release is never reported as an incompatibility; without the network (``UV_OFFLINE``,
``--offline``, an unreachable index) a failure is ``network`` whatever the resolver says.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from packaging.requirements import Requirement

from vlmcompat.paths import cache_root as default_cache_root
from vlmcompat.results import InstallInfo, InstallStatus

PTH_NAME = "_vlmcompat_shared_torch.pth"
LOG_TAIL_CHARS = 2000


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dependency_closure(root: str) -> list[importlib.metadata.Distribution]:
    """``root`` and everything it requires (no extras), as installed in this interpreter."""
    seen: dict[str, importlib.metadata.Distribution] = {}
    todo = [root]
    while todo:
        name = _canon(todo.pop())
        if name in seen:
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        seen[name] = dist
        for raw in dist.requires or []:
            req = Requirement(raw)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            todo.append(req.name)
    return list(seen.values())


def _top_level_entries(dist: importlib.metadata.Distribution) -> set[Path]:
    """Absolute paths of the top-level files/dirs a distribution installed (and its .dist-info)."""
    base = Path(dist.locate_file(""))
    entries: set[Path] = set()
    for file in dist.files or []:
        parts = Path(file).parts
        if not parts or parts[0] in ("..", "bin") or parts[0].startswith("__pycache__"):
            continue
        entries.add(base / parts[0])
    return entries


def shared_torch_dir(cache_root: Path | None = None, package: str = "torch") -> Path:
    """A directory of symlinks to the host's torch and its dependency closure (built once)."""
    dists = dependency_closure(package)
    if not dists:
        raise FileNotFoundError(
            f"{package} is not installed where vlmcompat runs; install it first (pip install torch==2.13.0)"
        )
    key = hashlib.sha256(
        "|".join(sorted(f"{d.metadata['Name']}=={d.version}@{d.locate_file('')}" for d in dists)).encode()
    ).hexdigest()[:12]
    cache_root = cache_root or default_cache_root()
    target = cache_root / f"shared-{package}-{key}"
    if target.is_dir():
        return target
    staging = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for dist in dists:
        for entry in _top_level_entries(dist):
            link = staging / entry.name
            if entry.exists() and not link.exists():
                link.symlink_to(entry)
    try:
        staging.rename(target)
    except OSError:  # another process won the race; use theirs
        shutil.rmtree(staging, ignore_errors=True)
    return target


def site_packages(venv: Path) -> Path:
    found = sorted(Path(venv).glob("lib/python3*/site-packages"))
    if not found:
        raise FileNotFoundError(f"{venv} has no lib/python3*/site-packages; is it a virtual environment?")
    return found[0]


def share_torch(venv: Path) -> Path:
    """Write the .pth that makes the host's torch importable in ``venv``."""
    pth = site_packages(venv) / PTH_NAME
    pth.write_text(str(shared_torch_dir()) + "\n")
    return pth


def wants_own_torch(requirements: list[str]) -> bool:
    return any(_canon(Requirement(r).name) == "torch" for r in requirements if not r.startswith("-"))


def excludes_file(cache_root: Path | None = None) -> Path:
    cache_root = cache_root or default_cache_root()
    cache_root.mkdir(parents=True, exist_ok=True)
    path = cache_root / "excludes-torch.txt"
    if not path.exists():
        path.write_text("torch\n")
    return path


def uv_install_args(requirements: list[str]) -> list[str]:
    """Arguments for ``uv pip install`` that keep the host's torch (unless the cell pins one)."""
    args = list(requirements)
    if not wants_own_torch(requirements):
        args = ["--excludes", str(excludes_file()), *args]
    return args


_CLASSIFIERS: list[tuple[InstallStatus, re.Pattern[str]]] = [
    (InstallStatus.NETWORK, re.compile(r"(dns error|Failed to fetch|Connection (refused|reset)|timed out|"
                                       r"failed to lookup address|Network is unreachable|tcp connect error|"
                                       r"network was disabled|was not found in the cache|"
                                       r"needs to be downloaded from a registry)", re.I)),
    (InstallStatus.NOT_FOUND, re.compile(r"(there is no version of|no matching distribution|"
                                         r"not found in the package registry|only .* (is|are) available)", re.I)),
    (InstallStatus.BUILD_FAILED, re.compile(r"(Failed to build|failed to build|Build backend failed)", re.I)),
    (InstallStatus.UNRESOLVABLE, re.compile(r"(No solution found|ResolutionImpossible|unsatisfiable)", re.I)),
]
_TRUE = ("1", "true", "yes", "on")


def offline_requested(extra: list[str] | None = None) -> bool:
    """Whether uv runs without the network: ``--offline``, or ``UV_OFFLINE`` in the environment."""
    return "--offline" in (extra or []) or os.environ.get("UV_OFFLINE", "").strip().lower() in _TRUE


def classify_install_failure(log: str, offline: bool = False) -> InstallStatus:
    """What a failed ``uv pip install`` means, from uv's own words. Without the network a resolver's
    "no solution" only says the cache lacks something: that is ``network``, never ``unresolvable``
    or ``not-found``."""
    for status, pattern in _CLASSIFIERS:
        if pattern.search(log):
            if offline and status in (InstallStatus.NOT_FOUND, InstallStatus.UNRESOLVABLE):
                return InstallStatus.NETWORK
            return status
    return InstallStatus.NETWORK if offline else InstallStatus.ERROR


def uv_bin() -> str:
    """The uv executable, found as nox finds it: ``$UV``, the ``uv`` package beside this Python
    (``pip install uv`` puts it there even when its scripts folder is not on PATH), else PATH."""
    if os.environ.get("UV"):
        return os.environ["UV"]
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv") or "uv"


def pip_install(venv: Path, requirements: list[str], extra: list[str] | None = None) -> InstallInfo:
    """``uv pip install`` the requirements into ``venv`` and share torch; never raises on failure."""
    start = time.perf_counter()
    cmd = [uv_bin(), "pip", "install", "--python", str(Path(venv) / "bin" / "python"), *uv_install_args(requirements),
           *(extra or [])]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    offline = offline_requested(extra)
    if proc.returncode != 0:
        return InstallInfo(classify_install_failure(log, offline), time.perf_counter() - start, log[-LOG_TAIL_CHARS:])
    if not wants_own_torch(requirements):
        share_torch(Path(venv))
    return InstallInfo(InstallStatus.OK, time.perf_counter() - start, log[-LOG_TAIL_CHARS:], offline=offline)


def make(venv: Path, python: str | None = None) -> InstallInfo | None:
    """A fresh, empty uv venv at ``venv``; ``None`` when it was made, else why not (status ``error``)."""
    start = time.perf_counter()
    proc = subprocess.run([uv_bin(), "venv", "--quiet", "--clear", "--python", python or sys.executable, str(venv)],
                          capture_output=True, text=True)
    if proc.returncode == 0:
        return None
    log = proc.stdout + proc.stderr
    return InstallInfo(InstallStatus.ERROR, time.perf_counter() - start, log[-LOG_TAIL_CHARS:])

"""The result cache: a cell whose inputs did not change reuses the results of its last complete run.

The key is the sha256 of everything a result depends on, computed inside the cell in well under
a second (distribution metadata and file hashes; nothing is imported):

- every distribution installed in this environment, ``name==version``, the way Python finds them
  (the host's shared torch included);
- the Python implementation, version and machine;
- a hash of every file of the vlmcompat package that runs here (code and data);
- the planned tasks (probe × family × mode, in plan order) and the source file of every
  third-party probe among them;
- the per-task time limit.

A change to any of these runs the cell again. Entries live under
``<cache root>/results/<key>.json`` (:func:`vlmcompat.paths.result_cache_dir`). Only a complete run
whose every result is a verdict (pass, fail, error, skip) is stored: a timeout, a crash or an
interruption may say more about the machine at that moment than about the environment, so such a
run is done again next time. ``vlmcompat probe --fresh`` or ``VLMCOMPAT_CACHE=off`` runs everything
(and stores the fresh results). A reused cell says so: ``cache: {key, reused: true, produced}``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import json
import platform
import re
import sys
from collections.abc import Iterable
from pathlib import Path

from vlmcompat import paths
from vlmcompat.errors import ResultsError
from vlmcompat.results import CacheInfo, CellResult, InstallInfo, RunState, Status, load_cell, write_json_atomic

PACKAGE_DIR = Path(__file__).resolve().parent.parent
VERDICTS = (Status.PASS, Status.FAIL, Status.ERROR, Status.SKIP)


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _name_version(dist) -> tuple[str | None, str | None]:
    """From a ``<name>-<version>.dist-info`` folder's name (what installers write, PEP 427/491) without
    parsing its METADATA; from METADATA otherwise (egg-info, odd names). The metadata parse is ~3 ms a
    distribution: most of a reused cell's key."""
    folder = getattr(getattr(dist, "_path", None), "name", "")
    stem = folder.removesuffix(".dist-info")
    if stem != folder and stem.count("-") == 1:
        name, version = stem.split("-")
        if name and version:
            return name, version
    return dist.metadata["Name"], dist.version


def distributions() -> list[str]:
    """``name==version`` of every distribution this interpreter sees, first on sys.path winning."""
    found: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name, version = _name_version(dist)
        if name and _canon(name) not in found:
            found[_canon(name)] = version
    return [f"{name}=={version}" for name, version in sorted(found.items())]


def _hash_files(files: Iterable[Path], root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.cache
def package_hash(root: Path = PACKAGE_DIR) -> str:
    """A hash of vlmcompat's own files (source and data, not bytecode)."""
    return _hash_files((p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                        and p.suffix not in (".pyc", ".pyo")), root)


def plugin_sources(probe_names: Iterable[str]) -> dict[str, str]:
    """probe name -> hash of its module's file, for probes that are not vlmcompat's own."""
    from vlmcompat import probes

    registry = probes.all_probes()
    out = {}
    for name in sorted(set(probe_names)):
        module = sys.modules.get(getattr(registry[name].run, "__module__", ""), None)
        file = getattr(module, "__file__", None)
        if file and not Path(file).resolve().is_relative_to(PACKAGE_DIR):
            out[name] = hashlib.sha256(Path(file).read_bytes()).hexdigest()
    return out


def key(tasks: Iterable[tuple[str, str, str]], timeout: float) -> str:
    """The cache key of running ``tasks`` (probe, family, mode) here with this time limit."""
    tasks = [list(t) for t in tasks]
    inputs = {
        "distributions": distributions(),
        "python": [platform.python_implementation(), platform.python_version(), platform.machine()],
        "vlmcompat": package_hash(),
        "tasks": tasks,
        "plugins": plugin_sources(t[0] for t in tasks),
        "timeout": timeout,
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def enabled() -> bool:
    return paths.result_cache_enabled()


def entry_path(cache_key: str) -> Path:
    return paths.result_cache_dir() / f"{cache_key}.json"


def lookup(cache_key: str, cell: str, install: InstallInfo) -> CellResult | None:
    """The stored results for ``cache_key`` as this cell's (its name, this run's install), marked reused."""
    path = entry_path(cache_key)
    if not path.is_file():
        return None
    try:
        stored = load_cell(path)
    except ResultsError:
        path.unlink(missing_ok=True)
        return None
    produced = stored.cache.produced if stored.cache else (stored.run.ended if stored.run else "") or ""
    stored.cell, stored.install, stored.later_run = cell, install, None
    stored.cache = CacheInfo(cache_key, reused=True, produced=produced)
    return stored


def storable(result: CellResult) -> bool:
    """A complete run whose every result is a verdict about the environment."""
    complete = result.run is not None and result.run.state is RunState.COMPLETE
    return complete and all(r.status in VERDICTS for r in result.results)


def store(result: CellResult) -> bool:
    """Keep ``result`` for its ``cache.key`` (when :func:`storable`); whether it was stored."""
    if result.cache is None or not storable(result):
        return False
    write_json_atomic(entry_path(result.cache.key), result.to_dict())
    return True

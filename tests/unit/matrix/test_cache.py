"""vlmcompat.matrix.cache: what the key depends on, and what is stored and reused."""

import pytest

from vlmcompat.matrix import cache
from vlmcompat.results import (
    CacheInfo,
    CellResult,
    InstallInfo,
    InstallStatus,
    Mode,
    ProbeResult,
    RunInfo,
    RunState,
    Status,
)

TASKS = [("model-class", "instructblip-t5", "native"), ("model-class", "instructblip-t5", "patched")]


@pytest.fixture
def root(tmp_path, monkeypatch):
    monkeypatch.setenv("VLMCOMPAT_CACHE", str(tmp_path))
    return tmp_path


def _complete(key, *statuses):
    results = [ProbeResult("model-class", "instructblip-t5", Mode(m), s) for m, s in zip(("native", "patched"),
                                                                                           statuses)]
    return CellResult("old-name", install=InstallInfo(InstallStatus.OK, 9.0), results=results,
                      run=RunInfo(RunState.COMPLETE, "2026-01-01T00:00:00+00:00", "2026-01-01T00:01:00+00:00", 2),
                      cache=CacheInfo(key, produced="2026-01-01T00:01:00+00:00"))


def test_the_key_changes_with_every_input(monkeypatch):
    base = cache.key(TASKS, 300)
    assert cache.key(TASKS, 300) == base
    assert cache.key(TASKS[:1], 300) != base
    assert cache.key(TASKS, 30) != base
    installed = cache.distributions()
    monkeypatch.setattr(cache, "distributions", lambda: [*installed, "transformers==9.9"])
    assert cache.key(TASKS, 300) != base
    monkeypatch.undo()
    monkeypatch.setattr(cache, "package_hash", lambda: "another vlmcompat")
    assert cache.key(TASKS, 300) != base


def test_distributions_are_exact_versions():
    found = cache.distributions()
    names = [d.split("==")[0] for d in found]
    assert names == sorted(names) and len(names) == len(set(names)) and all("==" in d for d in found)
    assert any(d.startswith("packaging==") for d in found)


def test_package_hash_covers_the_files(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "a.pyc").write_bytes(b"junk")
    first = cache.package_hash.__wrapped__(tmp_path)
    (tmp_path / "__pycache__" / "a.pyc").write_bytes(b"other junk")
    assert cache.package_hash.__wrapped__(tmp_path) == first
    (tmp_path / "a.py").write_text("x = 2\n")
    assert cache.package_hash.__wrapped__(tmp_path) != first


def test_store_and_reuse(root):
    stored = _complete("k1", Status.PASS, Status.FAIL)
    assert cache.store(stored) and (root / "results" / "k1.json").is_file()
    this_install = InstallInfo(InstallStatus.OK, 0.4)
    reused = cache.lookup("k1", "new-name", this_install)
    assert reused.cell == "new-name" and reused.install == this_install
    assert reused.cache == CacheInfo("k1", reused=True, produced="2026-01-01T00:01:00+00:00")
    assert [r.status for r in reused.results] == [Status.PASS, Status.FAIL]
    assert cache.lookup("k2", "x", this_install) is None


@pytest.mark.parametrize("status", [Status.TIMEOUT, Status.CRASH, Status.INTERRUPTED])
def test_runs_that_depend_on_the_moment_are_not_stored(root, status):
    assert not cache.store(_complete("k", Status.PASS, status))
    unfinished = _complete("k", Status.PASS, Status.PASS)
    unfinished.run.state = RunState.INTERRUPTED
    assert not cache.store(unfinished)
    assert not (root / "results").exists()


def test_cache_off(monkeypatch):
    monkeypatch.setenv("VLMCOMPAT_CACHE", "off")
    assert not cache.enabled()
    assert cache.entry_path("k").parent.name == "results" and "off" not in str(cache.entry_path("k"))


def test_distributions_read_from_folder_names_agree_with_the_metadata():
    import importlib.metadata

    by_metadata: dict[str, str] = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name and cache._canon(name) not in by_metadata:
            by_metadata[cache._canon(name)] = dist.version
    assert cache.distributions() == [f"{n}=={v}" for n, v in sorted(by_metadata.items())]

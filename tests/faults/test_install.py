"""Installs that cannot happen: offline is `network` whatever the resolver says (and never fails the
gate), `newest` resolves against the index, a missing release and unresolvable pins say so."""

import json

import pytest

from tests.faults.conftest import cell_json
from vlmcompat import gate
from vlmcompat.matrix import cell as cells
from vlmcompat.matrix import venv as venvs
from vlmcompat.results import CellResult, InstallInfo, InstallStatus, load_merged

# uv 0.13's own words (captured from `uv pip install`), offline and with the index unreachable.
OFFLINE_NOT_CACHED = """error: No solution found when resolving dependencies
  cause: Because transformers==4.29.1 needs to be downloaded from a registry and you require transformers==4.29.1, \
we can conclude that your requirements are unsatisfiable.

hint: Packages were unavailable because the network was disabled. When the network is disabled, registry packages \
may only be read from the cache."""
OFFLINE_CACHE_LACKS = """error: No solution found when resolving dependencies
  cause: Because packaging was not found in the cache and you require packaging, we can conclude that your \
requirements are unsatisfiable."""
REFUSED = """error: Request failed after 3 retries in 9.9s
  cause: Failed to fetch: http://127.0.0.1:9/simple/packaging/
  cause: tcp connect error
  cause: Connection refused (os error 111)"""
DNS = """  cause: dns error
  cause: failed to lookup address information: Name or service not known"""


@pytest.mark.parametrize("log", [OFFLINE_NOT_CACHED, OFFLINE_CACHE_LACKS, REFUSED, DNS],
                         ids=["offline-not-cached", "cache-lacks", "refused", "dns"])
def test_offline_and_unreachable_are_network(log):
    assert venvs.classify_install_failure(log) is InstallStatus.NETWORK
    assert venvs.classify_install_failure(log, offline=True) is InstallStatus.NETWORK


def test_without_the_network_a_resolver_failure_is_network(monkeypatch):
    unsolvable = "× No solution found when resolving dependencies: ... unsatisfiable"
    assert venvs.classify_install_failure(unsolvable) is InstallStatus.UNRESOLVABLE
    monkeypatch.setenv("UV_OFFLINE", "1")
    assert venvs.offline_requested()
    assert venvs.classify_install_failure(unsolvable, offline=venvs.offline_requested()) is InstallStatus.NETWORK


def test_newest_resolves_against_the_index_first(monkeypatch, tmp_path):
    calls = []

    def pip_install(venv, requirements, extra=None):
        calls.append(list(extra or []))
        if "--offline" in (extra or []):
            return InstallInfo(InstallStatus.OK, 0.1, "Installed 3 packages", offline=True)
        return InstallInfo(InstallStatus.NETWORK, 0.2, "dns error")

    monkeypatch.setattr(venvs, "pip_install", pip_install)
    monkeypatch.setattr(cells, "link_self", lambda venv: None)
    info = cells.install(tmp_path, ["transformers"])
    assert calls == [[], ["--offline"]], "online first; the cache only when the index cannot be reached"
    assert info.status is InstallStatus.OK and info.offline and info.seconds == pytest.approx(0.3)
    assert info.log_tail.startswith("the package index could not be reached; installed from the local cache")
    assert info.to_dict()["offline"] is True


def test_network_never_fails_the_gate_and_offline_installs_are_reported(faults, tmp_path):
    base = CellResult.from_dict(cell_json(tmp_path / "base.json"))
    now = CellResult.from_dict(cell_json(tmp_path / "now.json", install={"status": "network", "log_tail": "dns"},
                                         results=[]))
    report = gate.compare([base], [now])
    assert not report.failed and report.notes == [
        "c: the package index could not be reached; its results were not compared"]
    cells_dir = tmp_path / "cells"
    cell_json(cells_dir / "c.json", install={"status": "ok", "seconds": 2.0, "offline": True})
    md = tmp_path / "compat.md"
    assert faults.report(cells_dir, md, tmp_path / "m.json").returncode == 0
    assert "| ok 2.0s · offline " in md.read_text(encoding="utf-8")
    assert load_merged(tmp_path / "m.json")[0].install.offline


def test_a_network_failure_keeps_the_previous_results(tmp_path):
    out = tmp_path / "cells" / "c.json"
    previous = out.parent / "previous"
    cell_json(out)
    previous.write_bytes(out.read_bytes())
    cells.record_install_failure(out, "c", ["transformers==4.44.0"], InstallInfo(InstallStatus.NETWORK, 9.9, "dns"))
    assert out.read_bytes() == previous.read_bytes()
    later = json.loads((out.parent / ".c.later.json").read_text())
    assert later["install"]["status"] == "network"


@pytest.fixture
def empty_venv(tmp_path):
    venv = tmp_path / "venv"
    if venvs.make(venv) is not None:
        pytest.skip("uv cannot make a venv here")
    return venv


@pytest.mark.slow
def test_uv_offline_is_network_for_real(empty_venv, monkeypatch):
    monkeypatch.setenv("UV_OFFLINE", "1")
    info = cells.install(empty_venv, ["transformers==4.99.0"])
    assert info.status is InstallStatus.NETWORK, info.log_tail
    assert "unsatisfiable" in info.log_tail  # what the resolver says; without the network it means nothing more


@pytest.mark.cells
@pytest.mark.slow
@pytest.mark.network
@pytest.mark.parametrize("requirements, status", [
    (["transformers==4.99.0", "peft==0.16.0"], InstallStatus.NOT_FOUND),
    (["transformers==4.44.0", "tokenizers==0.21.1"], InstallStatus.UNRESOLVABLE),
])
def test_missing_release_and_unresolvable_pins(empty_venv, requirements, status):
    info = cells.install(empty_venv, requirements)
    if info.status is InstallStatus.NETWORK:
        pytest.skip("the package index cannot be reached")
    assert info.status is status, info.log_tail


@pytest.mark.cells
@pytest.mark.slow
@pytest.mark.network
def test_newest_is_the_index_newest(empty_venv):
    import subprocess
    import urllib.request

    try:
        with urllib.request.urlopen("https://pypi.org/pypi/peft/json", timeout=30) as response:
            newest = json.load(response)["info"]["version"]
    except OSError as exc:
        pytest.skip(f"PyPI cannot be reached ({exc})")
    info = cells.install(empty_venv, ["peft", "transformers"])
    assert info.status is InstallStatus.OK and not info.offline, info.log_tail
    out = subprocess.run([str(empty_venv / "bin" / "python"), "-c", "import importlib.metadata as m; "
                          "print(m.version('peft'))"], capture_output=True, text=True, check=True).stdout.strip()
    assert out == newest

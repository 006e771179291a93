"""The ``run`` probe runs the user's command from the current folder, natively and with
``import vlmcompat.patch`` applied by the shim, and records exit status, time and output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from vlmcompat import usercommand
from vlmcompat.paths import PROBES_ENV
from vlmcompat.probes.base import ProbeFailed, ProbeSkipped
from vlmcompat.results import Mode
from vlmcompat.usercommand import probe, shim

SAYS_WHETHER_PATCHED = f'{sys.executable} -c "import sys; print(\'vlmcompat.patch\' in sys.modules)"'


@pytest.fixture
def commands(monkeypatch):
    def given(*cmds: str) -> None:
        monkeypatch.setenv(usercommand.RUN_ENV, json.dumps(list(cmds)))
    return given


def test_native_runs_the_command_as_is_and_patched_imports_the_patch_first(commands, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    commands(SAYS_WHETHER_PATCHED, "pwd")
    native = probe.run("*", Mode.NATIVE)
    assert [r["output_tail"].strip() for r in native["runs"]] == ["False", str(tmp_path)]
    assert native["cwd"] == str(tmp_path)
    patched = probe.run("*", Mode.PATCHED)
    assert patched["runs"][0]["output_tail"].strip() == "True"
    assert all(r["exit"] == 0 for r in patched["runs"])


def test_commands_run_in_the_folder_given(commands, monkeypatch, tmp_path):
    monkeypatch.setenv(usercommand.RUN_DIR_ENV, str(tmp_path))
    commands("pwd")
    assert probe.run("*", Mode.NATIVE)["runs"][0]["output_tail"].strip() == str(tmp_path)


def test_a_failing_command_is_a_fail_with_its_exit_status_and_last_line(commands):
    commands("echo starting; echo 'broken on purpose' >&2; exit 3")
    with pytest.raises(ProbeFailed) as info:
        probe.run("*", Mode.NATIVE)
    assert "exited 3" in str(info.value) and "broken on purpose" in str(info.value)
    assert info.value.metrics["runs"][0]["exit"] == 3
    assert "starting" in info.value.metrics["runs"][0]["output_tail"]


def test_without_a_command_the_probe_skips(monkeypatch):
    monkeypatch.delenv(usercommand.RUN_ENV, raising=False)
    with pytest.raises(ProbeSkipped, match="no command given"):
        probe.run("*", Mode.NATIVE)


def test_enable_registers_the_probe_once_beside_other_plugins():
    env = {PROBES_ENV: "mypkg.probes:P"}
    usercommand.enable(["make test"], env)
    usercommand.enable(["make test"], env)
    assert env[PROBES_ENV] == f"mypkg.probes:P,{usercommand.PROBE_REF}"
    assert usercommand.commands(env) == ["make test"]


def test_the_shim_runs_a_sitecustomize_it_hides(tmp_path):
    own = tmp_path / "own"
    own.mkdir()
    (own / "sitecustomize.py").write_text("import builtins\nbuiltins.OWN_SITECUSTOMIZE = True\n")
    env = shim.patched_env({"PYTHONPATH": str(own), "VLMCOMPAT_NO_AUTOPATCH": "1", "PATH": "/usr/bin:/bin"},
                           shim.install(tmp_path / "shim"))
    assert "VLMCOMPAT_NO_AUTOPATCH" not in env
    out = subprocess.run([sys.executable, "-c", "import sys, builtins; print('vlmcompat.patch' in sys.modules, "
                          "getattr(builtins, 'OWN_SITECUSTOMIZE', False))"], env=env, capture_output=True, text=True)
    assert out.stdout.split() == ["True", "True"], out.stderr[-2000:]

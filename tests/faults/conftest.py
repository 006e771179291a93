"""The fault suite: each fault is injected for real and the exact outcome asserted (the status
recorded, the one-line message, nothing lost, no process left behind).

Faults come from third-party probes registered through ``VLMCOMPAT_PROBES`` (a probe that hangs,
segfaults, exits hard, or kills the probe command itself), from files written wrong on purpose,
and from signals sent to real processes. Every process a test starts carries a marker in its
environment; :func:`left_behind` finds any that still run, by that marker only.

Fast tests run ``vlmcompat probe`` with ``VLMCOMPAT_PRELOAD=`` (the worker imports no torch);
those that build cells are marked ``cells`` and ``slow``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBES = textwrap.dedent('''
    import os, signal, time
    from vlmcompat.probes.base import Probe, Scope
    from vlmcompat.results import Mode

    def _ok(family, mode):
        return {"answer": 42}

    def _hang(family, mode):
        time.sleep(600)

    def _segv(family, mode):
        os.kill(os.getpid(), signal.SIGSEGV)

    def _exit(family, mode):
        os._exit(3)

    def _kill_command(family, mode):  # the worker's parent is the probe command
        time.sleep(1)  # let the probe command record the results before this one (it reads them as they come)
        os.kill(os.getppid(), signal.SIGKILL)
        time.sleep(600)

    def _state(family, mode):
        """What a native task must see as the stock libraries have it (patch leaks)."""
        out = {}
        try:
            from transformers.models.auto.configuration_auto import CONFIG_MAPPING
            out["instructblip_in_config_mapping"] = "instructblip" in CONFIG_MAPPING
        except Exception as exc:
            out["config_mapping"] = type(exc).__name__
        try:
            from transformers import Trainer  # noqa: F401
            out["trainer_imports"] = True
        except Exception as exc:
            out["trainer_imports"] = False
            out["trainer_error"] = str(exc).splitlines()[0][:200]
        return out

    ENV, NATIVE = Scope.ENVIRONMENT, (Mode.NATIVE,)  # native only: no patch is applied (that imports transformers)
    OK = Probe("f-ok", "passes", _ok, scope=ENV, modes=NATIVE)
    HANG = Probe("f-hang", "hangs", _hang, scope=ENV, modes=NATIVE)
    SEGV = Probe("f-segv", "segfaults", _segv, scope=ENV, modes=NATIVE)
    EXIT = Probe("f-exit", "exits hard", _exit, scope=ENV, modes=NATIVE)
    KILL = Probe("f-kill", "kills the probe command", _kill_command, scope=ENV, modes=NATIVE)
    STATE_FIRST = Probe("f-state-first", "reports library state, native and patched", _state, scope=ENV)
    STATE = Probe("f-state", "reports library state, native and patched", _state, scope=ENV)
''')
NAMES = ("OK", "HANG", "SEGV", "EXIT", "KILL", "STATE_FIRST", "STATE")


class Faults:
    """Runs vlmcompat commands with the fault probes registered and a marker in the environment."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.marker = uuid.uuid4().hex
        (tmp / "plugins").mkdir()
        (tmp / "plugins" / "fault_probes.py").write_text(PROBES)
        self.cache = tmp / "cache"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env.update(PYTHONPATH=f"{self.tmp / 'plugins'}{os.pathsep}{ROOT}",
                   VLMCOMPAT_PROBES=",".join(f"fault_probes:{n}" for n in NAMES),
                   VLMCOMPAT_CACHE=str(self.cache), VLMCOMPAT_PRELOAD="", VLMCOMPAT_FAULT_MARKER=self.marker,
                   PYTHONUNBUFFERED="1")
        env.update(extra)
        return env

    def popen(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
              python: str = sys.executable) -> subprocess.Popen:
        """A command in its own process group, with SIGINT handled (background jobs may inherit it ignored)."""
        return subprocess.Popen([python, *args], cwd=cwd or ROOT, env=env or self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))

    def run(self, *args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess:
        proc = self.popen(*args, **kwargs)
        out, err = proc.communicate(timeout=timeout)
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def vlmcompat(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return self.run("-m", "vlmcompat", *args, **kwargs)

    def report(self, cells: Path, md: Path, merged: Path, *args: str) -> subprocess.CompletedProcess:
        return self.vlmcompat("report", str(cells), "--md", str(md), "--json", str(merged), *args)

    def left_behind(self) -> list[str]:
        """Command lines of processes still running with this test's marker."""
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == os.getpid():
                continue
            try:
                if f"VLMCOMPAT_FAULT_MARKER={self.marker}".encode() in (proc / "environ").read_bytes():
                    state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
                    if state != "Z":
                        found.append((proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:200])
            except OSError:
                continue
        return found

    def wait_for(self, predicate, timeout: float = 300, what: str = "") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.2)
        raise AssertionError(f"gave up waiting for {what or predicate}")

    def gone(self, timeout: float = 15) -> list[str]:
        """Wait until nothing with the marker runs (or ``timeout``); what still runs."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.left_behind():
            time.sleep(0.2)
        return self.left_behind()


@pytest.fixture
def faults(tmp_path):
    f = Faults(tmp_path)
    yield f
    _kill_marked(f)  # never leave anything running, whatever the test asserted


def _kill_marked(f: Faults) -> None:
    """SIGKILL the processes this test started (found by its marker, never by name)."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if f"VLMCOMPAT_FAULT_MARKER={f.marker}".encode() in (proc / "environ").read_bytes():
                os.kill(int(proc.name), signal.SIGKILL)
        except OSError:
            continue


def cell_json(path: Path, **changes) -> dict:
    data = {"schema_version": 1, "cell": "c", "versions": {"transformers": "4.44.0"},
            "install": {"status": "ok", "seconds": 1.0, "log_tail": ""},
            "results": [{"probe": "f-ok", "family": "*", "mode": "native", "status": "pass", "issue": None,
                         "error": None, "metrics": {}, "seconds": 0.1, "reason": None}]}
    data.update(changes)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return data

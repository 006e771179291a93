import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vlmcompat import matrix
from vlmcompat.results import InstallStatus, Status, load_cell, load_merged

ROOT = Path(__file__).resolve().parent.parent
needs_nox_uv = pytest.mark.skipif(shutil.which("uv") is None or shutil.which("nox") is None,
                                  reason="nox and uv are needed on PATH (pip install nox uv)")


def nox(*args: str, env: dict[str, str] | None = None, timeout: float = 150) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nox", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


@pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not on PATH")
def test_nox_lists_one_matrix_session_per_cell():
    proc = nox("-l")
    assert proc.returncode == 0, proc.stderr
    for name in matrix.load(ROOT / "matrix.toml").names:
        assert f"matrix({name})" in proc.stdout
    for session in ("report", "gate", "tests"):
        assert f" {session} " in proc.stdout


@needs_nox_uv
@pytest.mark.cells
@pytest.mark.slow
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_matrix_end_to_end_with_a_failing_install(tmp_path, jobs):
    """A real cell (newest stack, one probe) next to a cell that cannot be installed: the matrix
    succeeds, the bad cell is recorded as not-found, the report shows both."""
    toml = tmp_path / "matrix.toml"
    toml.write_text('[[cell]]\ntransformers = "4.99.0"\npeft = "0.16.0"\n\n'
                    '[[cell]]\nname = "newest"\ntransformers = "newest"\ntokenizers = "newest"\npeft = "newest"\n')
    reports = tmp_path / "reports"
    proc = nox("-s", "matrix", "-j", jobs, "--envdir", str(tmp_path / ".nox"), "--",
               "--probe", "model-class", "--family", "instructblip-t5",
               env={"VLMCOMPAT_MATRIX": str(toml), "VLMCOMPAT_REPORTS": str(reports)})
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-3000:]

    bad = load_cell(reports / "cells" / "t4.99.0-peft0.16.0.json")
    assert bad.install.status is InstallStatus.NOT_FOUND and bad.results == []
    good = load_cell(reports / "cells" / "newest.json")
    assert good.install.status is InstallStatus.OK
    assert {(r.probe, r.family, r.mode.value) for r in good.results} == \
        {("model-class", "instructblip-t5", "native"), ("model-class", "instructblip-t5", "patched")}
    assert all(r.status is Status.PASS for r in good.results)

    merged = load_merged(reports / "compat.json")
    assert [c.cell for c in merged] == ["t4.99.0-peft0.16.0", "newest"]
    md = (reports / "compat.md").read_text(encoding="utf-8")
    assert "| t4.99.0-peft0.16.0 " in md and "🚫 not-found" in md and "✅ → ✅" in md

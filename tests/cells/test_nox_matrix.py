"""`nox -s matrix` end to end: a real cell (newest stack, one probe) next to a cell that cannot be
installed."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vlmcompat.results import InstallStatus, Status, load_cell, load_merged

pytestmark = [pytest.mark.cells, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


def nox(*args: str, env: dict[str, str] | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nox", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_matrix_end_to_end_with_a_failing_install(uv, tmp_path, jobs):
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

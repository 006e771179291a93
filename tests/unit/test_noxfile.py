"""The noxfile: one matrix(<cell>) session per cell of matrix.toml; a bad matrix.toml is one line
and the sessions that do not need it still run."""

import os
import subprocess
import sys
from pathlib import Path

from vlmcompat import matrix

ROOT = Path(__file__).resolve().parents[2]


def nox(*args: str, env: dict[str, str] | None = None, timeout: float = 150) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "nox", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def test_nox_lists_one_matrix_session_per_cell():
    proc = nox("-l")
    assert proc.returncode == 0, proc.stderr
    for name in matrix.load(ROOT / "matrix.toml").names:
        assert f"matrix({name})" in proc.stdout
    for session in ("report", "gate", "tests"):
        assert f" {session} " in proc.stdout


def test_a_bad_matrix_is_one_line_and_the_other_sessions_stay(tmp_path):
    bad = tmp_path / "matrix.toml"
    bad.write_text('[[cell]]\ntranformers = "4.44.0"\n')
    proc = nox("-l", env={"VLMCOMPAT_MATRIX": str(bad)})
    assert proc.returncode == 0, proc.stderr
    assert f"nox: {bad}:2: unknown key 'tranformers'" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert " report " in proc.stdout and " tests " in proc.stdout
    run = nox("-s", "matrix", env={"VLMCOMPAT_MATRIX": str(bad)})
    assert run.returncode != 0 and "unknown key 'tranformers'" in run.stderr and "Traceback" not in run.stderr

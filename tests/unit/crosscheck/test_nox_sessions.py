"""The noxfile lists a crosscheck_write(<cell>) and a crosscheck(<cell>) session per matrix cell."""

import subprocess
import sys
from pathlib import Path

from vlmcompat import matrix

ROOT = Path(__file__).resolve().parents[3]


def test_nox_lists_the_crosscheck_sessions_of_every_cell():
    proc = subprocess.run([sys.executable, "-m", "nox", "-l"], cwd=ROOT, capture_output=True, text=True, timeout=150)
    assert proc.returncode == 0, proc.stderr
    for name in matrix.load(ROOT / "matrix.toml").names:
        assert f"crosscheck({name})" in proc.stdout and f"crosscheck_write({name})" in proc.stdout

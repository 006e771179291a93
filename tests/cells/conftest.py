"""Real cells: uv venvs with other library versions, built the way the product builds them
(:func:`vlmcompat.matrix.cell.build`: torch shared from the host, vlmcompat linked in, cached
under ``$VLMCOMPAT_CACHE`` by requirements). Every module here marks its tests ``cells`` and
``slow`` (``pytestmark``).

A cell that cannot be built is a skip that says why (uv missing, the index unreachable, a
release gone), never a silent pass.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from vlmcompat.matrix import cell as cells
from vlmcompat.matrix import venv as venvs
from vlmcompat.results import CellResult, InstallStatus, ProbeResult

REPO = Path(__file__).resolve().parents[2]


class Cell:
    """A built cell: run Python in it, or the probes."""

    def __init__(self, venv: Path, requirements: list[str]):
        self.venv, self.requirements = venv, requirements
        self.python = venv / "bin" / "python"

    def env(self, **extra: str) -> dict[str, str]:
        """This process's environment without anything that would import the host's packages."""
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
        env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_VERBOSITY="error", **extra)
        return env

    def run(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            timeout: float = 900) -> subprocess.CompletedProcess:
        return subprocess.run([str(self.python), *args], capture_output=True, text=True, cwd=cwd or REPO,
                              env=env or self.env(), timeout=timeout)

    def run_json(self, *args: str, **kwargs: Any) -> Any:
        """Run and parse the last line of stdout as JSON (the process must succeed)."""
        proc = self.run(*args, **kwargs)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def probe(self, out_dir: Path, probes: list[str], families: list[str] = (), name: str = "cell",
              timeout: float = 600) -> dict[tuple[str, str, str], ProbeResult]:
        """``vlmcompat probe`` in the cell (the product's own command); results by (probe, family, mode)."""
        result: CellResult = cells.run_probe(self.venv, name, Path(out_dir) / f"{name}.json", families, probes,
                                             timeout=timeout)
        return {r.key: r for r in result.results}


@pytest.fixture(scope="session")
def uv() -> str:
    """uv, found as the product finds it (``$UV``, the uv package, PATH); skip saying why if it cannot run."""
    found = venvs.uv_bin()
    try:
        subprocess.run([found, "--version"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"uv cannot be run ({found}: {exc}); cells need it: pip install uv")
    return found


@pytest.fixture(scope="session")
def cell(uv):
    """``cell(*requirements)`` -> a built :class:`Cell` (reused across tests and runs)."""

    def build(*requirements: str) -> Cell:
        venv, info = cells.build(list(requirements))
        if info.status is not InstallStatus.OK:
            last = next((ln for ln in reversed(info.log_tail.strip().splitlines()) if ln.strip()), "")
            pytest.skip(f"cannot build a cell with {' '.join(requirements)}: install {info.status.value}: {last}")
        return Cell(venv, list(requirements))

    return build

"""Installing real cells the product's way: failures classified from uv's own answer, torch
shared from the host, vlmcompat linked in."""

import os
import subprocess
from pathlib import Path

import pytest

from vlmcompat.matrix import cell as cells
from vlmcompat.matrix import venv as venvs
from vlmcompat.results import InstallStatus

pytestmark = [pytest.mark.cells, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def empty_venv(tmp_path, cell):  # `cell` checks that uv can be run
    venv = tmp_path / "venv"
    assert venvs.make(venv) is None
    return venv


@pytest.mark.parametrize("requirements, status", [
    (["transformers==4.99.0", "peft==0.16.0"], InstallStatus.NOT_FOUND),
    (["transformers==4.44.0", "tokenizers==0.21.1"], InstallStatus.UNRESOLVABLE),
])
def test_install_failures_are_classified_for_real(empty_venv, requirements, status):
    info = cells.install(empty_venv, requirements)
    if info.status is InstallStatus.NETWORK:
        pytest.skip("the package index cannot be reached")
    assert info.status is status, info.log_tail
    assert "No solution found" in info.log_tail
    assert not (venvs.site_packages(empty_venv) / "vlmcompat").exists()


def test_install_shares_torch_and_links_vlmcompat(empty_venv, tmp_path):
    info = cells.install(empty_venv, ["transformers==4.44.0", "tokenizers==0.19.1", "peft==0.16.0"])
    assert info.status is InstallStatus.OK, info.log_tail
    code = ("import os, torch, transformers, vlmcompat.matrix; "
            "print(transformers.__version__, os.path.realpath(vlmcompat.matrix.__file__))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([str(empty_venv / "bin" / "python"), "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path, env=env).stdout
    assert out.startswith("4.44.0 ") and str(ROOT / "vlmcompat") in out

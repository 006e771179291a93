import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vlmcompat import matrix, matrix_cell
from vlmcompat.results import InstallInfo, InstallStatus, Status, load_cell

ROOT = Path(__file__).resolve().parent.parent
needs_uv = pytest.mark.skipif(shutil.which("uv") is None, reason="uv is not on PATH (pip install uv)")


def cell(text: str) -> matrix.Cell:
    return matrix.parse(text).cells[0]


def test_probe_args_pass_the_cell_and_posargs():
    c = cell('[[cell]]\nname = "x"\ntransformers = "4.44.0"\n')
    args = matrix_cell.probe_args(c, Path("reports/cells/x.json"), 0.4567, ["--probe", "model-class"])
    assert args == ["-m", "vlmcompat", "probe", "--json", "reports/cells/x.json", "--cell", "x",
                    "--install-seconds", "0.457", "--probe", "model-class"]


def test_probe_env_writes_bytecode_outside_every_tree(tmp_path):
    env = matrix_cell.probe_env(tmp_path)
    assert env == {"PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(tmp_path / "pycache")}


def test_install_failure_record(tmp_path):
    c = cell('[[cell]]\ntransformers = "4.99.0"\npeft = "0.16.0"\n')
    info = InstallInfo(InstallStatus.NOT_FOUND, 1.25, "× No solution found\nthere is no version of transformers==4.99.0")
    out = tmp_path / "cells" / f"{c.name}.json"
    matrix_cell.record_install_failure(out, c, info)
    back = load_cell(out)
    assert back.cell == "t4.99.0-peft0.16.0" and back.results == []
    assert back.install.status is InstallStatus.NOT_FOUND and "4.99.0" in back.install.log_tail
    assert back.versions["transformers"] == "4.99.0" and back.versions["tokenizers"] is None
    assert "install not-found after 1.2s" in matrix_cell.describe_failure(c, info)


def test_missing_results_become_a_crash_record(tmp_path):
    c = cell('[[cell]]\nname = "x"\ntransformers = "4.44.0"\n')
    out = tmp_path / "x.json"
    info = InstallInfo(InstallStatus.OK, 0.3, "")
    recorded = matrix_cell.record_missing_results(out, c, info)
    assert recorded is not None
    (crash,) = load_cell(out).results
    assert crash.status is Status.CRASH and crash.probe == matrix_cell.CRASH_PROBE and "no such file" in crash.reason


def test_existing_results_are_kept(tmp_path):
    c = cell('[[cell]]\nname = "x"\ntransformers = "4.44.0"\n')
    out = tmp_path / "x.json"
    data = {"schema_version": 1, "cell": "x", "versions": {}, "install": {"status": "ok"},
            "results": [{"probe": "model-class", "family": "instructblip-t5", "mode": "native", "status": "pass"}]}
    out.write_text(json.dumps(data))
    assert matrix_cell.record_missing_results(out, c, InstallInfo(InstallStatus.OK)) is None
    assert load_cell(out).results[0].probe == "model-class"
    matrix_cell.prepare(out)
    assert not out.exists()


def test_link_source_makes_vlmcompat_importable(tmp_path):
    venv = tmp_path / "venv"
    (venv / "lib" / "python3.11" / "site-packages").mkdir(parents=True)
    link = matrix_cell.link_source(venv, ROOT)
    assert link.is_symlink() and (link / "matrix_cell.py").is_file()
    assert matrix_cell.link_source(venv, ROOT) == link  # idempotent


@needs_uv
@pytest.mark.cells
@pytest.mark.slow
@pytest.mark.parametrize("requirements, status", [
    (["transformers==4.99.0", "peft==0.16.0"], InstallStatus.NOT_FOUND),
    (["transformers==4.44.0", "tokenizers==0.21.1"], InstallStatus.UNRESOLVABLE),
])
def test_install_failures_are_classified_for_real(tmp_path, requirements, status):
    venv = tmp_path / "venv"
    subprocess.run(["uv", "venv", "--quiet", str(venv)], check=True)
    info = matrix_cell.install(venv, matrix.Cell("bad", requirements))
    assert info.status is status, info.log_tail
    assert "No solution found" in info.log_tail
    assert not (matrix_cell.cells.site_packages(venv) / "vlmcompat").exists()


@needs_uv
@pytest.mark.cells
@pytest.mark.slow
def test_install_shares_torch_and_links_vlmcompat(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run(["uv", "venv", "--quiet", str(venv)], check=True)
    info = matrix_cell.install(venv, matrix.Cell("ok", ["transformers==4.44.0", "tokenizers==0.19.1", "peft==0.16.0"]))
    assert info.status is InstallStatus.OK, info.log_tail
    code = ("import os, torch, transformers, vlmcompat.matrix; "
            "print(transformers.__version__, os.path.realpath(vlmcompat.matrix.__file__))")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, check=True,
                         cwd=tmp_path, env=env).stdout
    assert out.startswith("4.44.0 ") and str(ROOT / "vlmcompat") in out

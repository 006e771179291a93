"""How fast is a matrix cell? Side by side, same pins, warm caches.

    python benchmarks/cells.py                 # cell creation: vlmcompat's way vs nox's default way
    python benchmarks/cells.py --bytecode      # compile bytecode at install, lazily, or never

The whole matrix (cold, warm, reused, one cell the pip way, the import floor) is
``benchmarks/matrix.py``.

*vlmcompat's way*: ``uv venv`` + :func:`vlmcompat.matrix.cell.install` (uv ``--offline`` first,
torch shared from the host, vlmcompat linked). *nox's default way*: ``virtualenv`` + ``pip
install torch==2.13.0 <pins>`` (pip finds the local torch wheel; its cache is warm after the
first round). Each way runs once to warm its caches, then ``--repeat`` times; the table shows
the median.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vlmcompat import paths  # noqa: E402
from vlmcompat.matrix import cell as cells  # noqa: E402
from vlmcompat.matrix import venv as venvs  # noqa: E402
from vlmcompat.results import InstallStatus  # noqa: E402

PINS = ["transformers==4.44.0", "tokenizers==0.19.1", "peft==0.16.0"]
HOST_TORCH = "torch==2.13.0"
IMPORTS = ("import torch, transformers, peft; from transformers import InstructBlipForConditionalGeneration, "
           "T5ForConditionalGeneration, LlamaForCausalLM; from peft import get_peft_model, LoraConfig")


def timed(fn, *args, **kwargs) -> float:
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def check(cmd: list[str], env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(cmd[:4])} ... failed:\n{(proc.stdout + proc.stderr)[-2000:]}")


def vlmcompat_way(venv: Path) -> None:
    check(["uv", "venv", "--quiet", "--clear", str(venv)])
    info = cells.install(venv, PINS)
    if info.status is not InstallStatus.OK:
        sys.exit(f"install failed: {info.status.value}: {info.log_tail[-500:]}")


def pip_way(venv: Path) -> None:
    shutil.rmtree(venv, ignore_errors=True)
    check([sys.executable, "-m", "virtualenv", "--quiet", str(venv)])
    check([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", HOST_TORCH, *PINS, "-e", str(ROOT)])


def bench_creation(repeat: int, skip_pip: bool) -> None:
    rows = []
    with tempfile.TemporaryDirectory(prefix="vlmcompat-bench-") as tmp:
        ways = [("uv + shared torch (vlmcompat)", vlmcompat_way)]
        if not skip_pip:
            ways.append(("virtualenv + pip, torch per cell (nox default)", pip_way))
        for label, way in ways:
            venv = Path(tmp) / label.split()[0]
            cold = timed(way, venv)
            warm = [timed(way, venv) for _ in range(repeat)]
            rows.append([label, f"{cold:.2f}", f"{statistics.median(warm):.2f}", f"{min(warm):.2f}"])
    if len(rows) == 2:
        ratio = float(rows[1][2]) / float(rows[0][2])
        rows.append(["speed-up (median warm)", "", f"{ratio:.0f}×", ""])
    print(f"cell creation, pins: {' '.join(PINS)} ({repeat} warm runs)")
    print(tabulate(rows, ["way", "first run s", "warm median s", "warm min s"], tablefmt="github"))


def bench_bytecode(processes: int) -> None:
    """Install time + ``processes`` probe-like imports, for three bytecode strategies."""
    rows = []
    base_env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    with tempfile.TemporaryDirectory(prefix="vlmcompat-bytecode-") as tmp:
        for label in ("never (PYTHONDONTWRITEBYTECODE=1)", "at install (--compile-bytecode)", "lazily (probe_env)"):
            venv = Path(tmp) / label.split()[0]
            check(["uv", "venv", "--quiet", "--clear", str(venv)])
            extra = ["--compile-bytecode"] if label.startswith("at install") else []
            reqs = [*PINS, *paths.RUNTIME_REQUIREMENTS]
            install = timed(venvs.pip_install, venv, reqs, extra=["--offline", *extra])
            env = dict(base_env)
            if label.startswith("lazily"):
                env.update(cells.probe_env(), PYTHONPYCACHEPREFIX=str(Path(tmp) / "cache" / "pycache"))
            imports = [timed(check, [str(venv / "bin" / "python"), "-c", IMPORTS], env=env)
                       for _ in range(processes)]
            total = install + sum(imports)
            rows.append([label, f"{install:.2f}", f"{imports[0]:.2f}", f"{statistics.median(imports[1:]):.2f}",
                         f"{total:.1f}"])
    print(f"bytecode: install + {processes} processes importing torch/transformers/peft")
    print(tabulate(rows, ["bytecode", "install s", "1st import s", "later imports s", "total s"],
                   tablefmt="github"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-pip", action="store_true", help="skip the pip way (slow: copies torch)")
    parser.add_argument("--bytecode", action="store_true", help="compare bytecode strategies instead")
    parser.add_argument("--processes", type=int, default=4, help="probe-like processes for --bytecode")
    args = parser.parse_args()
    if shutil.which("uv") is None:
        sys.exit("uv is not on PATH; pip install uv")
    if args.bytecode:
        bench_bytecode(args.processes)
    else:
        bench_creation(args.repeat, args.no_pip)


if __name__ == "__main__":
    main()

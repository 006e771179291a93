"""The default matrix four ways, side by side in one run, against the floor.

    python benchmarks/matrix.py                      # everything: about an hour on 2 busy cores
    python benchmarks/matrix.py --skip cold,pip      # warm, reused and the floor only
    python benchmarks/matrix.py --skip cold,pip --uv-cache ~/.cache/uv   # ... with uv's cache already warm
    python benchmarks/matrix.py --matrix other.toml --jobs 1 --json out.json

- **cold**: ``nox -s matrix -j J`` with an empty uv cache (a temporary ``UV_CACHE_DIR``) and an
  empty vlmcompat cache (shared-torch links, bytecode, results), every probe run (``--fresh``);
- **warm**: the same again: uv and bytecode caches warm, results not reused (``--fresh``);
- **reused**: the same again with nothing changed: every cell reuses its results;
- **one cell, nox + virtualenv + pip** (nox's default way: torch installed into the cell, from
  pip's local wheel) against the same cell the vlmcompat way, warm, install plus probes;
- **floor**: ``import torch, transformers, peft`` once in every cell's venv (what no matrix run
  can avoid), summed, and divided by J for a J-way run.

It never touches ``reports/``: every run writes to a temporary folder. It is not a test: CI does
not run it (it refuses to under ``CI=true`` unless given ``--force``). The warm run's cells are
also gated against the committed ``reports/compat.json`` (every verdict should be unchanged).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vlmcompat import matrix as matrices  # noqa: E402
from vlmcompat import paths  # noqa: E402
from vlmcompat.matrix import cell as cells  # noqa: E402

FLOOR = "import time; t = time.perf_counter(); import torch, transformers\ntry:\n    import peft\nexcept Exception:\n" \
        "    pass\nprint(time.perf_counter() - t)"
PIP_CELL = "t4.44.0-tok0.19.1-peft0.16.0"
HOST_TORCH = "torch==2.13.0"


class Bench:
    def __init__(self, tmp: Path, matrix: Path, jobs: int, probe_args: list[str],
                 uv_cache: Path | None = None):
        self.tmp, self.matrix, self.jobs, self.probe_args = tmp, matrix, jobs, probe_args
        self.names = matrices.load(matrix).names
        self.env = {**os.environ, "UV_CACHE_DIR": str(uv_cache or tmp / "uv-cache"),
                    "VLMCOMPAT_CACHE": str(tmp / "cache"), "VLMCOMPAT_MATRIX": str(matrix),
                    "VLMCOMPAT_REPORTS": str(tmp / "reports")}

    def nox(self, label: str, *args: str) -> float:
        log = self.tmp / f"{label}.log"
        start = time.perf_counter()
        with open(log, "w") as fh:
            proc = subprocess.run([sys.executable, "-m", "nox", "--envdir", str(self.tmp / "nox"), *args],
                                  cwd=ROOT, env=self.env, stdout=fh, stderr=subprocess.STDOUT)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            sys.exit(f"{label}: nox exited {proc.returncode}; the log is {log}:\n{log.read_text()[-3000:]}")
        print(f"{label}: {seconds:.1f} s", flush=True)
        return seconds

    def matrix_run(self, label: str, fresh: bool) -> float:
        return self.nox(label, "-s", "matrix", "-j", str(self.jobs), "--", *(["--fresh"] if fresh else []),
                        *self.probe_args)

    def floor(self) -> list[float]:
        """Seconds to import torch + transformers + peft once in each cell's venv (bytecode cached)."""
        env = {k: v for k, v in self.env.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env.update(cells.probe_env())
        env["PYTHONPYCACHEPREFIX"] = str(self.tmp / "cache" / "pycache")
        seconds = []
        venvs = sorted((self.tmp / "nox").glob("matrix-*/bin/python"))  # nox's names: one per cell
        if len(venvs) != len(self.names):
            sys.exit(f"floor: {len(venvs)} cell venvs in {self.tmp / 'nox'}, {len(self.names)} cells in the matrix")
        for python in venvs:
            out = subprocess.run([str(python), "-c", FLOOR], capture_output=True, text=True, env=env, cwd=self.tmp)
            if out.returncode != 0:
                sys.exit(f"floor: {python} failed: {out.stderr[-1000:]}")
            seconds.append(float(out.stdout.strip().splitlines()[-1]))
        return seconds

    def uv_cell(self) -> float:
        return self.nox("uv-cell", "-s", f"matrix({PIP_CELL})", "--", "--fresh", *self.probe_args)

    def pip_cell(self) -> float:
        """nox's default way for one cell: virtualenv, pip install torch + pins + vlmcompat, the probes."""
        spec = matrices.load(self.matrix).get(PIP_CELL)
        venv = self.tmp / "pip-cell"
        out = self.tmp / "pip-reports" / f"{PIP_CELL}.json"
        env = {k: v for k, v in self.env.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        env["VLMCOMPAT_CACHE"] = str(self.tmp / "pip-cache")
        start = time.perf_counter()
        for cmd in ([sys.executable, "-m", "virtualenv", "--quiet", str(venv)],
                    [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", HOST_TORCH, *spec.requirements,
                     "-e", str(ROOT)],
                    cells.probe_command(venv / "bin" / "python", PIP_CELL, out, extra=["--fresh", *self.probe_args])):
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
            if proc.returncode != 0:
                sys.exit(f"pip cell: {' '.join(map(str, cmd[:4]))} ... exited {proc.returncode}:\n"
                         f"{(proc.stdout + proc.stderr)[-2000:]}")
        seconds = time.perf_counter() - start
        print(f"pip-cell: {seconds:.1f} s", flush=True)
        return seconds

    def gate(self) -> str:
        proc = subprocess.run([sys.executable, "-m", "vlmcompat", "gate", "--baseline", "reports/compat.json",
                               "--results", str(self.tmp / "reports" / "cells"), "--matrix", str(self.matrix)],
                              capture_output=True, text=True, cwd=ROOT, env=self.env)
        first = (proc.stdout.strip().splitlines() or [proc.stderr.strip()])[0]
        return f"exit {proc.returncode}: {first}"


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.3g}" if a and b else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matrix", default=str(ROOT / paths.MATRIX_FILE))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--skip", default="", help="comma-separated: cold, pip")
    parser.add_argument("--uv-cache", metavar="DIR", help="uv's cache for every run (default: a new, empty one; "
                        "with --skip cold, pass a warm one so that the warm run is warm)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures here")
    parser.add_argument("--keep", metavar="DIR", help="work in DIR and keep it (logs, reports, venvs)")
    parser.add_argument("--force", action="store_true", help="run even under CI=true")
    parser.add_argument("--probe-args", default="", metavar="ARGS",
                        help="more `vlmcompat probe` arguments, for a quick trial (e.g. '--probe model-class')")
    args = parser.parse_args()
    if os.environ.get("CI") == "true" and not args.force:
        sys.exit("benchmarks/matrix.py takes about an hour; not under CI (pass --force to run it anyway)")
    if shutil.which("uv") is None:
        sys.exit("uv is not on PATH; pip install uv")
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="vlmcompat-matrix-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    bench = Bench(tmp, Path(args.matrix).resolve(), args.jobs, args.probe_args.split(),
                  Path(args.uv_cache).expanduser() if args.uv_cache else None)
    figures: dict[str, float | str | None] = {"cells": len(bench.names), "jobs": args.jobs,
                                              "date": time.strftime("%Y-%m-%d %H:%M")}
    figures["cold_s"] = None if "cold" in skip else bench.matrix_run("cold", fresh=True)
    figures["warm_s"] = bench.matrix_run("warm", fresh=True)
    figures["gate_vs_committed"] = bench.gate()
    figures["reused_s"] = bench.matrix_run("reused", fresh=False)
    floor = bench.floor()
    figures["floor_sum_s"] = sum(floor)
    figures["floor_per_job_s"] = sum(floor) / args.jobs
    figures["floor_max_cell_s"] = max(floor)
    if "pip" not in skip:
        figures["uv_cell_s"] = bench.uv_cell()
        figures["pip_cell_s"] = bench.pip_cell()
    rows = [
        ["cold (empty uv cache, every probe run)", figures["cold_s"], ratio(figures["cold_s"], figures["warm_s"])],
        ["warm (uv cache, no result cache)", figures["warm_s"], "1"],
        ["reused (nothing changed)", figures["reused_s"], ratio(figures["reused_s"], figures["warm_s"])],
        [f"floor: import torch+transformers+peft in {len(floor)} cells, summed", figures["floor_sum_s"],
         ratio(figures["floor_sum_s"], figures["warm_s"])],
        [f"floor per job (summed / {args.jobs})", figures["floor_per_job_s"],
         ratio(figures["floor_per_job_s"], figures["warm_s"])],
        [f"one cell {PIP_CELL}, vlmcompat way (nox + uv, torch shared)", figures.get("uv_cell_s"), ""],
        ["the same cell, nox + virtualenv + pip (torch per cell)", figures.get("pip_cell_s"),
         ratio(figures.get("pip_cell_s"), figures.get("uv_cell_s")) + " × the vlmcompat way"],
    ]
    print(f"\n{len(bench.names)} cells, nox -s matrix -j {args.jobs}, {figures['date']}; work dir {tmp}")
    print(tabulate([[r[0], f"{r[1]:.1f}" if isinstance(r[1], float) else "-", r[2]] for r in rows],
                   ["run", "wall s", "× warm"], tablefmt="github"))
    print(f"warm / floor summed: {ratio(figures['warm_s'], figures['floor_sum_s'])}; warm / floor per job: "
          f"{ratio(figures['warm_s'], figures['floor_per_job_s'])}; warm / reused: "
          f"{ratio(figures['warm_s'], figures['reused_s'])}")
    print(f"gate, warm cells against the committed reports/compat.json: {figures['gate_vs_committed']}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    if not args.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()

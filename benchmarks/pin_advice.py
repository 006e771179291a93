"""Measure which transformers releases each peft release imports and trains with.

For every peft release given, one uv cell (torch shared from the host) is re-pinned to
``peft==P transformers==T`` for a series of transformers releases T (the newest patch of each
minor 4.27 ... 5.23), and ``vlmcompat/peft_smoke.py --train`` runs in it: ``import peft``,
``from transformers import Trainer``, and one LoRA optimizer step on a tiny T5 (SEQ_2_SEQ_LM)
and a tiny LLaMA (CAUSAL_LM). A combination *works* when all of that passes.

The boundaries are found by bisection, assuming the working transformers releases of one peft
release form one contiguous run: starting from an anchor T that works, bisect below it for
the oldest that works, below that for the oldest that *imports*, and above it for the newest
that works; then the ``.0`` patch of each boundary minor is checked too (the table gives
minors). Every evaluation is cached in the output JSON, so an interrupted run resumes.

    python benchmarks/pin_advice.py [--out benchmarks/pin_advice.json] [PEFT_VERSION ...]

The distilled table lives in ``vlmcompat/peft_pins.py``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from packaging.version import Version  # noqa: E402

from vlmcompat.matrix import venv as venvs  # noqa: E402
from vlmcompat.results import InstallStatus  # noqa: E402

SMOKE = ROOT / "vlmcompat" / "peft_smoke.py"

# The newest patch of every transformers minor from 4.27 (the oldest the families need).
TRANSFORMERS = [
    "4.27.4", "4.28.1", "4.29.2", "4.30.2", "4.31.0", "4.32.1", "4.33.3", "4.34.1", "4.35.2", "4.36.2",
    "4.37.2", "4.38.2", "4.39.3", "4.40.2", "4.41.2", "4.42.4", "4.43.4", "4.44.2", "4.45.2", "4.46.3",
    "4.47.1", "4.48.3", "4.49.0", "4.50.3", "4.51.3", "4.52.4", "4.53.3", "4.54.1", "4.55.4", "4.56.2",
    "4.57.6", "5.0.0", "5.1.0", "5.2.0", "5.3.0", "5.4.0", "5.5.4", "5.6.2", "5.7.0", "5.8.1", "5.9.0",
    "5.10.4", "5.11.0", "5.12.1", "5.13.1", "5.14.1", "5.15.1", "5.16.1", "5.17.0", "5.18.0", "5.19.0",
    "5.20.2", "5.21.1", "5.22.2", "5.23.0",
]

# The releases that matter first, then the newest patch of every other minor 0.8 ... 0.21.
PEFT = ["0.16.0", "0.13.2", "0.14.0", "0.15.2", "0.17.1", "0.18.1", "0.21.2",
        "0.8.2", "0.9.0", "0.10.0", "0.11.1", "0.12.0", "0.19.1", "0.20.0"]

# Where to start looking (a transformers release expected to work); the bisection verifies it.
ANCHORS = {"0.8": "4.40.2", "0.9": "4.40.2", "0.10": "4.40.2", "0.11": "4.40.2", "0.12": "4.40.2",
           "0.13": "4.40.2", "0.14": "4.45.2", "0.15": "4.45.2", "0.16": "4.50.3", "0.17": "4.50.3",
           "0.18": "4.57.6", "0.19": "4.57.6", "0.20": "4.57.6", "0.21": "5.23.0"}


def judge(record: dict) -> dict:
    """Set ``imports`` and ``works`` on an evaluation record (a skipped LLaMA check does not count)."""
    if record.get("install") != "ok":
        record["imports"] = record["works"] = False
        return record
    record["imports"] = record.get("import_error") is None and record.get("trainer_error") is None
    train = record.get("train") or {"crash": "no result"}
    record["works"] = record["imports"] and all(v is None or v.startswith("skip:") for v in train.values())
    return record


class Cell:
    def __init__(self, peft: str, doc: dict, out: Path, root: Path):
        self.peft, self.doc, self.out = peft, doc, out
        self.cache = doc.setdefault("evaluations", {}).setdefault(peft, {})
        self.venv = root / f"h4-pins-p{peft}"

    def evaluate(self, transformers: str) -> dict:
        if transformers in self.cache:
            return judge(self.cache[transformers])
        start = time.perf_counter()
        info = None if (self.venv / "bin" / "python").exists() else venvs.make(self.venv)
        if info is None:
            info = venvs.pip_install(self.venv, [f"peft=={self.peft}", f"transformers=={transformers}"])
        if info.status is not InstallStatus.OK:
            record = {"install": info.status.value, "log": info.log_tail[-400:], "works": False, "imports": False}
        else:
            proc = subprocess.run([str(self.venv / "bin" / "python"), str(SMOKE), "--train"],
                                  capture_output=True, text=True, timeout=600)
            try:
                record = json.loads(proc.stdout.strip().splitlines()[-1])
            except (IndexError, json.JSONDecodeError):
                record = {"crash": (proc.stdout + proc.stderr)[-600:]}
            record["install"] = "ok"
        record["seconds"] = round(time.perf_counter() - start, 1)
        judge(record)
        self.cache[transformers] = record
        self.out.write_text(json.dumps(self.doc, indent=1, sort_keys=True) + "\n")
        print(f"peft {self.peft} transformers {transformers}: works={record['works']} "
              f"imports={record['imports']} ({record['seconds']} s)", flush=True)
        return record


def lowest(cell: Cell, grid: list[str], key: str) -> str:
    """The oldest release in ``grid`` where ``key`` holds, given that it holds at grid[-1]."""
    lo, hi = -1, len(grid) - 1  # key fails at lo (or lo is before the grid), holds at hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if cell.evaluate(grid[mid])[key]:
            hi = mid
        else:
            lo = mid
    return grid[hi]


def highest(cell: Cell, grid: list[str], key: str) -> str:
    """The newest release in ``grid`` where ``key`` holds, given that it holds at grid[0]."""
    lo, hi = 0, len(grid)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if cell.evaluate(grid[mid])[key]:
            lo = mid
        else:
            hi = mid
    return grid[lo]


def dot_zero(cell: Cell, release: str, key: str) -> str:
    """``X.Y.0`` when ``key`` holds there too, else ``release`` (the newest patch of X.Y)."""
    zero = f"{Version(release).major}.{Version(release).minor}.0"
    return zero if zero != release and cell.evaluate(zero)[key] else release


def measure(cell: Cell) -> dict:
    minor = ".".join(cell.peft.split(".")[:2])
    anchor = ANCHORS[minor]
    if not cell.evaluate(anchor)["works"]:
        return {"peft": cell.peft, "anchor": anchor, "note": "the anchor does not work; measure by hand"}
    index = TRANSFORMERS.index(anchor)
    min_works = lowest(cell, TRANSFORMERS[: index + 1], "works")
    w = TRANSFORMERS.index(min_works)
    min_imports = lowest(cell, TRANSFORMERS[: w + 1], "imports")
    max_works = highest(cell, TRANSFORMERS[index:], "works")
    min_works = dot_zero(cell, min_works, "works")
    min_imports = dot_zero(cell, min_imports, "imports")
    return {"peft": cell.peft, "min_imports": min_imports, "min_works": min_works, "max_works": max_works,
            "grid_floor": TRANSFORMERS[0], "grid_ceiling": TRANSFORMERS[-1]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("peft", nargs="*", default=PEFT)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "pin_advice.json")
    parser.add_argument("--cells", type=Path, default=Path("/tmp/cells"))
    args = parser.parse_args()
    cache = json.loads(args.out.read_text()) if args.out.exists() else {}
    summary = []
    for peft in args.peft:
        row = measure(Cell(peft, cache, args.out, args.cells))
        summary.append(row)
        cache.setdefault("boundaries", {})[peft] = row
        args.out.write_text(json.dumps(cache, indent=1, sort_keys=True) + "\n")
        print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

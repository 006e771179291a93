"""Where a cell's probe time goes: versions of vlmcompat side by side, in one run, on the same interpreters.

    python benchmarks/probe_time.py --rev main --rev HEAD                     # this interpreter
    python benchmarks/probe_time.py --rev main --rev WORKTREE --python CELL/bin/python --repeat 3
    python benchmarks/probe_time.py --rev HEAD --probe trainer --family llava   # a slice

Each ``--rev`` (a git revision, or ``WORKTREE`` for the files as they are) is exported to a
temporary folder; each run is ``python -m vlmcompat probe --json OUT`` in that folder with the
folder first on ``PYTHONPATH`` (so a cell's linked vlmcompat and an editable install are both
shadowed) and the probe command's bytecode cache (``matrix.cell.probe_env``). Runs interleave
(repeat × interpreter × revision, the revision order alternating) so load on a shared machine
falls on every revision alike; the tables show medians over ``--repeat`` runs and each
revision's ratio to the first. *Probe s* is the sum of the results' ``seconds`` (what a cell
reports); *cpu s* the CPU time (user + system) of the whole probe command and every process it
started, which the machine's load inflates far less than it does seconds on the clock; *wall s*
adds starting the CLI and the worker (imports) to probe s. Verdicts (status and issue of
every probe × family × mode) are compared with the first revision's, and so are the metrics
(differences in reported numbers are listed, never hidden).

Measured on the 2-core machine shared with other work; absolute seconds swing with its load,
ratios within one run hold. Busiest cell: transformers 4.55.4, tokenizers 0.21.4, peft 0.17.1,
trl 0.21.0 (``t4.55.4``); old cell: transformers 4.44.0, tokenizers 0.19.1, peft 0.16.0
(``t4.44.0``); host: transformers 5.24.0, peft 0.21.2, no trl. Each row is one commit against
its parent (``--rev PARENT --rev COMMIT``), the last row the whole series (``--rev main``):

Size: a benchmark driver (export, run, compare, tabulate) kept in one file so it runs from a checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from tabulate import tabulate

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WORKTREE = "WORKTREE"
TIMING_KEYS = {"seconds"}  # never compared


def export(rev: str, into: Path) -> Path:
    """The package at ``rev`` (or the working tree) in a folder of its own."""
    if rev == WORKTREE:
        return ROOT
    target = into / rev.replace("/", "_")
    target.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev, "vlmcompat"],
                             capture_output=True, check=True).stdout
    with tempfile.TemporaryFile() as buf:
        buf.write(archive)
        buf.seek(0)
        with tarfile.open(fileobj=buf) as tar:
            tar.extractall(target, filter="data")
    return target


def run_env(tree: Path) -> dict[str, str]:
    from vlmcompat.matrix.cell import probe_env

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(probe_env(), PYTHONPATH=str(tree))
    return env


def check_import(python: str, tree: Path) -> None:
    code = "import vlmcompat, sys; print(vlmcompat.__file__)"
    out = subprocess.run([python, "-c", code], cwd=tree, env=run_env(tree), capture_output=True, text=True).stdout
    if not out.strip().startswith(str(tree)):
        sys.exit(f"{python} imports vlmcompat from {out.strip()!r}, not from {tree}; cannot compare revisions")


def run_once(python: str, tree: Path, selection: list[str]) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cell.json"
        start, used = time.perf_counter(), _children_cpu()
        proc = subprocess.run([python, "-m", "vlmcompat", "probe", "--json", str(out), *selection], cwd=tree,
                              env=run_env(tree), capture_output=True, text=True)
        wall, cpu = time.perf_counter() - start, _children_cpu() - used
        if not out.is_file():
            sys.exit(f"{python} in {tree} wrote no result (exit {proc.returncode}): {proc.stderr[-600:]}")
        cell = json.loads(out.read_text())
    per_probe: dict[str, float] = defaultdict(float)
    for r in cell["results"]:
        per_probe[r["probe"]] += r["seconds"] or 0.0
    return {"wall": wall, "cpu": cpu, "probe": sum(per_probe.values()), "per_probe": dict(per_probe),
            "versions": cell["versions"], "results": cell["results"]}


def _children_cpu() -> float:
    """CPU seconds (user + system) of every finished child process and their children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def key(r: dict) -> tuple[str, str, str]:
    return r["probe"], r["family"], r["mode"]


def differences(base: list[dict], other: list[dict]) -> tuple[list[str], list[str]]:
    """(verdict changes, metric changes) of ``other`` against ``base``."""
    verdicts, metrics = [], []
    by_key = {key(r): r for r in base}
    for r in other:
        b = by_key.get(key(r))
        label = "/".join(key(r))
        if b is None:
            verdicts.append(f"{label}: new")
            continue
        if (b["status"], b["issue"]) != (r["status"], r["issue"]):
            verdicts.append(f"{label}: {b['status']}/{b['issue']} -> {r['status']}/{r['issue']}")
        bm, rm = b.get("metrics") or {}, r.get("metrics") or {}
        for name in sorted(set(bm) | set(rm)):
            if name not in TIMING_KEYS and bm.get(name) != rm.get(name):
                metrics.append(f"{label} {name}: {bm.get(name)!r} -> {rm.get(name)!r}")
    return verdicts, metrics


def stack_label(run: dict) -> str:
    v = run["versions"]
    return f"transformers {v.get('transformers')}, peft {v.get('peft')}"


def tables(runs: dict[tuple[str, str], list[dict]], revs: list[str], pythons: list[str]) -> str:
    out = []
    for python in pythons:
        first = runs[(python, revs[0])]
        base = statistics.median(r["probe"] for r in first)
        base_cpu = statistics.median(r["cpu"] for r in first)
        rows = []
        for rev in revs:
            these = runs[(python, rev)]
            probe = statistics.median(r["probe"] for r in these)
            wall = statistics.median(r["wall"] for r in these)
            cpu = statistics.median(r["cpu"] for r in these)
            verdicts, metrics = differences(first[0]["results"], these[0]["results"])
            rows.append([rev, f"{probe:.1f}", f"{probe / base:.3f}", f"{cpu:.1f}", f"{cpu / base_cpu:.3f}",
                         f"{wall:.1f}", len(verdicts), len(metrics)])
        out.append(f"{python} ({stack_label(first[0])}), median of {len(first)}")
        out.append(tabulate(rows, ["rev", "probe s", "× first", "cpu s", "× first", "wall s", "verdict changes",
                                   "metric changes"], tablefmt="github"))
        probes = sorted({p for r in first for p in r["per_probe"]}, key=lambda p: -first[0]["per_probe"][p])
        rows = [[p, *(f"{statistics.median(r['per_probe'].get(p, 0.0) for r in runs[(python, rev)]):.2f}"
                      for rev in revs)] for p in probes]
        out.append(tabulate(rows, ["probe", *revs], tablefmt="github"))
        for rev in revs[1:]:
            verdicts, metrics = differences(first[0]["results"], runs[(python, rev)][0]["results"])
            out.extend(f"  {rev} verdict: {line}" for line in verdicts)
            out.extend(f"  {rev} metric: {line}" for line in metrics[:20])
            if len(metrics) > 20:
                out.append(f"  {rev}: {len(metrics) - 20} more metric changes")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", action="append", default=[], help="git revision or WORKTREE (repeatable)")
    parser.add_argument("--python", action="append", default=[], help="interpreter (repeatable; default: this one)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--probe", action="append", default=[])
    parser.add_argument("--family", action="append", default=[])
    parser.add_argument("--json", help="write every run here")
    args = parser.parse_args(argv)
    revs = args.rev or ["HEAD", WORKTREE]
    pythons = args.python or [sys.executable]
    selection = [a for p in args.probe for a in ("--probe", p)] + [a for f in args.family for a in ("--family", f)]
    tmp = Path(tempfile.mkdtemp(prefix="vlmcompat-probe-time-"))
    try:
        trees = {rev: export(rev, tmp) for rev in revs}
        for python in pythons:
            for rev in revs:
                check_import(python, trees[rev])
        runs: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for i in range(args.repeat):
            for python in pythons:
                for rev in revs if i % 2 == 0 else reversed(revs):
                    run = run_once(python, trees[rev], selection)
                    runs[(python, rev)].append(run)
                    print(f"[{i + 1}/{args.repeat}] {rev} {stack_label(run)}: probe {run['probe']:.1f} s, "
                          f"cpu {run['cpu']:.1f} s, wall {run['wall']:.1f} s", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        Path(args.json).write_text(json.dumps({f"{p} @ {r}": v for (p, r), v in runs.items()}, indent=1))
    print(tables(runs, revs, pythons))
    return 0


if __name__ == "__main__":
    sys.exit(main())

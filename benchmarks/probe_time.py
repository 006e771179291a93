"""Where a cell's probe time goes: revisions of vlmcompat side by side, in one run, on the same interpreters.

    python benchmarks/probe_time.py --rev main --rev HEAD                     # this interpreter
    python benchmarks/probe_time.py --rev main --rev WORKTREE --python CELL/bin/python --repeat 3
    python benchmarks/probe_time.py --rev HEAD --probe trainer --family llava   # a slice
    python benchmarks/probe_time.py --tables runs.json                         # tables of a --json file

Each ``--rev`` (a git revision, or ``WORKTREE`` for the files as they are) is exported to a
temporary folder; each run is ``python -m vlmcompat probe --json OUT`` in that folder with the
folder first on ``PYTHONPATH`` (so a cell's linked vlmcompat and an editable install are both
shadowed) and the probe command's bytecode cache (``matrix.cell.probe_env``). Runs interleave
(repeat × interpreter × revision, the revision order alternating) so load on a shared machine
falls on every revision alike; the tables show medians over ``--repeat`` runs and each
revision's ratio to the first. *Probe s* is the sum of the results' ``seconds`` (what a cell
reports; the first task pays the worker's imports of torch and transformers); *cpu s* the CPU
time (user + system) of the whole probe command and every process it started, which the
machine's load inflates far less than seconds on the clock; *wall s* the whole command. The
verdicts (status and issue of every probe × family × mode) and the metrics of each revision are
compared with the revision before it, and the repeats of each revision with each other
(differences in reported numbers are listed, never hidden).

RESULTS

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


def _median(runs: list[dict], field: str) -> float:
    return statistics.median(r[field] for r in runs)


def _repeats_agree(runs: list[dict]) -> bool:
    return all(differences(runs[0]["results"], r["results"]) == ([], []) for r in runs[1:])


def tables(runs: dict[tuple[str, str], list[dict]], revs: list[str], pythons: list[str]) -> str:
    """Per interpreter: each revision's medians and ratios to the first revision, its verdict and
    metric differences from the revision before it, whether its repeats agreed; then per probe."""
    out = []
    for python in pythons:
        first = runs[(python, revs[0])]
        rows, notes = [], []
        for i, rev in enumerate(revs):
            these = runs[(python, rev)]
            verdicts, metrics = ([], []) if i == 0 else differences(runs[(python, revs[i - 1])][0]["results"],
                                                                    these[0]["results"])
            probe, cpu = _median(these, "probe"), _median(these, "cpu")
            rows.append([rev, f"{probe:.1f}", f"{probe / _median(first, 'probe'):.3f}", f"{cpu:.1f}",
                         f"{cpu / _median(first, 'cpu'):.3f}", f"{_median(these, 'wall'):.1f}", len(verdicts),
                         len(metrics), _repeats_agree(these)])
            notes.extend(f"  {rev} verdict: {line}" for line in verdicts)
            notes.extend(f"  {rev} metric: {line}" for line in metrics[:20])
            if len(metrics) > 20:
                notes.append(f"  {rev}: {len(metrics) - 20} more metric changes")
        out.append(f"{python} ({stack_label(first[0])}), {len(first[0]['results'])} results, median of {len(first)}")
        out.append(tabulate(rows, ["rev", "probe s", "× first", "cpu s", "× first", "wall s", "verdicts ≠ previous",
                                   "metrics ≠ previous", "repeats agree"], tablefmt="github"))
        probes = sorted({p for r in first for p in r["per_probe"]}, key=lambda p: -first[0]["per_probe"][p])
        rows = [[p, *(f"{statistics.median(r['per_probe'].get(p, 0.0) for r in runs[(python, rev)]):.2f}"
                      for rev in revs)] for p in probes]
        out.append(tabulate(rows, ["probe s", *revs], tablefmt="github"))
        out.extend(notes)
    return "\n".join(out)


def from_json(path: str) -> tuple[dict[tuple[str, str], list[dict]], list[str], list[str]]:
    """The runs a ``--json`` file holds, with its interpreters and revisions in their order."""
    saved = json.loads(Path(path).read_text())
    runs = {tuple(k.rsplit(" @ ", 1)): v for k, v in saved.items()}
    pythons = list(dict.fromkeys(p for p, _ in runs))
    revs = list(dict.fromkeys(r for _, r in runs))
    return runs, revs, pythons


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", action="append", default=[], help="git revision or WORKTREE (repeatable)")
    parser.add_argument("--python", action="append", default=[], help="interpreter (repeatable; default: this one)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--probe", action="append", default=[])
    parser.add_argument("--family", action="append", default=[])
    parser.add_argument("--json", help="write every run here")
    parser.add_argument("--tables", metavar="JSON", help="print the tables of a --json file; run nothing")
    args = parser.parse_args(argv)
    if args.tables:
        print(tables(*from_json(args.tables)))
        return 0
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

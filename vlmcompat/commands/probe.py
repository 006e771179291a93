"""``vlmcompat probe``: run the probes in this environment, native and patched.

Each result line starts with the probes done so far out of the cell's total (``[ 37/110]``).
With ``--json PATH`` the run is recorded as :mod:`vlmcompat.matrix.record` describes (a partial
file while it runs; PATH when it ends), and reused from the result cache when nothing it depends
on changed (:mod:`vlmcompat.matrix.cache`; ``--fresh`` runs everything). SIGINT/SIGTERM stop the
worker, record the run as interrupted and exit 130/143.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from collections import Counter

from vlmcompat.errors import UsageError

MARKS = {"pass": "✅", "fail": "❌", "error": "💥", "skip": "⏭", "timeout": "⏱", "crash": "☠", "interrupted": "⏸"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("probe", help="run the probes here (native and patched) and write a cell result",
                       description="Run every probe in this environment, once with the stock classes (native) "
                       "and once with vlmcompat's fixes (patched); write a CellResult JSON as results arrive.")
    p.add_argument("--family", action="append", metavar="F", help="only this family (repeatable)")
    p.add_argument("--probe", action="append", metavar="P", help="only this probe (repeatable)")
    p.add_argument("--json", metavar="PATH",
                   help="write the cell result here when the run ends (.PATH.partial while it runs)")
    p.add_argument("--timeout", type=float, default=300.0, metavar="S",
                   help="per-probe time limit, counted from the probe's start (default 300)")
    p.add_argument("--startup-timeout", type=float, default=None, metavar="S",
                   help="time limit for a probe worker to import torch and transformers (default 600)")
    p.add_argument("--fresh", action="store_true",
                   help="run every probe even when cached results for this exact environment exist "
                   "(also: VLMCOMPAT_CACHE=off)")
    p.add_argument("--cell", default=None, metavar="NAME", help="cell id to record (default: from the versions)")
    p.add_argument("--install-seconds", type=float, default=None, metavar="S", help=argparse.SUPPRESS)
    p.add_argument("--strict", action="store_true",
                   help="exit 1 unless every patched result passes or skips")
    p.add_argument("--list", action="store_true", help="list probes and families, run nothing")
    add_user_arguments(p)
    p.set_defaults(func=run)


def add_user_arguments(p: argparse.ArgumentParser) -> None:
    """``--model DIR``, what a user allows vlmcompat to do with the folder, and ``--run CMD``
    (probe and gate)."""
    p.add_argument("--model", metavar="DIR",
                   help="run the probes on this checkpoint folder (config.json plus tokenizer and processor "
                   "files): its architecture shrunk, batches made with its own files")
    p.add_argument("--full", action="store_true", help="with --model: load the folder's weights (safetensors) "
                   "instead of building the architecture shrunk")
    p.add_argument("--allow-pickle", action="store_true",
                   help="with --model --full: also load pickle weights (*.bin), which can run code when loaded")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="with --model: let transformers run code the folder ships (auto_map)")
    p.add_argument("--run", action="append", metavar="CMD",
                   help="also run this command (your training script or tests) from this folder, native and with "
                   "`import vlmcompat.patch` applied; recorded as probe `run` (repeatable; never cached)")
    p.add_argument("--run-in", metavar="DIR", help="with --run: the folder the commands run in (default: this one)")


def model_access(args: argparse.Namespace):
    """The user's checkpoint as ``(folder, Access)``, activated here; None without --model."""
    from vlmcompat import usermodel
    from vlmcompat.usermodel.folder import Access

    access = Access(full=args.full, allow_pickle=args.allow_pickle, trust_remote_code=args.trust_remote_code)
    if not getattr(args, "model", None):
        if any(access.flags()):
            raise UsageError(f"{' '.join(access.flags())} only apply with --model DIR")
        return None
    usermodel.activate(args.model, access)
    return args.model, access


def _width(text: str) -> int:
    """Terminal columns of ``text``: wide (emoji-presentation) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _registered_widths() -> tuple[int, int]:
    """The longest probe and family names that can be printed (registered probes, tiny families)."""
    from vlmcompat import probes, tiny

    names = list(probes.all_probes())
    families = [*tiny.FAMILIES, *(f for p in probes.all_probes().values() for f in (p.families or ()))]
    return max(map(len, names), default=0), max(map(len, families), default=0)


def line(result, widths: tuple[int, int] | None = None) -> str:
    """One result per line, columns aligned for every registered probe and family name and every mark."""
    probe_width, family_width = widths or _registered_widths()
    mark = MARKS.get(result.status.value, "?")
    mark += " " * (2 - _width(mark))
    detail = result.issue or result.reason or (result.error.message.splitlines()[0][:120] if result.error else "")
    return f"{mark} {result.probe:<{probe_width}} {result.family:<{family_width}} {result.mode.value:<8} " \
           f"{result.status.value:<7} {result.seconds:6.2f}s  {detail}".rstrip()


def progress(done: int, total: int, result, widths: tuple[int, int] | None = None) -> str:
    """A result line with the probes done out of the cell's total in front: ``[ 37/110] ✅ ...``."""
    return f"[{done:>{len(str(total))}}/{total}] {line(result, widths)}"


def _probe_model(args: argparse.Namespace, checkpoint) -> None:
    """Probe only the checkpoint's family, and make the probe workers use the checkpoint."""
    import os

    from vlmcompat import usermodel

    active = usermodel.require_active()
    if args.family and args.family != [active.family.name]:
        raise UsageError(f"--model {args.model} is a {active.family.name} checkpoint; drop --family "
                         f"{' '.join(args.family)}")
    args.family = [active.family.name]
    os.environ[usermodel.MODEL_ENV] = usermodel.to_env(*checkpoint)
    print(f"vlmcompat probe: model {checkpoint[0]} ({active.family.model_class} -> family {active.family.name}, "
          f"{'its weights' if checkpoint[1].full else 'shrunk'})", flush=True)


def _run_commands(args: argparse.Namespace) -> None:
    """Register the run probe for ``--run`` commands; their results are never taken from the cache."""
    from vlmcompat import usercommand

    usercommand.enable(args.run, folder=args.run_in)
    args.fresh = True  # the command's outcome depends on the project's files, not only on the versions
    if args.probe and usercommand.PROBE_NAME not in args.probe:
        args.probe.append(usercommand.PROBE_NAME)


def _model_key(cache_key: str, checkpoint) -> str:
    """The result-cache key; the same probes on another checkpoint (or other files) are other results."""
    if checkpoint is None:
        return cache_key
    import hashlib

    from vlmcompat import usermodel

    return hashlib.sha256(f"{cache_key}:{usermodel.fingerprint()}".encode()).hexdigest()


def run(args: argparse.Namespace) -> int:
    from vlmcompat import engine, paths, probes, tiny, versions
    from vlmcompat.matrix import cache, record
    from vlmcompat.results import CacheInfo, InstallInfo, InstallStatus

    for flag, value in (("--timeout", args.timeout), ("--startup-timeout", args.startup_timeout)):
        if value is not None and value <= 0:
            raise UsageError(f"{flag} must be positive, got {value:g}")
    checkpoint = model_access(args)
    if args.list:
        for name, probe in probes.all_probes().items():
            print(f"{name:<18} {probe.summary}")
        print("families: " + ", ".join(tiny.FAMILIES))
        return 0
    if checkpoint is not None:
        _probe_model(args, checkpoint)
    if getattr(args, "run", None):
        _run_commands(args)
    tasks = engine.plan(args.probe, args.family)
    if not tasks:
        raise UsageError("nothing to run: no probe applies to the selected families")
    stack = versions.stack_versions()
    cell = args.cell or paths.cell_id({pkg: stack.get(pkg) or "-" for pkg in ("transformers", "tokenizers", "peft")})
    cache_key = _model_key(cache.key([t.key for t in tasks], args.timeout), checkpoint)
    install = InstallInfo(InstallStatus.OK if args.install_seconds is not None else InstallStatus.EXISTING,
                          args.install_seconds or 0.0)
    reused = None if args.fresh or not cache.enabled() else cache.lookup(cache_key, cell, install)
    if reused is not None:
        result = reused
        if args.json:
            record.place(args.json, result)
            record.partial_path(args.json).unlink(missing_ok=True)
        counts = ", ".join(f"{n} {s}" for s, n in Counter(r.status.value for r in result.results).items())
        print(f"vlmcompat probe: cell {cell}: {len(result.results)} results reused from {result.cache.produced} "
              f"(nothing they depend on changed; --fresh runs them again): {counts}", flush=True)
    else:
        widths = _registered_widths()
        print(f"vlmcompat probe: cell {cell}: {len(tasks)} tasks "
              f"({', '.join(f'{k} {v}' for k, v in stack.items())})", flush=True)
        done = [0]

        def show(result) -> None:
            done[0] += 1
            print(progress(done[0], len(tasks), result, widths), flush=True)

        try:
            result = engine.run_cell(cell, args.json, tasks, timeout=args.timeout,
                                     install_seconds=args.install_seconds, on_result=show, cache=CacheInfo(cache_key),
                                     startup_timeout=args.startup_timeout or engine.STARTUP_TIMEOUT)
        except engine.Interrupted as exc:
            where = f"; recorded in {exc.path}" if exc.path else ""
            print(f"vlmcompat probe: {exc} after {done[0]} of {len(tasks)} tasks{where}", file=sys.stderr)
            return exc.exit_code
        cache.store(result)
    bad = [r for r in result.results if r.mode.value == "patched" and r.status.value not in ("pass", "skip")]
    if args.json:
        print(f"wrote {args.json}", file=sys.stderr)
    return 1 if args.strict and bad else 0

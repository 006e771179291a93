"""``vlmcompat crosscheck write|read``: artifacts saved by one release, loaded by another.

``write`` (in a cell, after its probes) saves per family a trained LoRA adapter, a checkpoint and the
processor with the writer's reference outputs under ``reports/artifacts/<cell>/<family>/``.
``read`` (in a cell) loads every other cell's artifacts, native and patched, and writes the results
(cell schema, each naming its ``writer``) to ``reports/crosscheck/<cell>.json``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

CROSSCHECK_SUBDIR = "crosscheck"


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("crosscheck", help="save artifacts here / load other releases' artifacts here",
                                   description="Cross-release checks of adapters, checkpoints and processors.")
    sub = parser.add_subparsers(dest="crosscheck_command", metavar="ACTION")
    sub.required = True
    write = sub.add_parser("write", help="save this environment's artifacts per family",
                           description="Save a trained LoRA adapter, a checkpoint and the processor per family, "
                           "with reference outputs, under REPORTS/artifacts/CELL/FAMILY/.")
    read = sub.add_parser("read", help="load the artifacts other environments saved and check them here",
                          description="Load every saved artifact set (or those of --writer cells) native and "
                          "patched; write the results to REPORTS/crosscheck/CELL.json.")
    for p in (write, read):
        p.add_argument("--cell", default=None, help="this environment's cell id (default: from its versions)")
        p.add_argument("--family", action="append", default=None,
                       help="a family to include (repeatable; default: llava, qwen2-vl)")
        p.add_argument("--reports", type=Path, default=None, help="the reports folder (default: reports/)")
    read.add_argument("--writer", action="append", default=[], metavar="CELL",
                      help="read only this writer cell's artifacts (repeatable; default: all)")
    read.add_argument("--json", type=Path, default=None, help="results file (default: REPORTS/crosscheck/CELL.json)")
    parser.set_defaults(func=run)


def default_cell() -> str:
    from vlmcompat import paths, versions

    found = {pkg: versions.installed(pkg) for pkg in ("transformers", "peft")}
    return paths.cell_id({pkg: str(v) if v else None for pkg, v in found.items()})


def results_path(reports: Path | None, cell: str) -> Path:
    from vlmcompat import paths

    return Path(reports if reports is not None else paths.reports_dir()) / CROSSCHECK_SUBDIR / f"{cell}.json"


def _write(args: argparse.Namespace, cell: str, families: tuple[str, ...]) -> int:
    from vlmcompat.crosscheck import artifacts, writer
    from vlmcompat.crosscheck import families as fams

    root = artifacts.artifacts_dir(args.reports) / cell
    for family in families:
        if not fams.class_available(family):
            print(f"{family}: skipped, this transformers has no {fams.family(family).model_class}")
            continue
        done = writer.write(family, root / family)
        print(f"{family}: {', '.join(f'{k} {v}' for k, v in done.items())} -> {root / family}")
    return 0


def _read(args: argparse.Namespace, cell: str, families: tuple[str, ...]) -> int:
    from vlmcompat.crosscheck import run as crossrun
    from vlmcompat.errors import UsageError
    from vlmcompat.results import Status, write_json_atomic

    result = crossrun.read_all(cell, args.reports, tuple(args.writer), families)
    if not result.results:
        raise UsageError(f"no artifacts to read under {args.reports or 'reports'}/artifacts"
                         f"{' from ' + ', '.join(args.writer) if args.writer else ''}; "
                         "run `vlmcompat crosscheck write` in the writer cells first")
    path = args.json or results_path(args.reports, cell)
    write_json_atomic(path, result.to_dict())
    counts = {s: sum(r.status is s for r in result.results) for s in Status}
    print(f"{path}: {len(result.results)} checks, " + ", ".join(f"{n} {s}" for s, n in counts.items() if n))
    return 0


def run(args: argparse.Namespace) -> int:
    from vlmcompat.crosscheck import artifacts

    cell = args.cell or default_cell()
    families = tuple(args.family or artifacts.FAMILIES)
    if args.crosscheck_command == "write":
        return _write(args, cell, families)
    return _read(args, cell, families)

"""``vlmcompat gate``: fail CI on a regression, report what changed.

Two modes:

- ``--baseline PATH [--results PATH]``: fresh matrix results against a committed baseline, with
  matrix.toml's declared failures (``--matrix``). Results default to ``reports/cells/*.json``.
- ``--requirements FILE [--family F] [--model DIR] [--run CMD] [--patched]``: build a cell from a
  user's own pins, run the probes there (on their checkpoint and their command, if given) and fail
  when the user's path fails: the stock one by default (their code does not ``import
  vlmcompat.patch``), the patched one with ``--patched``. Each failure names its known issue, the
  fix and the releases it affects (the pins that avoid it).

Exit codes: 0 nothing regressed, 1 a regression (or, with ``--strict``, an unexpected pass or a
missing result), 2 usage/input errors. The markdown also goes to ``$GITHUB_STEP_SUMMARY``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from vlmcompat import gate, paths
from vlmcompat.errors import InputFileError, ResultsError, UsageError
from vlmcompat.results import CellResult, InstallStatus, load_merged, load_results

DEFAULT_RESULTS = paths.cells_dir(paths.REPORTS_DIR)
DEFAULT_MATRIX = paths.MATRIX_FILE


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "gate", help="compare fresh results with a baseline; exit 1 on a regression",
        description="Compare fresh probe results with a committed baseline (or check a requirements file's "
        "pins) and exit 1 when something regressed, 0 otherwise, 2 on usage/input errors.")
    parser.add_argument("--baseline", metavar="PATH", help="the committed merged report (reports/compat.json)")
    parser.add_argument("--baseline-ref", metavar="REV",
                        help="read --baseline as committed at this git revision (e.g. HEAD), not from the work tree")
    parser.add_argument("--results", metavar="PATH",
                        help=f"merged report, cell JSON or directory of cell JSONs (default: {DEFAULT_RESULTS}/*.json)")
    parser.add_argument("--matrix", metavar="PATH",
                        help=f"matrix.toml whose declared failures are expected (default: {DEFAULT_MATRIX} if present)")
    parser.add_argument("--requirements", metavar="FILE", help="gate these pins instead of a baseline")
    parser.add_argument("--family", action="append", metavar="F", help="with --requirements: the family to probe")
    parser.add_argument("--probe", action="append", metavar="P", help="with --requirements: only this probe")
    parser.add_argument("--patched", action="store_true",
                        help="with --requirements: your code imports vlmcompat.patch, so the patched results decide "
                        "(default: the stock results decide)")
    from vlmcompat.commands.probe import add_user_arguments

    add_user_arguments(parser)
    parser.add_argument("--strict", action="store_true", help="also fail on unexpected passes and missing results")
    parser.add_argument("--json", action="store_true",
                        help="print {regressions, improvements, unexpected_passes, ...} instead of markdown")
    parser.set_defaults(func=run)
    return parser


def results_and_source(path: str | None) -> tuple[list[CellResult], str]:
    target = Path(path) if path else DEFAULT_RESULTS
    cells = load_results(target)
    return cells, f"{target}/*.json ({len(cells)} cells)" if target.is_dir() else f"{target} ({len(cells)} cells)"


def committed_baseline(path: str, rev: str, tmpdir: str) -> Path:
    """``git show REV:PATH`` into a temporary file (the matrix run may have rewritten PATH)."""
    import subprocess

    proc = subprocess.run(["git", "show", f"{rev}:{Path(path).as_posix()}"], capture_output=True, text=True)
    if proc.returncode != 0:
        reason = (proc.stderr.strip().splitlines() or ["git failed"])[-1]
        raise ResultsError(f"no committed baseline at {rev}:{path} ({reason}); run the matrix and commit "
                           f"{path}, or pass --baseline without --baseline-ref")
    target = Path(tmpdir) / "baseline.json"
    target.write_text(proc.stdout, encoding="utf-8")
    return target


def load_expectations(path: str | None) -> dict[str, list]:
    target = Path(path) if path else DEFAULT_MATRIX
    if not target.exists():
        if path:
            raise InputFileError(f"{target}: no such file; pass the matrix.toml that declares expected failures")
        return {}
    from vlmcompat import matrix

    return {spec.name: list(spec.expect) for spec in matrix.load(target).cells}


def read_requirements(path: str) -> list[str]:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise InputFileError(f"cannot read {path}: {exc.strerror}; pass your requirements.txt") from None
    requirements = []
    for number, raw in enumerate(lines, 1):
        line = raw.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            raise InputFileError(f"{path}:{number}: pip option {line.split()[0]!r} is not supported here; "
                                 "list plain requirements (name==version)")
        try:
            Requirement(line)
        except InvalidRequirement as exc:
            raise InputFileError(f"{path}:{number}: {exc}; write it as name==version") from None
        requirements.append(line)
    if not requirements:
        raise InputFileError(f"{path} lists no requirements; pin transformers/peft/tokenizers there")
    return requirements


def user_probe_args(args: argparse.Namespace) -> list[str]:
    """The probe arguments for the user's checkpoint and commands (``--model``, ``--run``, ...)."""
    extra: list[str] = []
    if args.model:
        extra += ["--model", str(Path(args.model).resolve())]
    extra += [flag for flag, on in (("--full", args.full), ("--allow-pickle", args.allow_pickle),
                                    ("--trust-remote-code", args.trust_remote_code)) if on]
    for command in args.run or ():
        extra += ["--run", command]
    if args.run:
        extra += ["--run-in", str(Path(args.run_in or ".").resolve())]
    return extra


def explain_changes(report: gate.GateReport) -> None:
    """Each failure's known issue: its title, the fix and the releases it affects."""
    from vlmcompat import known_issues
    from vlmcompat.explain.verdict import fix_text

    for change in [*report.regressions, *report.changed]:
        if change.issue in known_issues.IDS:
            issue = known_issues.get(change.issue)
            change.why = f"{change.why}. {change.issue}: {issue.title}; fix: {fix_text(issue)}"


def gate_requirements(args: argparse.Namespace) -> tuple[gate.GateReport, str]:
    from vlmcompat.matrix import cell

    if not args.model and (args.full or args.allow_pickle or args.trust_remote_code):
        raise UsageError("--full, --allow-pickle and --trust-remote-code only apply with --model DIR")
    requirements = read_requirements(args.requirements)
    venv, info = cell.build(requirements)
    path = "patched (your code imports vlmcompat.patch)" if args.patched else "stock (no vlmcompat.patch)"
    source = f"pins: {args.requirements} ({', '.join(requirements)}); your path: {path}" + \
        (f"; model: {args.model}" if args.model else "") + \
        (f"; commands: {'; '.join(args.run)}" if args.run else "") + f"; cell {venv}"
    if info.status is not InstallStatus.OK:
        return gate.check_absolute([cell.failed_install("requirements", requirements, info)]), source
    with tempfile.TemporaryDirectory() as tmp:
        result = cell.run_probe(venv, "requirements", Path(tmp) / "cell.json", args.family or (), args.probe or (),
                                extra=user_probe_args(args))
    report = gate.check_absolute([result], patched=args.patched)
    explain_changes(report)
    return report, source


def run(args: argparse.Namespace) -> int:
    if args.baseline_ref and not args.baseline:
        raise UsageError("--baseline-ref needs --baseline PATH "
                         "(e.g. --baseline reports/compat.json --baseline-ref HEAD)")
    if args.requirements and args.baseline:
        raise UsageError("--requirements and --baseline gate different things; pass one of them")
    if not args.requirements and (args.model or args.run or args.patched):
        raise UsageError("--model, --run and --patched describe your own pins' path; use them with --requirements FILE")
    if args.requirements:
        report, source = gate_requirements(args)
    elif args.baseline:
        if args.baseline_ref:
            with tempfile.TemporaryDirectory() as tmp:
                baseline = load_merged(committed_baseline(args.baseline, args.baseline_ref, tmp))
        else:
            baseline = load_merged(args.baseline)
        results, where = results_and_source(args.results)
        report = gate.compare(baseline, results, load_expectations(args.matrix), strict=args.strict)
        label = f"{args.baseline_ref}:{args.baseline}" if args.baseline_ref else args.baseline
        source = f"baseline: {label} ({len(baseline)} cells) · results: {where}"
    else:
        raise UsageError("nothing to gate; pass --baseline reports/compat.json (CI) or --requirements FILE (your pins)")
    report.strict = args.strict
    markdown = gate.render_markdown(report, source)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(markdown + "\n")
    print(json.dumps(report.to_dict(), indent=2) if args.json else markdown, end="" if not args.json else "\n")
    return report.exit_code

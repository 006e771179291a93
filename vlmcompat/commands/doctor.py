"""``vlmcompat doctor [--json] [--results PATH] [--no-import-check]``: this environment, diagnosed.

Exit codes: 0 nothing unfixed applies, 1 a known incompatibility applies that no shipped patch
fixes (for CI), 2 input errors.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tabulate import tabulate

from vlmcompat import doctor, paths
from vlmcompat.results import load_merged

DEFAULT_RESULTS = paths.REPORTS_DIR / paths.COMPAT_JSON


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "doctor",
        help="installed versions, known issues that apply, and pins that work",
        description="Check this environment: the installed torch/transformers/tokenizers/peft, the known issues "
        "whose ranges contain them (peft-import by a live import in a subprocess), and pins that work: the newest "
        "peft that imports and trains with the installed transformers, and the transformers range the installed "
        "peft needs. Each pin names its evidence (the measured peft x transformers table, matrix cells). Exit 1 "
        "when a known incompatibility applies that no vlmcompat patch fixes, 0 otherwise, 2 on input errors.",
    )
    parser.add_argument("--json", action="store_true",
                        help="print {versions, issues, unfixed, pins: {package: specifier}, evidence, notes}")
    parser.add_argument("--results", type=Path, default=None, metavar="PATH",
                        help=f"matrix results to use as evidence (default: {DEFAULT_RESULTS} when it exists)")
    parser.add_argument("--no-import-check", action="store_true",
                        help="do not import peft in a subprocess; judge peft-import from the table and the matrix")
    parser.set_defaults(func=run)
    return parser


def render_text(diagnosis: doctor.Diagnosis) -> str:
    lines = ["Installed:", tabulate([(k, v or "not installed") for k, v in diagnosis.versions.items()],
                                    tablefmt="plain"), ""]
    if diagnosis.issues:
        lines.append("Known issues that apply here:")
        for issue in diagnosis.issues:
            state = f"fixed by `import vlmcompat.patch` ({issue.fixed_by})" if issue.fixed_by else "UNFIXED"
            lines.append(f"  {issue.id} [{state}]: {issue.title}")
            lines += [f"    evidence: {source}" for source in issue.evidence]
            if issue.id == "peft-import":
                lines.append("    fix: pin one of the alternatives below; to train meanwhile, vlmcompat.lora_fallback "
                             "needs no peft (vlmcompat's training step uses it when peft cannot be imported)")
            elif not issue.fixed_by:
                lines.append(f"    fix: {issue.fix}")
    else:
        lines.append("No known issue applies to these versions.")
    lines.append("")
    if diagnosis.pins:
        lines.append("Pins that work (alternatives; each rests on the evidence below it):")
        for pin in diagnosis.pins:
            lines.append(f"  {pin.package}{pin.specifier}: {pin.reason}")
            lines += [f"    evidence: {source}" for source in pin.evidence]
    else:
        lines.append("No pin can be advised from the evidence at hand.")
    lines += [f"Note: {note}" for note in diagnosis.notes]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    results = args.results
    if results is None and DEFAULT_RESULTS.exists():
        results = DEFAULT_RESULTS
    cells = load_merged(results) if results is not None else []
    diagnosis = doctor.gather(cells, check_import=not args.no_import_check)
    if args.json:
        print(json.dumps(diagnosis.to_json(), indent=2))
    else:
        print(render_text(diagnosis))
    return diagnosis.exit_code

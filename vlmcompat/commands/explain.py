"""``vlmcompat explain [FILE|-] [--json]``: name the known issue(s) behind an error text.

Exit codes: 0 recognised, 1 not recognised (suggestions only), 2 input error.
"""

from __future__ import annotations

import argparse
import json
import sys

from vlmcompat import explain as explainer
from vlmcompat import known_issues
from vlmcompat.errors import InputFileError, UsageError


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "explain",
        help="name the known issue behind an error message or traceback",
        description="Read an error message or a whole traceback (wrapped, ANSI-coloured, from Trainer, TRL or a "
        "notebook, inside a log of any size) and name the known issue(s) it shows, what decided each, their cause "
        "and fix. Exit 0 when recognised, 1 when not (then the closest known issues are listed as suggestions, "
        "never as a diagnosis), 2 on input errors. Confidence: 0.95 signature plus deciding context, 0.85 the "
        "same after undoing line wrapping, 0.75 fits with nothing against it but without the confirming "
        "context, 0.6 the likeliest of two or three.",
    )
    parser.add_argument("file", nargs="?", default="-", metavar="FILE|-",
                        help="file holding the error text; - or nothing reads standard input")
    parser.add_argument("--json", action="store_true",
                        help="print {matches: [{issue, confidence, cause, fix, decided_by, ...}]}; when not "
                        "recognised {matches: [], suggestions: [{issue, title, why, link}]}")
    parser.set_defaults(func=run)
    return parser


def read_text(name: str) -> str:
    if name == "-":
        if sys.stdin.isatty():
            raise UsageError("no error text given; paste it on standard input (end with Ctrl-D) or pass a FILE")
        text = sys.stdin.read()
    else:
        try:
            with open(name, encoding="utf-8", errors="replace") as fh:
                text = fh.read()
        except OSError as exc:
            raise InputFileError(f"cannot read {name}: {exc.strerror}; "
                                 "pass a file holding the error text, or -") from None
    if not text.strip():
        where = "standard input" if name == "-" else name
        raise InputFileError(f"{where} is empty; paste the error message or traceback")
    return text


def render_text(diagnosis: explainer.Diagnosis) -> str:
    if not diagnosis.matches:
        lines = [f"Not recognised: this error matches none of the {len(known_issues.IDS)} known issues closely enough "
                 "to name its cause."]
        if diagnosis.suggestions:
            lines.append("Closest known issues (suggestions, not a diagnosis):")
            lines += [f"  - {s.issue}: {s.title}\n      why: {s.why}\n      more: {s.link}"
                      for s in diagnosis.suggestions]
        lines.append("Run `vlmcompat doctor` to check the installed versions, or report it with the full traceback: "
                     f"{known_issues.catalogue_location()}")
        return "\n".join(lines)
    lines = []
    for m in diagnosis.matches:
        lines += [f"{m.issue} (confidence {m.confidence:.2f}): {m.title}",
                  f"  matched: {m.matched}",
                  f"  decided: {m.decided_by}",
                  f"  cause:   {m.cause}",
                  f"  fix:     {m.fix}",
                  f"  more:    {m.link}",
                  ""]
    return "\n".join(lines).rstrip()


def run(args: argparse.Namespace) -> int:
    diagnosis = explainer.diagnose(read_text(args.file))
    if args.json:
        print(json.dumps(diagnosis.to_dict(), indent=2))
    else:
        print(render_text(diagnosis))
    return 0 if diagnosis.recognised else 1

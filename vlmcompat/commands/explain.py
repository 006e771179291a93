"""``vlmcompat explain [FILE|-] [--json]``: name the known issue(s) behind an error text.

Exit codes: 0 recognised, 1 not recognised, 2 input error.
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
        "notebook) and name the known issue(s) it shows, their cause and fix. Exit 0 when recognised, 1 when "
        "not, 2 on input errors. Confidence: 0.95 matched as pasted, 0.85 after undoing line wrapping, "
        "0.6 fits but ambiguous.",
    )
    parser.add_argument("file", nargs="?", default="-", metavar="FILE|-",
                        help="file holding the error text; - or nothing reads standard input")
    parser.add_argument("--json", action="store_true", help="print {matches: [{issue, confidence, cause, fix}]}")
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


def render_text(matches: list[explainer.Match]) -> str:
    if not matches:
        return (f"Not recognised: this error matches none of the {len(known_issues.IDS)} known issues "
                f"({', '.join(known_issues.IDS)}).\nRun `vlmcompat doctor` to check the installed versions, or "
                f"report it with the full traceback: {known_issues.catalogue_location()}")
    lines = []
    for m in matches:
        lines += [f"{m.issue} (confidence {m.confidence:.2f}): {m.title}",
                  f"  matched: {m.matched}",
                  f"  cause:   {m.cause}",
                  f"  fix:     {m.fix}",
                  f"  more:    {m.link}",
                  ""]
    return "\n".join(lines).rstrip()


def run(args: argparse.Namespace) -> int:
    matches = explainer.explain(read_text(args.file))
    if args.json:
        print(json.dumps({"matches": [m.to_dict() for m in matches]}, indent=2))
    else:
        print(render_text(matches))
    return 0 if matches else 1

"""``vlmcompat pins``: the supported ranges of a report as lines to paste into requirements,
a constraints file or pyproject.toml, each bound explained by the cells that show it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vlmcompat import known_issues, pins
from vlmcompat.errors import UsageError
from vlmcompat.report import families as report_families
from vlmcompat.results import load_merged

DEFAULT_REPORT = Path("reports") / "compat.json"
FORMATS = ("requirements", "constraints", "toml")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("pins", help="supported transformers/peft ranges from a report, as requirement lines",
                       description="Compute, from the cells of a merged report, the transformers (and peft) "
                       "releases where every probe of the families passes (stock, or with --patched) and print "
                       "them as specifiers, each bound explained by the cells that show it.")
    p.add_argument("--family", action="append", metavar="F", help="only this family (repeatable; default: all)")
    p.add_argument("--patched", action="store_true", help="the ranges with `import vlmcompat.patch` (default: stock)")
    p.add_argument("--report", default=str(DEFAULT_REPORT), metavar="PATH",
                   help=f"the merged report (default {DEFAULT_REPORT})")
    p.add_argument("--format", choices=FORMATS, default="requirements",
                   help="requirements lines (default), a constraints file, or pyproject.toml dependencies")
    p.set_defaults(func=run)


def comments(result: pins.Pins, source: str) -> list[str]:
    mode = "with `import vlmcompat.patch`" if result.patched else "stock (without vlmcompat.patch)"
    lines = [f"# vlmcompat pins: {', '.join(result.families)}, {mode}; evidence: {source}"]
    for pkg, rng in result.ranges.items():
        for bound in rng.bounds:
            lines.append(f"#   {pkg} {bound.specifier or '(no upper bound)'}: {bound.evidence}")
        for gap in rng.gaps:
            lines.append(f"#   gap: {gap.text(result.families)}")
        for also in rng.also:
            lines.append(f"#   {pkg} also passes on {also}, left out (failing lines between)")
    for span in result.by_issue:
        lines.append(f"#   {span.issue} shows on transformers {', '.join(span.spans)}")
    for issue, cells in result.not_a_pin_problem.items():
        lines.append(f"#   not a pin problem: {issue} ({len(cells)} cells); fix: {known_issues.get(issue).fix}")
    return lines


def requirement_lines(result: pins.Pins) -> list[str]:
    return [f"{pkg}{rng.specifier}" for pkg, rng in result.ranges.items() if rng.specifier]


def render(result: pins.Pins, fmt: str = "requirements", source: str = "") -> str:
    """The pins as text in one of :data:`FORMATS` (comments explain every bound)."""
    lines = comments(result, source)
    reqs = requirement_lines(result)
    if fmt == "constraints":
        lines.insert(1, "# a constraints file: pip install -c constraints.txt <your packages>")
    if fmt == "toml":
        lines += ["dependencies = [", *(f'    "{req}",' for req in reqs), "]"]
    else:
        lines += reqs
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    path = Path(args.report)
    if not path.is_file():
        raise UsageError(f"{path}: no such report; run `nox -s matrix` (or pass --report reports/sweep/compat.json)")
    cells = load_merged(path)
    known = report_families(cells)
    unknown = [f for f in args.family or [] if f not in known]
    if unknown:
        raise UsageError(f"{', '.join(unknown)}: not in {path}; its families are {', '.join(known) or 'none'}")
    result = pins.compute(cells, args.family, patched=args.patched)
    print(render(result, args.format, f"{path} ({len(cells)} cells)"), end="")
    if not requirement_lines(result):
        mode = "with vlmcompat.patch" if args.patched else "stock"
        hint = "" if args.patched else "; `--patched` gives the range with vlmcompat's fixes"
        print(f"vlmcompat pins: no transformers release in {path} passes every probe of "
              f"{', '.join(result.families)} {mode}{hint}", file=sys.stderr)
        return 1
    return 0

"""``vlmcompat bisect``: the first release of a package where a probe's outcome changes."""

from __future__ import annotations

import argparse

from vlmcompat import bisection


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "bisect", help="find the first release where a probe's native outcome changes",
        description="Binary search over the package's final releases between --good and --bad (from the "
        "package index): build a cell per release (torch shared from the host), run the probe there, and "
        "print each step and the first release whose native outcome (status and issue) differs from --good's. "
        "Outcomes are cached per release.")
    parser.add_argument("--probe", required=True, metavar="P", help="the probe to run (vlmcompat probe --list)")
    parser.add_argument("--family", default="instructblip-t5", metavar="F", help="model family (default: %(default)s)")
    parser.add_argument("--package", default="transformers", metavar="NAME",
                        help="package to bisect (default: %(default)s)")
    parser.add_argument("--good", required=True, metavar="V", help="the older release (its outcome is the reference)")
    parser.add_argument("--bad", required=True, metavar="V", help="the newer release (its outcome differs)")
    parser.add_argument("--with", dest="with_", action="append", default=[], metavar="REQ",
                        help="pin another package in every cell, e.g. --with peft==0.16.0 (repeatable)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    from packaging.version import InvalidVersion, Version

    from vlmcompat.errors import UsageError

    for flag, value in (("--good", args.good), ("--bad", args.bad)):
        try:
            Version(value)
        except InvalidVersion:
            raise UsageError(f"{flag} {value!r} is not a version; give a release such as 4.44.0") from None
    versions = bisection.between(bisection.releases(args.package), args.good, args.bad)
    print(f"bisecting {args.package}: {len(versions)} releases from {versions[0]} to {versions[-1]}; "
          f"probe {args.probe}, family {args.family}, native"
          + (f"; with {' '.join(args.with_)}" if args.with_ else ""), flush=True)
    outcome = bisection.ProbeOutcome(args.package, args.probe, args.family, args.with_,
                                     log=lambda message: print(f"  {message}", flush=True))
    counter = iter(range(1, len(versions) + 1))

    def on_step(step: bisection.Step) -> None:
        print(f"step {next(counter)}: {args.package} {step.version}: {step.outcome or 'skipped (did not install)'}",
              flush=True)

    result = bisection.search(versions, outcome, on_step)
    print(f"first release where the outcome changes: {args.package} {result.first_changed} "
          f"({result.good} -> {result.changed_to}); last with {result.good}: {result.last_good}")
    if not result.exact:
        print("untestable releases lie between those two: "
              + ", ".join(str(v) for v in result.skipped if result.last_good < v < result.first_changed))
    return 0

"""How well explain names the cause of real error reports: ``python -m vlmcompat.explain.score [DIR]``.

The reports (``tests/fixtures/reports/*.json``, see its README) are texts people pasted into public
threads, each labelled with the known issue the thread identified or ``null`` for a look-alike with
another cause. Per split (``heldout``, ``tune``) and over all of them this computes:

- **right first**: the share of positives whose first match is the labelled id;
- **false alarms**: the share of negatives that get any diagnosis (a suggestion is not one).

``--misses`` lists the reports explain gets wrong (only for the split named with ``--split``).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from tabulate import tabulate

from vlmcompat.explain import explain

REPORTS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "reports"
SPLITS = ("heldout", "tune")


@dataclass(frozen=True)
class Report:
    name: str
    label: str | None
    split: str
    text: str


@dataclass(frozen=True)
class Outcome:
    report: Report
    first: str | None  # the first match's id, None when not recognised

    @property
    def right(self) -> bool:
        """A positive named first, or a negative left unrecognised."""
        return self.first == self.report.label


def load(folder: Path = REPORTS) -> list[Report]:
    reports = []
    for path in sorted(folder.glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        reports.append(Report(path.stem, raw["label"], raw["split"], raw["text"]))
    if not reports:
        raise FileNotFoundError(f"no reports (*.json) in {folder}")
    return reports


def run(reports: list[Report]) -> list[Outcome]:
    outcomes = []
    for report in reports:
        matches = explain(report.text)
        outcomes.append(Outcome(report, matches[0].issue if matches else None))
    return outcomes


@dataclass(frozen=True)
class Score:
    positives: int
    right_first: int
    negatives: int
    alarms: int

    @property
    def right_share(self) -> float:
        return self.right_first / self.positives if self.positives else 1.0

    @property
    def alarm_share(self) -> float:
        return self.alarms / self.negatives if self.negatives else 0.0


def score(outcomes: list[Outcome]) -> Score:
    positives = [o for o in outcomes if o.report.label]
    negatives = [o for o in outcomes if not o.report.label]
    return Score(len(positives), sum(o.right for o in positives), len(negatives),
                 sum(o.first is not None for o in negatives))


def summary(outcomes: list[Outcome]) -> str:
    rows = []
    for name, part in [*((s, [o for o in outcomes if o.report.split == s]) for s in SPLITS), ("all", outcomes)]:
        result = score(part)
        rows.append([name, f"{result.right_first}/{result.positives}", f"{result.right_share:.1%}",
                     f"{result.alarms}/{result.negatives}", f"{result.alarm_share:.1%}"])
    return tabulate(rows, headers=["split", "right first", "%", "false alarms", "%"], tablefmt="github")


def per_label(outcomes: list[Outcome]) -> str:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        groups[outcome.report.label or "null (negatives)"].append(outcome)
    rows = []
    for label in sorted(groups, key=lambda name: (name.startswith("null"), name)):
        cells = [label]
        for split in (*SPLITS, None):
            part = [o for o in groups[label] if split is None or o.report.split == split]
            cells.append(f"{sum(o.right for o in part)}/{len(part)}" if part else "-")
        rows.append(cells)
    return tabulate(rows, headers=["label", "heldout right", "tune right", "all right"], tablefmt="github")


def misses(outcomes: list[Outcome]) -> str:
    wrong = [o for o in outcomes if not o.right]
    return "\n".join(f"{o.report.name}: labelled {o.report.label}, explain says {o.first}" for o in wrong)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vlmcompat.explain.score", description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=REPORTS, help="folder of report JSON files")
    parser.add_argument("--split", choices=(*SPLITS, "all"), default="all", help="the split --misses lists")
    parser.add_argument("--misses", action="store_true", help="list the reports explain gets wrong")
    args = parser.parse_args(argv)
    try:
        outcomes = run(load(args.folder))
    except (OSError, ValueError, KeyError) as exc:
        print(f"cannot read the reports in {args.folder}: {exc}", file=sys.stderr)
        return 2
    print(summary(outcomes), per_label(outcomes), sep="\n\n")
    if args.misses:
        chosen = [o for o in outcomes if args.split == "all" or o.report.split == args.split]
        print("\n" + (misses(chosen) or "no misses"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Generated blocks of README.md: the probe table (from the probe registry and the committed
matrix) and the known-issue list (from the catalogue).

    python scripts/readme_blocks.py            # rewrite the blocks in README.md
    python scripts/readme_blocks.py --check    # exit 1 when a block is stale (the tests run this)

A block sits between ``<!-- generated: NAME -->`` and ``<!-- end generated: NAME -->``; only
what is between the markers is rewritten.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vlmcompat import known_issues, pins, probes  # noqa: E402
from vlmcompat.commands import pins as pins_cmd  # noqa: E402
from vlmcompat.paths import CATALOGUE_DOC  # noqa: E402
from vlmcompat.report import is_environment, summary  # noqa: E402
from vlmcompat.report.marks import link_definitions, seen_ids, table  # noqa: E402
from vlmcompat.results import Mode, ProbeResult, Status, load_merged  # noqa: E402

README = ROOT / "README.md"
MATRIX_REPORT = ROOT / "reports" / "compat.json"
SWEEP_REPORT = ROOT / "reports" / "sweep" / "compat.json"
EXCERPT = ("t4.28.0-tok0.13.2-peft0.8.2", "t4.44.0-tok0.19.1-peft0.16.0", "t4.53.3-tok0.21.1-peft0.16.0", "newest")


def _families(probe: probes.Probe) -> str:
    if probe.families is None:
        return "every family"
    if all(is_environment(ProbeResult(probe.name, f, Mode.NATIVE, Status.SKIP)) for f in probe.families):
        return "environment"
    return f"{len(probe.families)} families" if len(probe.families) > 2 else ", ".join(probe.families)


def _seen(report: Path) -> dict[str, list[str]]:
    """probe -> the known-issue ids its native runs failed with in the committed matrix (catalogue order)."""
    found: dict[str, set[str]] = {}
    for cell in load_merged(report):
        for r in cell.results:
            if r.mode is Mode.NATIVE and r.status is Status.FAIL and r.issue:
                found.setdefault(r.probe, set()).add(r.issue)
    order = {issue_id: i for i, issue_id in enumerate(known_issues.IDS)}
    return {probe: sorted(ids, key=lambda i: order.get(i, len(order))) for probe, ids in found.items()}


def probes_block(report: Path = MATRIX_REPORT) -> str:
    registered = probes.all_probes()
    seen = _seen(report)
    rows = [[f"`{name}`", probe.summary, _families(probe), ", ".join(f"`{i}`" for i in seen.get(name, [])) or "—"]
            for name, probe in registered.items()]
    intro = (f"{len(registered)} probes (the registry in `vlmcompat/probes/__init__.py`; `vlmcompat probe --list`). "
             "The last column lists the known issues each probe's stock run failed with in the committed "
             "default matrix (`reports/compat.json`).")
    return intro + "\n\n" + table(rows, ["probe", "what it checks", "families", "native failures in the matrix"])


def issues_block() -> str:
    issues = known_issues.all_issues()
    lines = [f"{len(issues)} known-issue ids (stable; cause, fix, affected ranges and their evidence in "
             f"[`{CATALOGUE_DOC.as_posix()}`]({CATALOGUE_DOC.as_posix()}), "
             "from `vlmcompat/data/known_issues.toml`):", ""]
    lines += [f"- [`{i.id}`]({CATALOGUE_DOC.as_posix()}#{i.id}) — {i.title}"
              + ("" if i.affected else " (no release avoids it: not a pin problem)") for i in issues]
    return "\n".join(lines)


def summary_block(report: Path = MATRIX_REPORT) -> str:
    """Four rows of the committed default matrix's summary table, links resolved from the README."""
    cells = [c for c in load_merged(report) if c.cell in EXCERPT]
    links = link_definitions(seen_ids(cells), CATALOGUE_DOC.as_posix())
    return summary.render(cells) + "\n\n" + "\n".join(links)


def pins_block(report: Path = SWEEP_REPORT) -> str:
    """`vlmcompat pins` on the committed sweep, as the terminal shows it."""
    result = pins.compute(load_merged(report), ["instructblip-t5"])
    text = pins_cmd.render(result, "requirements", f"{report.relative_to(ROOT)} ({len(load_merged(report))} cells)")
    return "```console\n$ vlmcompat pins --family instructblip-t5 --report reports/sweep/compat.json\n" + text + "```"


BLOCKS = {"probes": probes_block, "known-issues": issues_block, "summary-excerpt": summary_block,
          "pins-sweep": pins_block}


def pattern(name: str) -> re.Pattern[str]:
    start, end = re.escape(f"<!-- generated: {name} -->"), re.escape(f"<!-- end generated: {name} -->")
    return re.compile(rf"({start}\n)(?:.*?\n)?({end})", re.S)


def render(text: str) -> str:
    """``text`` with every generated block rewritten; a block whose markers are missing is an error."""
    for name, make in BLOCKS.items():
        found = pattern(name)
        if not found.search(text):
            raise SystemExit(f"README.md has no <!-- generated: {name} --> ... <!-- end generated: {name} --> block")
        block = make()
        text = found.sub(lambda m, block=block: m.group(1) + block + "\n" + m.group(2), text, count=1)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when README.md's generated blocks are stale")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    fresh = render(text)
    if args.check:
        if fresh != text:
            print("README.md: generated blocks are stale; run `python scripts/readme_blocks.py`", file=sys.stderr)
            return 1
        return 0
    README.write_text(fresh, encoding="utf-8")
    print("README.md: generated blocks rewritten" if fresh != text else "README.md: generated blocks up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

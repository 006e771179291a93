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

from vlmcompat import known_issues, probes  # noqa: E402
from vlmcompat.report import is_environment  # noqa: E402
from vlmcompat.report.marks import table  # noqa: E402
from vlmcompat.results import Mode, ProbeResult, Status, load_merged  # noqa: E402

README = ROOT / "README.md"
MATRIX_REPORT = ROOT / "reports" / "compat.json"


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
             f"[`{known_issues.CATALOGUE_PATH}`]({known_issues.CATALOGUE_PATH}), "
             "from `vlmcompat/known_issues.py`):", ""]
    lines += [f"- [`{i.id}`]({known_issues.CATALOGUE_PATH}#{i.id}) — {i.title}"
              + ("" if i.affected else " (no release avoids it: not a pin problem)") for i in issues]
    return "\n".join(lines)


BLOCKS = {"probes": probes_block, "known-issues": issues_block}


def pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- generated: {re.escape(name)} -->\n)(?:.*?\n)?(<!-- end generated: {re.escape(name)} -->)",
                      re.S)


def render(text: str) -> str:
    """``text`` with every generated block rewritten; a block whose markers are missing is an error."""
    for name, make in BLOCKS.items():
        found = pattern(name)
        if not found.search(text):
            raise SystemExit(f"README.md has no <!-- generated: {name} --> ... <!-- end generated: {name} --> block")
        text = found.sub(lambda m: m.group(1) + make() + "\n" + m.group(2), text, count=1)
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

"""Rewrite the expected renderer outputs under tests/fixtures/ after a deliberate renderer change.

    python scripts/regenerate_report_fixtures.py      # then review `git diff tests/fixtures`

The tests compare the renderers with these files byte for byte; this script is the one way to
change them, so every change shows up as a diff to review.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vlmcompat import pins  # noqa: E402
from vlmcompat.commands import pins as pins_cmd  # noqa: E402
from vlmcompat.report import markdown, step_summary  # noqa: E402
from vlmcompat.results import load_merged  # noqa: E402
from vlmcompat.results import load_results as load_cells  # noqa: E402

RESULTS = ROOT / "tests" / "fixtures" / "results"
REPORT = ROOT / "tests" / "fixtures" / "report"
BASELINE_LABEL = "baseline.json"
PIN_CASES = {  # file name -> (families, patched)
    "pins-instructblip-t5.txt": (["instructblip-t5"], False),
    "pins-instructblip-t5-patched.txt": (["instructblip-t5"], True),
    "pins-llava-patched.txt": (["llava"], True),
    "pins-all-patched.txt": (None, True),
}


def outputs() -> dict[Path, str]:
    """Every expected file and its text, from the renderers as they are now."""
    synthetic = load_cells(RESULTS)
    cells = load_cells(REPORT / "cells")
    baseline = load_merged(REPORT / "baseline.json")
    found = {
        RESULTS / "expected" / "compat.md": markdown.render(synthetic),
        REPORT / "expected" / "compat.md": markdown.render(cells, baseline, picture="compat.svg",
                                                           baseline_label=BASELINE_LABEL),
        REPORT / "expected" / "step_summary.md": step_summary.render(cells, baseline, BASELINE_LABEL),
    }
    for name, (families, patched) in PIN_CASES.items():
        found[REPORT / "expected" / name] = pins_cmd.render(pins.compute(cells, families, patched), "requirements",
                                                            "cells/")
    return found


def main() -> int:
    for path, text in outputs().items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

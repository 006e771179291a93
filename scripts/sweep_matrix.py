"""Write matrices/sweep.toml: the newest patch of every transformers minor from 4.27 on, each
paired with the peft a user had then and with the newest peft that imports with it.

    python scripts/sweep_matrix.py                 # rewrites matrices/sweep.toml from PyPI
    python scripts/sweep_matrix.py --until 2026-10-01 --out other.toml

*Of its time* means, for peft, the newest release uploaded to PyPI on or before the day the
transformers patch was; for trl, what ``uv pip compile`` resolves beside that transformers with
the index as it was the next day (``--exclude-newer``), so trl's own bounds decide. *Newest that
imports* comes from the measured table in :mod:`vlmcompat.peft_pins` (the newest peft whose
measured range imports this transformers), not from declared bounds: no peft release declares
one. tokenizers is left to the resolver: transformers pins it to the releases it supports, so the
resolver's choice is the one of its time. Pre-releases and yanked files are skipped. Nothing here
runs a model; the matrix it writes is run with
``VLMCOMPAT_MATRIX=matrices/sweep.toml VLMCOMPAT_REPORTS=reports/sweep nox -s matrix``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vlmcompat import peft_pins  # noqa: E402

INDEX = "https://pypi.org/pypi"
SPELLING: dict[tuple[str, Version], str] = {}  # the index's own spelling of each release (0.1 vs 0.1.0)
FIRST_MINOR = Version("4.27")


def releases(package: str) -> dict[Version, dt.date]:
    """Every final, non-yanked release of ``package`` with the day its first file was uploaded."""
    with urllib.request.urlopen(f"{INDEX}/{package}/json", timeout=60) as response:
        data = json.load(response)
    found = {}
    for text, files in data["releases"].items():
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        files = [f for f in files if not f.get("yanked")]
        if files and not version.is_prerelease and not version.is_devrelease:
            found[version] = min(dt.date.fromisoformat(f["upload_time"][:10]) for f in files)
            SPELLING[(package, version)] = text
    return found


def resolved_trl(transformers: Version, day: dt.date) -> str | None:
    """The trl uv resolves beside ``transformers==X`` with the index as it was the day after ``day``."""
    cutoff = (day + dt.timedelta(days=1)).isoformat()
    proc = subprocess.run(["uv", "pip", "compile", "-", "--exclude-newer", cutoff, "--python-version", "3.11",
                           "--no-header", "--no-annotate", "-q"],
                          input=f"transformers=={transformers}\ntrl\n", capture_output=True, text=True, timeout=300)
    for line in proc.stdout.splitlines():
        if line.startswith("trl=="):
            return line.split("==", 1)[1].strip()
    return None  # no trl resolves with it (none released yet, or none admits it)


def newest_patches(all_releases: dict[Version, dt.date], until: dt.date) -> list[Version]:
    by_minor: dict[tuple[int, int], Version] = {}
    for version, day in all_releases.items():
        if version >= FIRST_MINOR and day <= until:
            key = version.release[:2]
            by_minor[key] = max(by_minor.get(key, version), version)
    return [by_minor[key] for key in sorted(by_minor)]


def of_its_time(candidates: dict[Version, dt.date], day: dt.date) -> Version | None:
    return max((v for v, d in candidates.items() if d <= day), default=None)


def newest_importing(transformers: Version) -> Version | None:
    """The newest measured peft whose imports-range holds ``transformers``."""
    for row in sorted(peft_pins.MEASURED, key=lambda r: r.version, reverse=True):
        if transformers < Version(row.min_imports):
            continue
        if row.trains_below and transformers >= Version(row.trains_below):
            continue
        if not all(transformers in Requirement(f"x{hole}").specifier for hole in row.holes):
            continue
        return row.version
    return None


def sweep(until: dt.date) -> list[dict]:
    transformers = releases("transformers")
    peft = releases("peft")
    cells = []
    for version in newest_patches(transformers, until):
        day = transformers[version]
        dated = of_its_time(peft, day)
        newest = newest_importing(version)
        trl_then = resolved_trl(version, day)
        pefts = [p for p in dict.fromkeys([dated, newest]) if p is not None]
        for p in pefts:
            cells.append({"transformers": str(version), "peft": str(p), "trl": trl_then,
                          "day": day.isoformat(), "why": "of its time" if p == dated else "newest that imports"})
    return cells


def render(cells: list[dict], until: dt.date) -> str:
    lines = [
        "# The sweep: the newest patch of every transformers minor from 4.27, each with the peft a user",
        "# had then and the newest peft that imports with it (vlmcompat/peft_pins.py), and the trl of",
        f"# its time. Written by scripts/sweep_matrix.py from PyPI (releases up to {until}); do not edit.",
        "#",
        "#   VLMCOMPAT_MATRIX=matrices/sweep.toml VLMCOMPAT_REPORTS=reports/sweep nox -s matrix -j 2",
        "",
    ]
    for cell in cells:
        lines += ["[[cell]]", f"# transformers released {cell['day']}; peft: {cell['why']}",
                  f'transformers = "{cell["transformers"]}"', f'peft = "{cell["peft"]}"']
        if cell["trl"]:
            lines.append(f'trl = "{cell["trl"]}"')
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--until", type=dt.date.fromisoformat, default=dt.date.today(),
                        help="ignore releases uploaded after this day (YYYY-MM-DD)")
    parser.add_argument("--out", type=Path, default=ROOT / "matrices" / "sweep.toml")
    args = parser.parse_args(argv)
    cells = sweep(args.until)
    args.out.write_text(render(cells, args.until), encoding="utf-8")
    print(f"wrote {args.out} ({len(cells)} cells)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

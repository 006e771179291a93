"""Build a cell from requirements and run ``vlmcompat probe`` inside it.

Used by ``vlmcompat gate --requirements`` (a user's own pins) and ``vlmcompat bisect`` (one
cell per release). Cells live under the cache directory (``$VLMCOMPAT_CACHE``, default
``~/.cache/vlmcompat``), keyed by their requirements, and are reused while their install record
says they installed. vlmcompat itself is not installed into the cell: a ``.pth`` file puts a
directory holding only a link to this vlmcompat package on the cell's ``sys.path`` (works for a
source checkout and an installed wheel alike, and adds nothing else from the host).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from vlmcompat import cells
from vlmcompat.errors import EnvironmentProblem
from vlmcompat.results import CellResult, InstallInfo, InstallStatus, load_cell, read_json, write_json_atomic

SELF_PTH = "_vlmcompat_self.pth"
INSTALL_RECORD = "vlmcompat-install.json"
RUNTIME_REQUIREMENTS = ["tabulate"]  # what vlmcompat needs beyond the stack (packaging comes with it)


def cache_root() -> Path:
    return Path(os.environ.get("VLMCOMPAT_CACHE", Path.home() / ".cache" / "vlmcompat"))


def cell_dir(requirements: list[str], root: Path | None = None) -> Path:
    key = hashlib.sha256("\n".join(sorted(requirements)).encode()).hexdigest()[:12]
    return (root or cache_root()) / "cells" / key


def self_link_dir(root: Path | None = None) -> Path:
    """A directory holding only a link named ``vlmcompat`` to this package."""
    package = Path(__file__).resolve().parent
    target = (root or cache_root()) / f"self-{hashlib.sha256(str(package).encode()).hexdigest()[:12]}"
    link = target / "vlmcompat"
    if not link.exists():
        target.mkdir(parents=True, exist_ok=True)
        try:
            link.symlink_to(package, target_is_directory=True)
        except FileExistsError:
            pass
    return target


def build(requirements: list[str], venv: Path | None = None, reuse: bool = True) -> tuple[Path, InstallInfo]:
    """A cell with ``requirements`` (torch shared from the host) that can run ``python -m vlmcompat``."""
    venv = venv or cell_dir(requirements)
    record = venv / INSTALL_RECORD
    if reuse and record.is_file():
        info = InstallInfo.from_dict(read_json(record))
        if info.status is InstallStatus.OK:
            return venv, info
    info = cells.create(venv, [*requirements, *RUNTIME_REQUIREMENTS])
    if info.status is InstallStatus.OK:
        (cells.site_packages(venv) / SELF_PTH).write_text(str(self_link_dir()) + "\n")
        write_json_atomic(record, info.to_dict())
    return venv, info


def run_probe(venv: Path, cell: str, out: Path, families: list[str] | None = None, probes: list[str] | None = None,
              timeout: float = 300.0) -> CellResult:
    """``vlmcompat probe --json OUT`` in the cell; the CellResult it wrote."""
    cmd = [str(venv / "bin" / "python"), "-m", "vlmcompat", "probe", "--json", str(out), "--cell", cell,
           "--timeout", str(timeout)]
    for family in families or []:
        cmd += ["--family", family]
    for probe in probes or []:
        cmd += ["--probe", probe]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["VLMCOMPAT_CACHE"] = str(cache_root())
    out.unlink(missing_ok=True)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout * 4 + 120)
    if not out.is_file():
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
        raise EnvironmentProblem(f"`vlmcompat probe` wrote no result in {venv} (exit {proc.returncode}): "
                                 f"{' | '.join(tail)[:400]}; run `{' '.join(cmd)}` to see why")
    return load_cell(out)


def failed_install_cell(cell: str, info: InstallInfo) -> CellResult:
    return CellResult(cell=cell, install=info)


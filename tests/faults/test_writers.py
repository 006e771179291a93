"""Concurrent report writers (every parallel cell refreshes the report when it ends): the files
are always whole and the last writer's view is complete."""

import json
import re

from tests.faults.conftest import cell_json

WRITER = """
import sys
from vlmcompat.commands.report import write_reports
for _ in range(5):
    write_reports(sys.argv[1], sys.argv[2], sys.argv[3])
"""


def test_parallel_report_writers_never_leave_a_torn_file(faults, tmp_path):
    cells = tmp_path / "cells"
    for i in range(12):
        cell_json(cells / f"c{i}.json", cell=f"c{i}")
    md, merged = tmp_path / "compat.md", tmp_path / "compat.json"
    writers = [faults.popen("-c", WRITER, str(cells), str(md), str(merged)) for _ in range(4)]
    for proc in writers:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
    data = json.loads(merged.read_text())
    assert [c["cell"] for c in data["cells"]] == sorted(f"c{i}" for i in range(12))
    summary = md.read_text(encoding="utf-8").split("## Summary", 1)[1].split("\n## ", 1)[0]
    assert sorted(re.findall(r"^\| (c\d+)\b", summary, re.M)) == sorted(f"c{i}" for i in range(12))
    # compat.svg is drawn where matplotlib is installed (the report extra)
    names = sorted(p.name for p in tmp_path.iterdir() if p.name != "compat.svg")
    assert names == ["cells", "compat.json", "compat.md", "plugins"]

"""README.md's generated blocks (probe table, known-issue list) match the registry and the
catalogue, and the CI workflow gates against the right baseline."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from vlmcompat import known_issues, probes
from vlmcompat.paths import CATALOGUE_DOC

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "readme_blocks.py"


def test_generated_blocks_are_fresh():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--check"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_blocks_count_what_the_registry_and_the_catalogue_hold():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"{len(probes.all_probes())} probes (the registry" in text
    assert f"{len(known_issues.IDS)} known-issue ids" in text
    for issue_id in known_issues.IDS:
        assert f"[`{issue_id}`]({CATALOGUE_DOC.as_posix()}#{issue_id})" in text
    for name in probes.all_probes():
        assert f"| `{name}` " in text


def test_a_stale_block_is_reported(tmp_path, monkeypatch):
    sys.path.insert(0, str(SCRIPT.parent))
    try:
        import readme_blocks
    finally:
        sys.path.remove(str(SCRIPT.parent))
    stale = tmp_path / "README.md"
    blocks = "".join(f"<!-- generated: {name} -->\nSTALE TEXT\n<!-- end generated: {name} -->\n"
                     for name in readme_blocks.BLOCKS)
    stale.write_text("x\n" + blocks, encoding="utf-8")
    monkeypatch.setattr(readme_blocks, "README", stale)
    assert readme_blocks.main(["--check"]) == 1
    assert readme_blocks.main([]) == 0 and readme_blocks.main(["--check"]) == 0
    assert "STALE TEXT" not in stale.read_text(encoding="utf-8")


def test_ci_gates_pull_requests_against_the_base_branch():
    workflow = (ROOT / ".github" / "workflows" / "compat.yml").read_text(encoding="utf-8")
    assert "--baseline-ref HEAD" not in workflow  # on a pull request HEAD is the merge commit
    assert 'ref="origin/$BASE_REF"' in workflow and "BASE_REF: ${{ github.base_ref }}" in workflow
    assert workflow.count('--baseline-ref "${{ steps.baseline.outputs.ref }}"') == 2  # report and gate
    assert '--step-summary "$GITHUB_STEP_SUMMARY"' in workflow

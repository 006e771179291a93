"""On real old tokenizers releases: native loads fail with tokenizer-format, migration restores identical ids."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = [pytest.mark.cells, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
EXPECTED_REFUSALS = {("llama2-bpe", "0.13.2")}  # decoders.Replace/ByteFallback/Fuse/Strip are 0.13.3+

CHECK = r"""
import json, sys
from vlmcompat.probes.base import ProbeFailed
from vlmcompat.probes.tokenizer_format import FIXTURES, fixture_names, load_reference, run
from vlmcompat.results import Mode
out = {}
try:
    out["native"] = {"status": "pass", "metrics": run("*", Mode.NATIVE)}
except ProbeFailed as exc:
    out["native"] = {"status": "fail", "issue": exc.issue, "message": str(exc), "metrics": exc.metrics}
out["patched"] = run("*", Mode.PATCHED)
import vlmcompat.patch  # the load patch: Tokenizer.from_file migrates in memory
from tokenizers import Tokenizer
reference = load_reference()
loaded = {}
for name in fixture_names(reference):
    try:
        tok = Tokenizer.from_file(str(FIXTURES / f"{name}.json"))
    except Exception as exc:
        loaded[name] = "error: " + str(exc).splitlines()[0]
        continue
    loaded[name] = "ok" if [tok.encode(s).ids for s in reference["corpus"]] == reference["ids"][name] else "ids differ"
out["load_patch"] = loaded
print(json.dumps(out))
"""


@pytest.mark.parametrize("version", ["0.13.2", "0.15.2", "0.19.1"])
def test_old_tokenizers_fail_natively_and_load_after_migration(cell, version):
    tok = cell(f"tokenizers=={version}")
    env = tok.env()
    env.pop("VLMCOMPAT_NO_AUTOPATCH", None)
    out = tok.run_json("-c", CHECK, env=env, timeout=300)

    native = out["native"]
    assert native["status"] == "fail" and native["issue"] == "tokenizer-format", native
    assert native["metrics"]["tokenizers"] == version
    failed = {name for name, outcome in native["metrics"]["fixtures"].items() if outcome != "ok"}
    assert {"llama2-bpe", "opt-bytelevel", "qwen2-bytelevel"} <= failed  # BPE merges as pairs (0.20+)
    if version != "0.19.1":
        assert "t5-unigram" in failed  # Metaspace prepend_scheme/split (0.19+)
    for name in failed:
        assert f"{name}.json" in native["message"]

    for name, outcome in out["patched"]["fixtures"].items():
        if (name, version) in EXPECTED_REFUSALS:
            assert outcome.startswith("refused: ") and "does not exist before tokenizers 0.13.3" in outcome
        else:
            assert outcome.startswith("ok"), (name, outcome)

    for name, outcome in out["load_patch"].items():
        if (name, version) in EXPECTED_REFUSALS:
            assert outcome.startswith("error: data did not match any variant of untagged enum")
        else:
            assert outcome == "ok", (name, outcome)

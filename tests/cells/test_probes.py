"""The probe engine in real environments with other library versions (uv cells sharing the
host's torch). These are the issue's acceptance cells: transformers 4.44.0 and 4.53.3 with
peft 0.16.0 must show the native failures with the right ids and every patched result pass."""

import pytest

pytestmark = [pytest.mark.cells, pytest.mark.slow]

CASES = {
    "t4.44.0-peft0.16.0": (["transformers==4.44.0", "tokenizers==0.19.1", "peft==0.16.0"], "inputs-embeds-unexpected"),
    "t4.53.3-peft0.16.0": (["transformers==4.53.3", "tokenizers==0.21.1", "peft==0.16.0"], "inputs-embeds-duplicate"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_cell_native_diagnoses_and_patched_passes(name, cell, tmp_path):
    requirements, wrapper_issue = CASES[name]
    by_key = cell(*requirements).probe(tmp_path, ["peft-wrapper", "training-step", "image-tokens"], name=name)
    for family in ("instructblip-t5", "instructblip-llama"):
        native = by_key[("peft-wrapper", family, "native")]
        assert (native.status.value, native.issue) == ("fail", wrapper_issue), native
        native_train = by_key[("training-step", family, "native")]
        assert native_train.issue == wrapper_issue, native_train
    if name.startswith("t4.44"):
        # 4.31-4.44 accept expanded inputs silently and treat the image tokens as text
        silent = by_key[("image-tokens", "instructblip-t5", "native")]
        assert (silent.status.value, silent.issue) == ("fail", "image-token-expansion"), silent
    for key, result in by_key.items():
        if key[2] == "patched":  # pass, or skip naming what this release lacks (the current VLMs on 4.x)
            assert result.status.value == "pass" or (result.status.value == "skip" and result.reason), result

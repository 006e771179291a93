"""explain: real error texts produced in this repository's cells (tests/fixtures/errors, see its README) and the
ways people paste them; the command's output. The public reports are scored in test_explain_corpus.py, the
family rules tested in test_explain_families.py, time and signature safety in test_explain_speed.py."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from vlmcompat import cli, explain

ERRORS = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "errors"


def real(name: str) -> str:
    return (ERRORS / name).read_text()


def last_line(text: str) -> str:
    return text.rstrip().splitlines()[-1]


def ids(text: str) -> list[str]:
    return [m.issue for m in explain.explain(text)]


REAL = [
    ("peft-seq2seq-t4.44.0-p0.16.0.txt", "inputs-embeds-unexpected"),
    ("peft-seq2seq-trainer-t4.44.0-p0.16.0.txt", "inputs-embeds-unexpected"),
    ("peft-causal-t4.44.0-p0.16.0.txt", "inputs-embeds-unexpected"),
    ("blip2-peft-seq2seq-t4.44.0-p0.16.0.txt", "inputs-embeds-unexpected"),
    ("peft-seq2seq-t4.53.3-p0.16.0.txt", "inputs-embeds-duplicate"),
    ("peft-causal-t4.53.3-p0.16.0.txt", "inputs-embeds-duplicate"),
    ("import-instructblip-t4.28.0.txt", "model-class-missing"),
    ("import-llava-t4.28.0.txt", "model-class-missing"),
    ("attribute-instructblip-t4.28.0.txt", "model-class-missing"),
    ("module-llava-t4.28.0.txt", "model-class-missing"),
    ("peft-import-t4.40.0-p0.16.0.txt", "peft-import"),
    ("peft-import-t4.43.4-p0.16.0.txt", "peft-import"),
    ("image-token-none-t4.55.4.txt", "image-token-expansion"),
    ("tokenizer-normalizer-tok0.13.2.txt", "tokenizer-format"),
    ("tokenizer-decoder-tok0.13.2.txt", "tokenizer-format"),
    ("tokenizer-pre_tokenizer-tok0.13.2.txt", "tokenizer-format"),
    ("tokenizer-model-tok0.13.2.txt", "tokenizer-format"),
]


@pytest.mark.parametrize("name, issue", REAL)
def test_whole_real_traceback_is_recognised_alone_and_certain(name, issue):
    matches = explain.explain(real(name))
    assert [m.issue for m in matches] == [issue]
    assert matches[0].confidence == explain.CERTAIN


@pytest.mark.parametrize("name, issue", REAL)
def test_last_line_alone_is_recognised(name, issue):
    assert ids(last_line(real(name)))[:1] == [issue]


@pytest.mark.parametrize("name, issue", REAL)
def test_hard_wrapped_mid_word_is_recognised_after_unwrapping(name, issue):
    line = last_line(real(name))
    wrapped = "\n".join(line[i:i + 23] for i in range(0, len(line), 23))  # a narrow terminal
    matches = explain.explain(wrapped)
    assert matches[0].issue == issue
    # wrapping caps the confidence; it never raises what the line alone says (a last line without the
    # traceback does not show that peft imported the symbol, or that PEFT called the forward)
    assert matches[0].confidence == min(explain.explain(line)[0].confidence, explain.UNWRAPPED)
    assert matches[0].decided_by.endswith("(after undoing line wrapping)")


@pytest.mark.parametrize("name, issue", REAL)
def test_word_wrapped_chat_paste_is_recognised(name, issue):
    wrapped = textwrap.fill(last_line(real(name)), width=30, break_long_words=False)
    assert ids(wrapped)[:1] == [issue]


@pytest.mark.parametrize("name, issue", REAL)
def test_ansi_coloured_notebook_output_is_recognised(name, issue):
    exc_type, _, message = last_line(real(name)).partition(": ")
    coloured = f"\x1b[0;31m{exc_type}\x1b[0m: {message}"
    assert ids(coloured)[:1] == [issue]
    # the same, pasted from a page that dropped the ESC characters
    assert ids(coloured.replace("\x1b", ""))[:1] == [issue]


def test_ansi_codes_inside_the_message_are_removed():
    line = last_line(real("peft-seq2seq-t4.44.0-p0.16.0.txt"))
    coloured = line.replace("inputs_embeds", "\x1b[1;32minputs_embeds\x1b[0m")
    assert explain.explain(coloured)[0].issue == "inputs-embeds-unexpected"
    # the colour codes change nothing: same confidence as the plain line (no wrapping to undo)
    assert explain.explain(coloured)[0].confidence == explain.explain(line)[0].confidence == explain.LIKELY


@pytest.mark.parametrize("model_class, argument, issue", [
    ("Blip2ForConditionalGeneration", "inputs_embeds", "inputs-embeds-unexpected"),
    ("IdeficsForVisionText2Text", "inputs_embeds", "inputs-embeds-unexpected"),
    ("InstructBlipForConditionalGeneration", "decoder_inputs_embeds", "inputs-embeds-unexpected"),
    ("Pix2StructForConditionalGeneration", "decoder_inputs_embeds", "inputs-embeds-unexpected"),
    # Kosmos-2 is decoder-only: the SEQ_2_SEQ_LM wrapper's decoder_input_ids means the wrong task type
    ("Kosmos2ForConditionalGeneration", "decoder_input_ids", "peft-task-type-mismatch"),
    ("Qwen2_5_VLForConditionalGeneration", "decoder_input_ids", "peft-task-type-mismatch"),
])
def test_inputs_embeds_family_other_models_and_arguments(model_class, argument, issue):
    text = real("peft-seq2seq-t4.44.0-p0.16.0.txt").replace("InstructBlipForConditionalGeneration", model_class)
    text = text.replace("'inputs_embeds'", f"'{argument}'")
    match = explain.explain(text)[0]
    assert match.issue == issue
    assert match.confidence == explain.CERTAIN
    assert match.matched.startswith(f"{model_class}.forward()")


@pytest.mark.parametrize("symbol", ["LlavaForConditionalGeneration", "Blip2Processor", "LlavaNextConfig",
                                    "IdeficsForVisionText2Text", "Qwen2VLForConditionalGeneration"])
def test_other_missing_model_classes_are_model_class_missing(symbol):
    text = real("import-instructblip-t4.28.0.txt").replace("InstructBlipForConditionalGeneration", symbol)
    assert ids(text) == ["model-class-missing"]
    assert ids(f"AttributeError: module transformers has no attribute {symbol}") == ["model-class-missing"]
    assert ids(f"AttributeError: module 'transformers' has no attribute '{symbol}'") == ["model-class-missing"]


@pytest.mark.parametrize("last", [
    "ImportError: cannot import name 'HybridCache' from 'transformers' (/x/transformers/__init__.py)",
    "ModuleNotFoundError: No module named 'transformers.modeling_layers'",
    "ImportError: cannot import name 'EncoderDecoderCache' from 'transformers'",
])
def test_missing_symbol_inside_peft_is_peft_import_not_model_class(last):
    text = real("peft-import-t4.40.0-p0.16.0.txt")
    text = text.replace(last_line(text), last)
    matches = explain.explain(text)
    assert [m.issue for m in matches] == ["peft-import"]
    assert matches[0].confidence == explain.CERTAIN


def test_missing_model_class_imported_by_peft_is_peft_import():
    text = real("peft-import-t4.40.0-p0.16.0.txt").replace("EncoderDecoderCache", "Blip2ForConditionalGeneration")
    assert ids(text) == ["peft-import"]
    assert "/peft/" in text


@pytest.mark.parametrize("bare", [
    "ImportError: cannot import name 'HybridCache' from 'transformers'",
    "No module named 'transformers.modeling_layers'",
])
def test_bare_missing_symbol_without_context_is_peft_import_but_ambiguous(bare):
    matches = explain.explain(bare)
    assert [m.issue for m in matches] == ["peft-import"]
    assert matches[0].confidence == explain.AMBIGUOUS


def test_fix_carries_pin_advice_for_the_missing_symbol():
    fix = explain.explain(real("peft-import-t4.43.4-p0.16.0.txt"))[0].fix
    assert "HybridCache is first in transformers 4.44" in fix
    fix = explain.explain(real("peft-seq2seq-t4.53.3-p0.16.0.txt"))[0].fix
    assert "import vlmcompat.patch" in fix and "Affected: transformers" in fix


@pytest.mark.parametrize("text", [
    "RuntimeError: CUDA out of memory. Tried to allocate 20.00 MiB",
    "TypeError: forward() got an unexpected keyword argument 'pixel_values'",
    "ImportError: cannot import name 'soft_unicode' from 'markupsafe'",
    "just some words",
])
def test_unknown_errors_are_not_guessed(text):
    assert explain.explain(text) == []
    assert not explain.diagnose(text).recognised


def test_every_match_says_what_decided_it():
    for name, _ in REAL:
        for match in explain.explain(real(name)):
            assert match.decided_by and match.matched
    match = explain.explain(real("peft-seq2seq-t4.44.0-p0.16.0.txt"))[0]
    assert "peft in the traceback" in match.decided_by


def test_clean_removes_ansi_and_keeps_brackets():
    assert explain.clean("\x1b[0;31mTypeError\x1b[0m: x[0] [1m y") == "TypeError: x[0]  y"
    assert explain.clean("a[3m") == "a[3m"  # an index, not a colour code


# -- the command ---------------------------------------------------------------------------------

def test_cli_exit_codes_and_json(tmp_path, capsys):
    assert cli.main(["explain", str(ERRORS / "peft-seq2seq-t4.53.3-p0.16.0.txt"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [m["issue"] for m in data["matches"]] == ["inputs-embeds-duplicate"]
    assert set(data["matches"][0]) >= {"issue", "confidence", "cause", "fix"}

    assert data["matches"][0]["decided_by"]

    unknown = tmp_path / "unknown.txt"
    unknown.write_text("RuntimeError: CUDA out of memory.\n")
    assert cli.main(["explain", str(unknown), "--json"]) == 1
    assert json.loads(capsys.readouterr().out) == {"matches": [], "suggestions": []}
    assert cli.main(["explain", str(unknown)]) == 1
    assert "Not recognised" in capsys.readouterr().out

    # resembling a known issue without what decides it: suggestions, never a match
    bare = tmp_path / "bare.txt"
    bare.write_text("TypeError: forward() got an unexpected keyword argument 'inputs_embeds'\n")
    assert cli.main(["explain", str(bare), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["matches"] == [] and 2 <= len(data["suggestions"]) <= 3
    assert data["suggestions"][0]["issue"] == "inputs-embeds-unexpected"
    assert set(data["suggestions"][0]) == {"issue", "title", "why", "link"}
    assert cli.main(["explain", str(bare)]) == 1
    out = capsys.readouterr().out
    assert "Not recognised" in out and "suggestions, not a diagnosis" in out and "inputs-embeds-unexpected" in out

    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    assert cli.main(["explain", str(empty)]) == 2
    assert cli.main(["explain", str(tmp_path / "missing.txt")]) == 2
    assert re.search(r"cannot read .*missing.txt", capsys.readouterr().err)


def test_cli_reads_standard_input(monkeypatch, capsys):
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO(real("image-token-none-t4.55.4.txt")))
    assert cli.main(["explain", "-"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("image-token-expansion (confidence 0.95)")
    assert "fix:" in out


def test_legacy_loss_shape_needs_the_model_that_prepends_queries():
    """Measured here: InstructBLIP-LLaMA, legacy inputs with labels, transformers 4.53.3. The message alone comes
    from any loss over mis-shaped logits (two of the public reports are such look-alikes), so it is a suggestion."""
    line = "ValueError: Expected input batch_size (26) to match target batch_size (18)."
    frame = ('  File "/x/site-packages/transformers/models/instructblip/modeling_instructblip.py", line 1610, in '
             "forward\n")
    assert [m.issue for m in explain.explain(frame + line)] == ["legacy-loss-shape"]
    bare = explain.diagnose(line)
    assert bare.matches == [] and bare.suggestions[0].issue == "legacy-loss-shape"

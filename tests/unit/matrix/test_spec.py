from pathlib import Path

import pytest

from vlmcompat import matrix
from vlmcompat.errors import InputFileError, MatrixError

FIXTURES = Path(__file__).resolve().parents[3] / "tests" / "fixtures" / "matrix"
ROOT = Path(__file__).resolve().parents[3]


def error(text: str) -> str:
    with pytest.raises(MatrixError) as info:
        matrix.parse(text, "m.toml")
    return str(info.value)


def test_good_file_cells_in_order():
    m = matrix.load(FIXTURES / "good.toml")
    assert m.names == [
        "t4.44.0-tok0.19.1-peft0.16.0",
        "newest",
        "tge4.53+lt4.54-peft0.16.*-torch2.13.0".replace("*", "x"),
        "t4.31.0-peft0.8.2",
        "t4.44.0-peft0.8.2",
        "t4.44.0-peft0.13.2",
    ]


def test_requirements_and_torch():
    m = matrix.load(FIXTURES / "good.toml")
    assert m.cells[0].requirements == ["transformers==4.44.0", "tokenizers==0.19.1", "peft==0.16.0"]
    assert m.cells[0].torch is None
    assert m.get("newest").requirements == ["transformers", "tokenizers", "peft", "sentencepiece"]
    pinned = m.cells[2]
    assert pinned.requirements == ["transformers<4.54,>=4.53", "peft==0.16.*", "torch==2.13.0"]
    assert pinned.torch == "==2.13.0"


def test_expectations_match_patterns():
    cell = matrix.load(FIXTURES / "good.toml").cells[0]
    (exp,) = cell.expect
    assert exp == matrix.Expectation("peft-wrapper", "instructblip-*", "native", "fail", "inputs-embeds-unexpected",
                                     "forward() has no inputs_embeds before 4.52",
                                     "https://github.com/huggingface/peft/issues/1325")
    assert cell.expected("peft-wrapper", "instructblip-t5", "native") is exp
    assert cell.expected("peft-wrapper", "instructblip-t5", "patched") is None
    assert cell.expected("peft-wrapper", "llava", "native") is None


def test_product_exclude_expansion():
    m = matrix.parse('[[product]]\ntransformers = ["4.40.0", "4.44.0"]\ntokenizers = "0.19.1"\n'
                     'peft = ["0.8.2", "0.16.0"]\nexclude = [{transformers = "4.40.0", peft = "0.16.0"}]\n')
    assert m.names == ["t4.40.0-tok0.19.1-peft0.8.2", "t4.44.0-tok0.19.1-peft0.8.2", "t4.44.0-tok0.19.1-peft0.16.0"]


def test_product_expectations_apply_to_every_cell():
    m = matrix.parse('[[product]]\ntransformers = ["4.37.0", "4.40.0"]\npeft = "0.16.0"\n\n[[product.expect]]\n'
                     'probe = "*"\nstatus = "fail"\nissue = "peft-import"\nreason = "needs 4.43"\n')
    assert [len(c.expect) for c in m.cells] == [1, 1]
    assert m.cells[1].expected("peft-import", "llava", "patched").issue == "peft-import"


def test_get_unknown_cell():
    m = matrix.load(FIXTURES / "good.toml")
    with pytest.raises(MatrixError, match=r"no cell named 'nope'; cells: t4\.44\.0"):
        m.get("nope")


def test_unknown_key_line_and_message():
    text = (FIXTURES / "unknown_key.toml").read_text()
    assert error(text) == ("m.toml:7: unknown key 'tranformers' in cell 't4.44'; known keys: name, transformers, "
                           "tokenizers, peft, trl, torch, extras, expect, model, run")


def test_bad_specifier_line():
    msg = error((FIXTURES / "bad_specifier.toml").read_text())
    assert msg.startswith("m.toml:7: bad specifier '4.44..0' for transformers in cell 'broken'; use a version")


def test_duplicate_name_between_cell_and_product():
    msg = error((FIXTURES / "duplicate_name.toml").read_text())
    assert msg == ("m.toml:5: duplicate cell name 't4.44.0-peft0.16.0' (first at line 1); "
                   "give one of them another name")


def test_bad_expectation_status_line():
    msg = error((FIXTURES / "bad_expect.toml").read_text())
    assert msg.startswith("m.toml:11: bad status 'failed' in an expectation of cell #1; use one of: pass, fail")


@pytest.mark.parametrize("text, line, fragment", [
    ('[[cell]]\ntransformers = "4.44.0"\n[[cell.expect]]\nprobe = "x"\nstatus = "fail"\nreason = "r"\n'
     'issue = "no-such-issue"\n', 7, "unknown issue 'no-such-issue'"),
    ('[[cell]]\ntransformers = "4.44.0"\n[[cell.expect]]\nprobe = "x"\nstatus = "pass"\n', 3, "needs reason"),
    ('[[cell]]\npeft = "0.16.0"\n', 1, "does not say which transformers"),
    ('[[cell]]\ntransformers = 4.44\n', 2, "must be a string"),
    ('[[cell]]\nname = "a b"\ntransformers = "4.44.0"\n', 2, "bad cell name"),
    ('[[cel]]\ntransformers = "4.44.0"\n', 1, "unknown table 'cel'"),
    ('[[product]]\ntransformers = ["4.44.0"]\nexclude = [{peft = "0.16.0"},\n  {tokeniser = "0.19.1"}]\n', 4,
     "unknown key 'tokeniser' in an exclude"),
    ('[[cell]]\ntransformers = "4.44.0"\n[[cell]]\ntransformers = "4.44.0"\n', 3, "duplicate cell name"),
    ('[[cell]\ntransformers = "4.44.0"\n', 1, "not valid TOML"),
    ('', 1, "no cells"),
])
def test_errors_are_one_line_with_line_numbers(text, line, fragment):
    msg = error(text)
    assert msg.startswith(f"m.toml:{line}: ") and fragment in msg and "\n" not in msg


def test_matrix_error_is_an_input_file_error():
    assert issubclass(MatrixError, InputFileError)
    with pytest.raises(MatrixError, match="no such file"):
        matrix.load(FIXTURES / "missing.toml")


@pytest.mark.parametrize("spec, label", [
    ("", "newest"), ("==4.44.0", "4.44.0"), ("<4.54,>=4.53", "ge4.53+lt4.54"), ("~=4.53.0", "compat4.53.0"),
])
def test_version_label(spec, label):
    assert matrix.version_label(spec) == label


def test_default_matrix_has_the_required_cells():
    m = matrix.load(ROOT / "matrix.toml")
    pins = {tuple(c.requirements[:3]) for c in m.cells}
    for t, tok, peft in [("4.53.3", "0.21.1", "0.16.0"), ("4.44.0", "0.19.1", "0.16.0"),
                         ("4.37.0", "0.15.2", "0.16.0"), ("4.40.0", "0.19.1", "0.16.0"),
                         ("4.44.0", "0.19.1", "0.8.2"), ("4.28.0", "0.13.2", "0.8.2")]:
        assert (f"transformers=={t}", f"tokenizers=={tok}", f"peft=={peft}") in pins
    assert m.get("newest").requirements[:3] == ["transformers", "tokenizers", "peft"]
    assert 10 <= len(m.cells) <= 16

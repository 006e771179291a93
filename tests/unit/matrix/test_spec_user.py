"""``model`` and ``run`` in matrix.toml: top level for every cell, a cell's own value replaces it,
bad values are one line with the file and line."""

from __future__ import annotations

import pytest

from vlmcompat import matrix
from vlmcompat.errors import MatrixError


def parse(tmp_path, text: str):
    (tmp_path / "ckpt").mkdir(exist_ok=True)
    (tmp_path / "other").mkdir(exist_ok=True)
    return matrix.parse(text, str(tmp_path / "matrix.toml"))


def error(tmp_path, text: str) -> str:
    with pytest.raises(MatrixError) as info:
        parse(tmp_path, text)
    return str(info.value)


def test_top_level_model_and_run_reach_every_cell_and_a_cell_replaces_them(tmp_path):
    m = parse(tmp_path, 'model = "ckpt"\nrun = ["python train.py"]\n\n'
                        '[[cell]]\ntransformers = "4.44.2"\n\n'
                        '[[cell]]\ntransformers = "4.53.3"\nmodel = "other"\nrun = "pytest -x"\n')
    first, second = m.cells
    assert first.model == str(tmp_path / "ckpt") and first.run == ["python train.py"]
    assert second.model == str(tmp_path / "other") and second.run == ["pytest -x"]
    assert first.probe_args() == ["--model", str(tmp_path / "ckpt"), "--run", "python train.py",
                                  "--run-in", str(tmp_path)]


def test_a_product_takes_them_too_and_cells_without_them_pass_nothing(tmp_path):
    m = parse(tmp_path, '[[product]]\ntransformers = ["4.44.2", "4.53.3"]\nrun = ["make smoke"]\n\n'
                        '[[cell]]\ntransformers = "4.57.6"\n')
    assert [c.run for c in m.cells] == [[], ["make smoke"], ["make smoke"]]
    assert m.cells[0].probe_args() == []


def test_a_missing_model_folder_names_the_line(tmp_path):
    message = error(tmp_path, '[[cell]]\ntransformers = "4.44.2"\nmodel = "nowhere"\n')
    assert message.startswith(f"{tmp_path / 'matrix.toml'}:3: model 'nowhere' in cell #1: no such folder")


def test_bad_run_values_name_the_line(tmp_path):
    assert ":1: run in the matrix must be a list of commands" in error(tmp_path, 'run = [1]\n[[cell]]\n'
                                                                                 'transformers = "4.44.2"\n')
    assert ":4: run in cell #1 must be a list" in error(tmp_path, '[[cell]]\ntransformers = "4.44.2"\n\n'
                                                                   'run = []\n')
    assert ":2: model in cell #1 must be" in error(tmp_path, '[[cell]]\nmodel = 3\ntransformers = "4.44.2"\n')

"""[[pair]] tables: which writer cells a reader cell loads in the cross-release check."""

from __future__ import annotations

import pytest

from vlmcompat.errors import MatrixError
from vlmcompat.matrix import spec

CELLS = '[[cell]]\nname = "old"\ntransformers = "4.51.3"\n\n[[cell]]\nname = "new"\ntransformers = "4.52.4"\n'


def test_without_pairs_every_cell_reads_every_cell():
    matrix = spec.parse(CELLS)
    assert matrix.pairs == [] and matrix.writers_for("old") == ["old", "new"]


def test_pairs_choose_the_writers_of_each_reader():
    matrix = spec.parse(CELLS + '\n[[pair]]\nwriter = "old"\nreader = "new"\n')
    assert matrix.pairs == [("old", "new")]
    assert matrix.writers_for("new") == ["old"] and matrix.writers_for("old") == []


@pytest.mark.parametrize(("pair", "message"), [
    ('writer = "old"\nreader = "newest"\n', "matrix.toml:11: reader 'newest' in pair #1 is not a cell of this matrix; "
                                            "cells: old, new"),
    ('writer = "old"\n', "matrix.toml:9: reader None in pair #1 is not a cell of this matrix"),
    ('writer = "old"\nreader = "new"\nmode = "x"\n', "matrix.toml:12: unknown key 'mode' in pair #1"),
])
def test_a_bad_pair_is_one_line_with_its_line(pair, message):
    with pytest.raises(MatrixError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        spec.parse(CELLS + "\n[[pair]]\n" + pair)

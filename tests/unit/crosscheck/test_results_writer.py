"""The optional ``writer`` field of a result: written only when set, read back, validated like the others,
and part of the result's key (one reader cell holds a result per writer)."""

from __future__ import annotations

import pytest

from vlmcompat.errors import ResultsError
from vlmcompat.results import CellResult, Mode, ProbeResult, Status


def test_writer_round_trips_and_is_absent_when_unset():
    crossed = ProbeResult("crosscheck-adapter", "llava", Mode.NATIVE, Status.PASS, writer="t4.51.3")
    plain = ProbeResult("peft-wrapper", "llava", Mode.NATIVE, Status.PASS)
    cell = CellResult("t4.52.4", results=[crossed, plain])
    data = cell.to_dict()
    assert data["results"][0]["writer"] == "t4.51.3" and "writer" not in data["results"][1]
    again = CellResult.from_dict(data)
    assert again.results[0].writer == "t4.51.3" and again.results[1].writer is None
    assert crossed.key == ("crosscheck-adapter", "llava", "native", "t4.51.3")
    assert plain.key == ("peft-wrapper", "llava", "native")


def test_a_writer_that_is_not_a_string_is_one_line():
    data = CellResult("c", results=[ProbeResult("p", "f", Mode.NATIVE, Status.PASS, writer="w")]).to_dict()
    data["results"][0]["writer"] = 3
    with pytest.raises(ResultsError, match=r"^<cell>: results\[0\]\.writer: expected a string, got 3"):
        CellResult.from_dict(data)

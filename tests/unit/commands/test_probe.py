"""`vlmcompat probe` prints one line per result; the columns line up for every probe and family
name the registry knows and for every mark (some are one terminal column wide, some two)."""

from __future__ import annotations

import unicodedata

import pytest

from vlmcompat import probes, tiny
from vlmcompat.commands.probe import line
from vlmcompat.results import ENVIRONMENT, Mode, ProbeResult, Status


def columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def test_every_probe_family_and_status_lines_up():
    names = list(probes.all_probes())
    families = [*tiny.FAMILIES, ENVIRONMENT]
    lines = [line(ProbeResult(p, f, Mode.NATIVE, s, seconds=1.25)) for p in names for f in families for s in Status]
    # the mode column starts at the same terminal column on every line
    starts = {columns(text[:text.index(" native ")]) for text in lines}
    assert len(starts) == 1, sorted(starts)
    assert "gradient-checkpointing" in names  # the longest built-in name is covered


@pytest.mark.parametrize("status", list(Status))
def test_status_and_detail_are_shown(status):
    text = line(ProbeResult("nan-loss", "llava", Mode.PATCHED, status, issue="nan-loss-all-masked", seconds=2.5))
    assert f" patched  {status.value:<7}   2.50s  nan-loss-all-masked" in text

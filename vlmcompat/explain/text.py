"""The pasted text, made searchable in linear time.

People paste a whole log: megabytes of progress bars, a tensor printed on one 16,000-character line,
and — somewhere, usually at the end — the traceback. :func:`excerpt` keeps the part that decides:
the tail (the last exception and the frames above it) and, from anywhere before it, the lines that
carry an error or warning cue (a ``Found missing adapter keys`` warning printed early, the first
exception of a chain). Each kept piece is bounded, so what the rules search is at most a few hundred
kilobytes whatever was pasted; every pattern the rules use is linear in its input on top of that.

:func:`clean` removes ANSI colour codes (also the ESC-less remains a web page leaves) and carriage
returns; :func:`views` gives the cleaned excerpt as pasted and with line wrapping undone three ways.
"""

from __future__ import annotations

import re

LIMIT = 48_000  # texts up to this many characters are searched whole
TAIL = 24_000  # else: the last this many characters ...
WINDOW = 1_500  # ... and this much either side of each cue found before the tail,
SCAN = 2_000_000  # looked for in the first and the last this many characters before the tail
MAX_WINDOWS = 30  # (at most this many windows, the first and the last ones found)
# Substrings that mark a line worth keeping from a long log (looked for with str.find: C speed, no regex).
CUES = ("rror", "xception", "arning", "missing", "MISSING", "not match", "nan", "initialized", "not used", "ecognize",
        "ignored in loss", "response key", "Expanding inputs")

_ANSI = re.compile(r"\x1b\[[0-9;?]{0,32}[A-Za-z]|\x1b\][^\x07\x1b\n]{0,512}(?:\x07|\x1b\\)|(?<![\w\]])\[[0-9;]{1,12}m")
_SPACE_RUNS = re.compile(r"\s+")
_NEWLINE_INDENT = re.compile(r"\n[ \t]*")


def clean(text: str) -> str:
    """Remove ANSI colour codes (also their ESC-less remains) and carriage returns."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _ANSI.sub("", text)


def _line_window(text: str, position: int) -> tuple[int, int]:
    """The line around ``position``, at most WINDOW characters either side of it."""
    start = text.rfind("\n", max(0, position - WINDOW), position) + 1 or max(0, position - WINDOW)
    end = text.find("\n", position, position + WINDOW)
    return start, (end if end != -1 else min(len(text), position + WINDOW))


def _cue_positions(text: str, start: int, stop: int) -> list[int]:
    found: list[int] = []
    for cue in CUES:
        position = text.find(cue, start, stop)
        while position != -1 and len(found) < 4 * MAX_WINDOWS:
            found.append(position)
            line_end = text.find("\n", position, position + WINDOW)
            position = text.find(cue, line_end if line_end != -1 else position + WINDOW, stop)
    return found


def _cue_windows(text: str, stop: int) -> list[tuple[int, int]]:
    """Windows around the cues in the first and the last SCAN characters before ``stop``, merged, in order."""
    found = _cue_positions(text, 0, min(stop, SCAN))
    if stop > SCAN:
        found += _cue_positions(text, max(SCAN, stop - SCAN), stop)
    windows: list[tuple[int, int]] = []
    for position in sorted(found):
        start, end = _line_window(text, position)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], max(windows[-1][1], end))
        else:
            windows.append((start, end))
    half = MAX_WINDOWS // 2
    return windows[:half] + windows[-half:] if len(windows) > MAX_WINDOWS else windows


def excerpt(text: str) -> str:
    """The part of ``text`` that matters: all of it when short; else the cue lines before the tail, then the tail."""
    if len(text) <= LIMIT:
        return text
    tail_start = len(text) - TAIL
    newline = text.find("\n", tail_start, tail_start + WINDOW)
    tail_start = newline + 1 if newline != -1 else tail_start
    pieces = [text[start:end] for start, end in _cue_windows(text, tail_start)]
    return "\n".join([*pieces, text[tail_start:]])


def views(text: str) -> list[str]:
    """The cleaned text as pasted, then with line breaks undone: as spaces (word wraps), removed (a terminal's
    fixed-column wraps, which may split a word), and removed with the next line's indentation (wrapped logs)."""
    return [text, _SPACE_RUNS.sub(" ", text), text.replace("\n", ""), _NEWLINE_INDENT.sub("", text)]

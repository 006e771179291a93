"""Line numbers for matrix.toml messages.

tomllib parses values but says nothing about where a key was written, so this scans the
text: table headers (``[[cell]]``, ``[[cell.expect]]``) give each table's span of lines, and
a key is found as ``key =`` inside its table (or inside an inline table on a line of the
span). Spans are ``(first_line, end_line)``, 1-based, end exclusive. When a key cannot be
found the table's header line is used, so a message always points somewhere near.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(#.*)?$")


def _clean(name: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in name.split("."))


class Source:
    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.end = len(self.lines) + 1
        self.headers: list[tuple[int, str]] = []
        for number, line in enumerate(self.lines, start=1):
            match = _HEADER.match(line)
            if match:
                self.headers.append((number, _clean(match.group(1))))

    def table(self, name: str, index: int, within: tuple[int, int] | None = None,
              default: tuple[int, int] | None = None) -> tuple[int, int]:
        """The span of the ``index``-th ``[[name]]`` table (subtables included)."""
        lo, hi = within or (1, self.end)
        starts = [line for line, header in self.headers if header == name and lo <= line < hi]
        if index >= len(starts):
            return default or (lo, hi)
        start = starts[index]
        end = next((line for line, header in self.headers
                    if line > start and not header.startswith(name + ".")), self.end)
        return start, min(end, hi)

    def key(self, span: tuple[int, int], key: str, inline: bool = False) -> int:
        """The line where ``key`` is set in the table at ``span`` (its header line if not found)."""
        start, end = span
        own_end = next((line for line, _ in self.headers if start < line < end), end)
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number in range(start, own_end):
            if pattern.match(self.lines[number - 1]):
                return number
        anywhere = re.compile(rf"(^|[\s{{,])[\"']?{re.escape(key)}[\"']?\s*=")
        for number in range(start, end):
            if anywhere.search(self.lines[number - 1]):
                return number
        return start

    def top_key(self, key: str) -> int:
        """The line of a top-level table header or ``key =`` line."""
        for line, header in self.headers:
            if header == key or header.startswith(key + "."):
                return line
        first_header = self.headers[0][0] if self.headers else self.end
        return self.key((1, first_header), key)

"""Read compat.md back the way a GitHub-flavoured renderer does (markdown-it-py: CommonMark with
tables and raw HTML), so tests check what people see, not the source text."""

from __future__ import annotations

from dataclasses import dataclass, field

from markdown_it import MarkdownIt


def renderer() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


@dataclass
class Table:
    heading: str  # the nearest heading or <details> summary before the table
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)  # the inline source of each cell


def tables(text: str) -> list[Table]:
    """Every table in document order, with the heading (or ``<details>`` summary) it sits under."""
    tokens = renderer().parse(text)
    found: list[Table] = []
    heading, current, row, in_head = "", None, [], False
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            heading = tokens[i + 1].content
        elif token.type == "html_block" and "<summary>" in token.content:
            heading = token.content.split("<summary>", 1)[1].split("</summary>", 1)[0]
        elif token.type == "table_open":
            current = Table(heading)
        elif token.type in ("thead_open", "thead_close"):
            in_head = token.type == "thead_open"
        elif token.type == "tr_open":
            row = []
        elif token.type == "inline" and current is not None:
            row.append(token.content)
        elif token.type == "tr_close" and current is not None:
            if in_head:
                current.headers.extend(row)
            else:
                current.rows.append(row)
        elif token.type == "table_close" and current is not None:
            found.append(current)
            current = None
    return found

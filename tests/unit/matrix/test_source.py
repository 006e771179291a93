from vlmcompat.matrix.source import Source

TEXT = """\
top = 1
[[cell]]
name = "a"
transformers = "4.44.0"

[[cell.expect]]
probe = "x"

[[cell]]
  "peft" = "0.16.0"   # quoted key, indented
[[product]]
transformers = ["4.40.0"]
exclude = [{transformers = "4.40.0",
            peft = "0.8.2"}]
"""


def test_table_spans_include_their_subtables():
    src = Source(TEXT)
    assert src.table("cell", 0) == (2, 9)
    assert src.table("cell", 1) == (9, 11)
    assert src.table("cell.expect", 0, within=(2, 9)) == (6, 9)
    assert src.table("cell.expect", 0, within=(9, 11), default=(9, 11)) == (9, 11)
    assert src.table("product", 0) == (11, 15)


def test_keys_are_found_in_their_own_table_first():
    src = Source(TEXT)
    assert src.key((2, 9), "transformers") == 4
    assert src.key((2, 9), "probe") == 7  # only in the subtable: found anywhere in the span
    assert src.key((9, 11), "peft") == 10
    assert src.key((13, 15), "peft", inline=True) == 14
    assert src.key((2, 9), "missing") == 2


def test_top_level_keys_and_tables():
    src = Source(TEXT)
    assert src.top_key("top") == 1
    assert src.top_key("product") == 11

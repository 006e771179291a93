"""Lossless tokenizer.json migration between tokenizers releases (pure JSON -> JSON).

    from vlmcompat.tokjson import migrate
    result = migrate(json.load(f), "0.15.2")   # -> Migration(target, document, changes)

Every format change is one rule in :mod:`vlmcompat.tokjson.rules`, documented with the release
that made it; a tokenizer the target cannot express exactly raises MigrationError.
"""

from vlmcompat.tokjson.migrate import Migration, dumps, migrate, migrate_file, migrate_str, parse_target
from vlmcompat.tokjson.rules import RULES, Rule

__all__ = ["RULES", "Migration", "Rule", "dumps", "migrate", "migrate_file", "migrate_str", "parse_target"]

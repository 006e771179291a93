"""tokenizer.json -> tokenizer.json for a given tokenizers release: pure functions, lossless or refused.

:func:`migrate` runs every rule of :data:`~vlmcompat.tokjson.rules.RULES` that applies to the
target release on a deep copy of the document and returns the copy with the list of changes.
Either every rule succeeds or a :class:`~vlmcompat.errors.MigrationError` says which component
the target cannot express; a half-migrated document never escapes.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from vlmcompat.errors import InputFileError, MigrationError, UsageError
from vlmcompat.tokjson.rules import RULES

Doc = dict[str, Any]


@dataclass
class Migration:
    target: Version
    document: Doc
    changes: list[str] = field(default_factory=list)  # "rule-name: what changed"

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def parse_target(version: str | Version | None) -> Version:
    """The release to write for: the given one, else the installed tokenizers."""
    if version is None:
        from vlmcompat.versions import installed

        found = installed("tokenizers")
        if found is None:
            raise UsageError("tokenizers is not installed here, so the target format is unknown; "
                             "pass --to VERSION (e.g. --to 0.15.2)")
        return Version(found.base_version)
    try:
        return Version(Version(str(version)).base_version)
    except InvalidVersion:
        raise UsageError(f"--to {version!r} is not a version; give a tokenizers release such as 0.15.2") from None


def migrate(doc: Doc, target: str | Version | None = None) -> Migration:
    """``doc`` rewritten for tokenizers ``target``; ``doc`` itself is never modified."""
    if not isinstance(doc, dict) or not isinstance(doc.get("model"), dict):
        raise MigrationError("not a tokenizer.json: the top level must be an object with a 'model' object")
    version = parse_target(target)
    out = copy.deepcopy(doc)
    changes = []
    for rule in RULES:
        if rule.applies(version):
            note = rule.apply(out, version)
            if note:
                changes.append(f"{rule.name}: {note}")
    return Migration(version, out, changes)


def migrate_str(text: str, target: str | Version | None = None) -> str:
    """JSON text in, JSON text out (unchanged text when nothing needed changing)."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MigrationError(f"not a tokenizer.json: invalid JSON ({exc})") from None
    result = migrate(doc, target)
    return dumps(result.document) if result.changed else text


def dumps(doc: Doc) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def read(path: str | os.PathLike[str]) -> Doc:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputFileError(f"{path} does not exist; give the path of a tokenizer.json") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputFileError(f"{path} is not a readable JSON file ({exc}); give a tokenizer.json") from None


def migrate_file(src: str | os.PathLike[str], dst: str | os.PathLike[str],
                 target: str | Version | None = None,
                 check: Callable[[str, Version], None] | None = None) -> Migration:
    """Read ``src``, migrate, write ``dst`` atomically (only when the migration succeeded and
    ``check(text, target)``, if given, accepted the text: it raises MigrationError otherwise)."""
    result = migrate(read(src), target)
    text = dumps(result.document)
    if check is not None:
        check(text, result.target)
    dst = Path(dst)
    tmp = dst.with_name(f".{dst.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, dst)
    return result

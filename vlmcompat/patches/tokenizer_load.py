"""Load tokenizer.json files written by a newer tokenizers: migrate in memory when the stock load fails.

``tokenizers.Tokenizer`` is a Rust (pyo3) class, but its type attributes can be set on every
release from 0.13.2 on (measured), so the patch replaces the static constructors
``Tokenizer.from_file`` / ``from_str`` / ``from_buffer`` on the class itself. transformers reaches
them as ``TokenizerFast.from_file`` / ``from_str`` on that same class object
(``tokenization_utils_fast`` / ``tokenization_utils_tokenizers``), so its fast-tokenizer loading is
covered without touching transformers. The wrapper calls the stock constructor first and only
when that fails with the ``tokenizer-format`` error (``data did not match any variant of untagged
enum ...``) migrates the JSON for the installed release (:mod:`vlmcompat.tokjson`) and loads that.
The user's file is never rewritten. If the migration is refused, the original error is raised
with a note saying why.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

from vlmcompat.patches import Patch, Plan, Replacement

log = logging.getLogger("vlmcompat.patch")

CONSTRUCTORS = ("from_file", "from_str", "from_buffer")


def _is_format_error(exc: BaseException) -> bool:
    from vlmcompat.known_issues import classify_exception

    return classify_exception(exc) == "tokenizer-format"


def _migrated_text(text: str) -> str:
    from vlmcompat.tokjson import migrate_str

    return migrate_str(text)  # target: the installed tokenizers


def _retry(original_exc: BaseException, source: str, text: Callable[[], str], load_str: Callable[[str], Any]) -> Any:
    from vlmcompat.errors import MigrationError

    try:
        migrated = _migrated_text(text())
    except MigrationError as exc:
        if hasattr(original_exc, "add_note"):
            original_exc.add_note(f"vlmcompat: {source} could not be migrated: {exc}")
        raise original_exc from None  # the original error, with the migration failure as a note
    log.warning("vlmcompat: %s was written by a newer tokenizers; loaded a migrated copy in memory", source)
    return load_str(migrated)


def make_wrapper(name: str, original: Callable[..., Any], from_str: Callable[[str], Any]) -> Any:
    """A staticmethod that calls ``original`` and migrates on a tokenizer-format failure."""

    @functools.wraps(original)
    def constructor(*args: Any, **kwargs: Any) -> Any:
        try:
            return original(*args, **kwargs)
        except Exception as exc:
            if not _is_format_error(exc) or not args:
                raise
            arg = args[0]
            if name == "from_file":
                def text() -> str:
                    with open(arg, encoding="utf-8") as fh:
                        return fh.read()
                return _retry(exc, str(arg), text, from_str)
            if name == "from_buffer":
                return _retry(exc, "tokenizer buffer", lambda: bytes(arg).decode("utf-8"), from_str)
            return _retry(exc, "tokenizer JSON string", lambda: arg, from_str)

    constructor.__vlmcompat_patched__ = True  # type: ignore[attr-defined]
    return staticmethod(constructor)


def plan() -> Plan:
    try:
        import tokenizers
    except ImportError:
        return Plan(reason="tokenizers is not installed")
    cls = tokenizers.Tokenizer
    stock_from_str = cls.from_str
    replacements = [
        Replacement(cls, name, functools.partial(make_wrapper, name, from_str=stock_from_str))
        for name in CONSTRUCTORS if hasattr(cls, name)
    ]
    return Plan(replacements=replacements)


PATCH = Patch(
    name="tokenizer_load",
    summary="Tokenizer.from_file/from_str/from_buffer (and transformers' fast tokenizers) migrate a "
    "tokenizer.json written by a newer tokenizers in memory when the stock load fails",
    plan=plan,
)

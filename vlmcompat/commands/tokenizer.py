"""``vlmcompat tokenizer migrate IN OUT [--to VERSION]``: rewrite a tokenizer.json for an older tokenizers."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("tokenizer", help="tokenizer.json tools (migrate between tokenizers releases)",
                                   description="tokenizer.json tools.")
    sub = parser.add_subparsers(dest="tokenizer_command", metavar="ACTION")
    sub.required = True
    migrate = sub.add_parser(
        "migrate", help="rewrite a tokenizer.json for an older (or newer) tokenizers, losslessly or not at all",
        description="Rewrite IN into the format tokenizers VERSION reads and write it to OUT. Refuses (exit 1, "
        "nothing written) when that release cannot express the tokenizer exactly.")
    migrate.add_argument("src", metavar="IN", help="tokenizer.json to read")
    migrate.add_argument("dst", metavar="OUT", help="where to write the migrated tokenizer.json (may equal IN)")
    migrate.add_argument("--to", metavar="VERSION", default=None,
                         help="tokenizers release to write for (default: the installed tokenizers)")
    migrate.add_argument("--json", action="store_true", help="print {target, changes} as JSON")
    parser.set_defaults(func=run)


def loads_here(text: str, target) -> None:
    """When the target is the installed tokenizers, load the result with it: "readable" is a fact,
    not a guess (a component no rule knows about would otherwise pass through)."""
    from vlmcompat.errors import MigrationError
    from vlmcompat.versions import installed

    version = installed("tokenizers")
    if version is None or version.base_version != str(target):
        return
    from tokenizers import Tokenizer

    try:
        Tokenizer.from_str(text)
    except Exception as exc:  # tokenizers raises plain Exception for a file it cannot read
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise MigrationError(f"the installed tokenizers {version} cannot load the result ({first}); "
                             "nothing written") from None


def run(args: argparse.Namespace) -> int:
    from vlmcompat.tokjson import migrate_file

    result = migrate_file(args.src, args.dst, args.to, check=loads_here)
    if args.json:
        json.dump({"target": str(result.target), "changes": result.changes}, sys.stdout, indent=2)
        print()
        return 0
    if not result.changes:
        loaded = " (loaded with it)" if _is_installed(result.target) else ""
        print(f"{args.dst}: already readable by tokenizers {result.target}{loaded}; nothing changed")
    else:
        print(f"{args.dst}: written for tokenizers {result.target}")
        for change in result.changes:
            print(f"  {change}")
    return 0


def _is_installed(target) -> bool:
    from vlmcompat.versions import installed

    version = installed("tokenizers")
    return version is not None and version.base_version == str(target)

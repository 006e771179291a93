"""The front door: ``vlmcompat <command>`` / ``python -m vlmcompat <command>``.

Each command lives in ``vlmcompat/commands/<name>.py`` with ``add_parser(subparsers)`` and
``run(args) -> int``. This is the one place where exceptions become exit codes: a
:class:`~vlmcompat.errors.VlmcompatError` prints one line (``vlmcompat: error: ...``) and exits
with its ``exit_code`` (2 for usage and input errors); anything else is a bug and keeps its
traceback. No command imports torch at parse time, so ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from vlmcompat import __version__
from vlmcompat.errors import VlmcompatError

COMMANDS = ("probe", "report", "pins", "gate", "explain", "doctor", "tokenizer", "adapter", "crosscheck",
            "bisect", "shrink")


def _available_commands() -> list[str]:
    found = []
    for name in COMMANDS:
        try:
            importlib.import_module(f"vlmcompat.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"vlmcompat.commands.{name}":
                continue
            raise
        found.append(name)
    return found


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Every command's parser; with ``only`` (a command named on the command line) just that one, so
    ``vlmcompat probe`` does not import the other commands (a reused matrix cell answers in ~0.5 s)."""
    parser = argparse.ArgumentParser(
        prog="vlmcompat",
        description="Compatibility diagnostics and fixes for fine-tuning vision-language models "
        "(InstructBLIP, BLIP-2, LLaVA, TinyLLaVA) with LoRA on transformers/tokenizers/peft.",
    )
    parser.add_argument("--version", action="version", version=f"vlmcompat {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in [only] if only in COMMANDS else _available_commands():
        module = importlib.import_module(f"vlmcompat.commands.{name}")
        module.add_parser(sub)
    return parser


def fatal(message: str, code: int = 2) -> int:
    print(f"vlmcompat: error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only=argv[0] if argv else None)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except VlmcompatError as exc:
        return fatal(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return fatal("interrupted", 130)
    except BrokenPipeError:
        return 0

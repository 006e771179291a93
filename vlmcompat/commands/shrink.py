"""``vlmcompat shrink DIR OUT``: a small copy of a checkpoint for smoke tests of training code.

The architecture of DIR built shrunk (widths 32, two layers; vocabulary, token ids, image and
processor settings kept) with seeded random weights, saved to OUT by the installed transformers
together with DIR's tokenizer and processor files. Code that loads DIR with ``from_pretrained``
loads OUT the same way, in seconds. DIR is read as untrusted input (see ``vlmcompat probe --model``).
"""

from __future__ import annotations

import argparse

from vlmcompat.errors import UsageError


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("shrink", help="save a small copy of a checkpoint (same architecture and files, tiny widths)",
                       description="Build the architecture of a checkpoint folder shrunk, with seeded random weights, "
                       "and save it with the folder's tokenizer and processor files: a stand-in for smoke tests.")
    p.add_argument("model", metavar="DIR", help="the checkpoint folder (config.json, tokenizer and processor files)")
    p.add_argument("out", metavar="OUT", help="where to save the small copy")
    p.add_argument("--seed", type=int, default=0, help="seed of the random weights (default 0)")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="let transformers run code the folder ships (auto_map)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from vlmcompat.usermodel import Access, export

    out = Path(args.out)
    if out.exists() and any(out.iterdir()):
        raise UsageError(f"{out} is not empty; give a new or empty folder for the small copy")
    target = export.export(args.model, out, seed=args.seed, access=Access(trust_remote_code=args.trust_remote_code))
    print(f"wrote a shrunk copy of {args.model} to {target}")
    return 0

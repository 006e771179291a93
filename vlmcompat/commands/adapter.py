"""``vlmcompat adapter migrate IN OUT [--for transformers==X]``: rewrite a LoRA adapter's keys for the
layout another transformers release loads (the 4.52 VLM refactor, the 5.6 vision-tower rename)."""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("adapter", help="LoRA adapter tools (migrate keys between transformers releases)",
                                   description="LoRA adapter tools.")
    sub = parser.add_subparsers(dest="adapter_command", metavar="ACTION")
    sub.required = True
    migrate = sub.add_parser(
        "migrate", help="rewrite an adapter's keys for another transformers release, losslessly or not at all",
        description="Rewrite the adapter folder IN (adapter_model.safetensors + adapter_config.json) into the key "
        "layout transformers X loads and write it to OUT. Tensors are copied unchanged. Refuses (exit 1, nothing "
        "written) when a key belongs to no known part of the model or the model type cannot be told.")
    migrate.add_argument("src", metavar="IN", help="adapter folder written by peft's save_pretrained")
    migrate.add_argument("dst", metavar="OUT", help="folder to write the migrated adapter to (may equal IN)")
    migrate.add_argument("--for", dest="target", metavar="transformers==X", default=None,
                         help="the release that will load it (default: the installed transformers)")
    migrate.add_argument("--model-type", default=None,
                         help="the base model's config model_type (llava, qwen2_vl, qwen2_5_vl) when the adapter "
                         "does not tell")
    migrate.add_argument("--json", action="store_true", help="print {target, layout, renamed} as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vlmcompat.crosscheck.migrate import migrate_adapter

    result = migrate_adapter(args.src, args.dst, args.target, args.model_type)
    if args.json:
        json.dump({"target": str(result.target), "kind": result.kind, "layout": result.layout,
                   "renamed": result.renamed}, sys.stdout, indent=2)
        print()
        return 0
    if not result.changed:
        print(f"{args.dst}: already in the {result.layout} layout transformers {result.target} loads; "
              "nothing renamed")
        return 0
    print(f"{args.dst}: {len(result.renamed)} keys renamed for transformers {result.target} "
          f"({result.kind}, {'/'.join(sorted(result.source))} -> {result.layout} layout)")
    for old, new in list(result.renamed.items())[:3]:
        print(f"  {old} -> {new}")
    if len(result.renamed) > 3:
        print(f"  ... {len(result.renamed) - 3} more (--json lists them all)")
    return 0

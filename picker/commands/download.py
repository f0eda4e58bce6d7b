"""`picker download TARGET`: fetch a GGUF from the Hub, resumable and sha256-verified."""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Any

from picker.commands import common
from picker.errors import UsageError
from picker.output import CommandOutput
from picker.units import format_size

CATALOG_HOOK = ("picker.catalog", "hub_files")  # the catalog's `hub_files(catalog_id) -> HubFiles`


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "download",
        help="download a model file from the Hugging Face Hub (resumes, verifies sha256)",
        description="Download a GGUF (every part of a split model) into the Hugging Face cache, "
        "or into --dir. An interrupted download resumes where it stopped; the file is checked "
        "against the Hub's sha256 before it is put in place. Gated repos need `hf auth login` "
        "or HF_TOKEN.",
    )
    parser.add_argument(
        "target",
        metavar="TARGET",
        help="hf://OWNER/REPO/FILE.gguf[@REVISION], or a catalog id with quantization (MODEL:QUANT)",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="put the files in DIR instead of the Hugging Face cache",
    )
    common.add_json_flag(parser)
    parser.set_defaults(handler=run)


def resolve_target(target: str) -> Any:
    """`hf://` targets directly; catalog ids through the catalog's hook."""
    from picker.hub import parse_target

    if target.startswith("hf://"):
        return parse_target(target)
    if ":" not in target:
        raise UsageError(
            f"cannot read target {target!r}; use hf://OWNER/REPO/FILE.gguf or a catalog id "
            "with its quantization, e.g. gemma-3-1b-it:Q4_K_M"
        )
    module_name, function_name = CATALOG_HOOK
    try:
        resolver = getattr(importlib.import_module(module_name), function_name)
    except (ImportError, AttributeError):
        raise UsageError(
            f"catalog ids are not available in this build; use hf://OWNER/REPO/FILE.gguf, not {target!r}"
        ) from None
    return resolver(target)


def run(args: argparse.Namespace) -> CommandOutput:
    from picker.hub import download_files
    from picker.hub.progress import JsonLines, StderrBar

    files = resolve_target(args.target)
    as_json = bool(getattr(args, "json", False))
    directory = args.dir.expanduser() if args.dir is not None else None
    result = download_files(files, directory, JsonLines() if as_json else StderrBar())
    return CommandOutput(
        document={"download": result.to_json()},
        text=_render(result),
        warnings=list(result.warnings),
    )


def _render(result: Any) -> str:
    lines = []
    for item in result.files:
        if item.already_present:
            lines.append(f"{item.path}: already downloaded and verified ({format_size(item.size_bytes)})")
            continue
        resumed = (
            f", resumed from {format_size(item.resumed_from_bytes)}" if item.resumed_from_bytes else ""
        )
        rate = item.fetched_bytes / item.seconds if item.seconds > 0 else 0.0
        lines.append(
            f"{item.path}: {format_size(item.size_bytes)} in {item.seconds:.1f} s "
            f"({format_size(rate)}/s{resumed}), sha256 {item.sha256 or 'n/a (small git file)'} verified"
        )
    return "\n".join(lines)

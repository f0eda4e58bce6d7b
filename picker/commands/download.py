"""`picker download TARGET`: fetch a GGUF from the Hub, resumable and sha256-verified."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from picker.commands import common
from picker.output import CommandOutput
from picker.units import format_size


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


def run(args: argparse.Namespace) -> CommandOutput:
    from picker.hub import download_files
    from picker.hub.progress import JsonLines, StderrBar
    from picker.targets import hub_files

    files = hub_files(args.target)
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

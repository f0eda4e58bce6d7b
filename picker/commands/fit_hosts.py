"""`picker fit TARGET --hosts main.json,box2.json[,...] [--link 1gbit]`: the command's glue.

The plan itself is picker.rpc's (`plan_across_hosts`); this reads the flags and renders it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from picker.errors import UsageError
from picker.output import CommandOutput

if TYPE_CHECKING:
    from picker.gguf.remote import HubModel
    from picker.memory.shape import ModelShape
    from picker.rpc.hosts import HostsAndLink


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from picker.rpc.link import DEFAULT_LINK

    parser.add_argument(
        "--hosts", default=None, metavar="MAIN.json,BOX2.json[@ADDR[:PORT]],...",
        help="plan across several machines with llama.cpp's RPC backend: each machine's "
        "`picker probe --json` file, the main host first; prints the split, each host's "
        "ggml-rpc-server line and the main host's llama-server line")
    parser.add_argument(
        "--link", default=None, metavar="1gbit|10gbit|wifi|...",
        help=f"the network between the --hosts (default {DEFAULT_LINK}): its bandwidth and "
        "round trip go into the speed estimate")


def read_hosts_args(args: argparse.Namespace) -> HostsAndLink:
    """The hosts and link of --hosts/--link, checked before the model is read."""
    if args.n_gpu_layers is not None and args.hosts is not None:
        raise UsageError("--n-gpu-layers does not apply with --hosts: the split sets -ngl; "
                         "leave it out")
    if args.exact and args.hosts is not None:
        raise UsageError("--exact does not apply with --hosts yet; run `picker fit TARGET "
                         "--exact` on one machine")
    from picker.rpc.hosts import read_hosts_flags

    return read_hosts_flags(args.hosts, args.link)


def run_hosts(args: argparse.Namespace, hosts_and_link: HostsAndLink, shape: ModelShape,
              source: Path | HubModel | None, settings: Any) -> CommandOutput:
    from picker.rpc.plan import plan_across_hosts
    from picker.rpc.report import hosts_document, hosts_text
    from picker.targets.files import model_arguments

    hosts, link = hosts_and_link
    hosts_plan = plan_across_hosts(shape, settings, hosts, link,
                                   model_arguments(args.target, source))
    document = hosts_document(hosts_plan, args.target)
    text = hosts_text(hosts_plan, args.target)
    if args.ctx is None:
        chosen = (f"n_ctx {settings.n_ctx}: what `picker recommend` plans with (the general use "
                  "case's context, or the trained one if shorter); --ctx N to change")
        document["defaults_used"] = {"n_ctx": chosen}
        text += f"\n{chosen}"
    warnings = []
    if shape.estimated:
        warnings.append(f"{args.target}: no header at hand; sizes are estimated "
                        f"({shape.estimate_note})")
    return CommandOutput(document=document, text=text, warnings=warnings)

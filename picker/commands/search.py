"""`picker search QUERY | --for ID`: GGUF repositories on the Hub, with fit and speed here."""

from __future__ import annotations

import argparse
from typing import Any

from picker.commands import common
from picker.output import CommandOutput

DEFAULT_PLAN_REPOS = 3


def add_parser(subparsers: Any) -> None:
    from picker.hubsearch.listing import DEFAULT_LIMIT, MAX_LIMIT, SORT_KEYS

    parser = subparsers.add_parser(
        "search", help="find GGUF repositories on the Hub, with fit and speed on this machine",
        description="List GGUF repositories from the Hugging Face Hub and plan each "
        "quantization's fit, placement and speed on this (or a what-if) machine from its GGUF "
        "header, read by ranged requests before anything is downloaded. Results are kept with "
        "their date; offline, the last results of the same search are shown.")
    parser.add_argument("query", nargs="?", default="", metavar="QUERY",
                        help="words in the repository id, e.g. qwen3 or 'gemma 3'")
    parser.add_argument("--for", dest="for_model", metavar="ID",
                        help="GGUF quantizations of this catalog model on the Hub (by its "
                        "base_model:quantized tag)")
    parser.add_argument("--sort", choices=sorted(SORT_KEYS), default="downloads",
                        help="downloads (default), trending or likes")
    parser.add_argument("--limit", type=common.whole_number("--limit", 1, MAX_LIMIT), default=DEFAULT_LIMIT,
                        metavar="N", help=f"repositories to list (default {DEFAULT_LIMIT})")
    parser.add_argument("--plan", dest="plan_repos", type=common.whole_number("--plan", 0, MAX_LIMIT),
                        default=DEFAULT_PLAN_REPOS, metavar="N",
                        help=f"repositories to read a header of and plan (default "
                        f"{DEFAULT_PLAN_REPOS}; 0: list only)")
    parser.add_argument("--all-headers", action="store_true",
                        help="read every quantization's own header (default: one per repository, "
                        "Q4_K_M or the nearest, the others scaled from it by file size)")
    parser.add_argument("--ctx", type=common.context_tokens("--ctx", 256), default=None,
                        metavar="N", help="context to plan with (default: the general use "
                        "case's 8192, or the trained context if shorter)")
    common.add_json_flag(parser)
    common.add_hardware_overrides(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> CommandOutput:
    from picker.errors import UsageError
    from picker.hardware.probe import probe_hardware
    from picker.hubsearch.listing import Query, check_query
    from picker.hubsearch.render import render_results
    from picker.hubsearch.search import query_for_model, search_document

    if args.for_model and args.query:
        raise UsageError("give either search words or --for ID, not both")
    query = (query_for_model(args.for_model, args.sort, args.limit) if args.for_model
             else check_query(Query(search=args.query.strip(), sort=args.sort, limit=args.limit)))
    overrides = common.hardware_overrides(args)
    document, warnings = search_document(
        query, probe_hardware(overrides), "the what-if machine" if overrides.any else "this machine",
        n_ctx=args.ctx, plan_repos=args.plan_repos, all_headers=args.all_headers)
    return CommandOutput(document={"search": document}, text=render_results(document),
                         warnings=warnings)

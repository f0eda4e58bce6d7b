"""`picker catalog list|show`: browse the curated model catalog."""

from __future__ import annotations

import argparse
import difflib
import re
from typing import Any

from picker.commands import common
from picker.errors import NotFoundError
from picker.output import CommandOutput

_PARAMS_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmbt]?)\s*$", re.IGNORECASE)
_PARAM_SCALE = {"": 1e9, "b": 1e9, "m": 1e6, "k": 1e3, "t": 1e12}


def _param_count(flag: str) -> Any:
    def parse(text: str) -> int:
        match = _PARAMS_RE.match(text)
        if match is None:
            raise argparse.ArgumentTypeError(
                f"{flag}: cannot read {text!r} as a parameter count; use e.g. 7B, 500M or 70"
            )
        return int(float(match.group(1)) * _PARAM_SCALE[match.group(2).lower()])

    return parse


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "catalog", help="browse the curated model catalog",
        description="The curated catalog: open models with their quantizations, sizes, "
        "cited benchmark scores and licenses, plus closed reference models.")
    common.add_json_flag(parser)
    parser.set_defaults(handler=run_list, family=None, min_params=None, max_params=None,
                        capability=None, commercial=False, on_disk=False)
    actions = parser.add_subparsers(dest="catalog_command", metavar="ACTION")
    listing = actions.add_parser("list", help="list catalog models (filters combine)")
    common.add_json_flag(listing)
    listing.add_argument("--family", help="only this family, e.g. qwen3, llama, gemma")
    listing.add_argument("--min-params", type=_param_count("--min-params"), metavar="N",
                         help="at least N parameters in total, e.g. 7B")
    listing.add_argument("--max-params", type=_param_count("--max-params"), metavar="N",
                         help="at most N parameters in total, e.g. 14B")
    listing.add_argument("--capability", help="e.g. vision, tools, thinking, code, long_context")
    listing.add_argument("--commercial", action="store_true",
                         help="only licenses that allow commercial use")
    listing.add_argument("--on-disk", action="store_true",
                         help="only models with a quantization already on this machine")
    listing.set_defaults(handler=run_list)
    show = actions.add_parser("show", help="everything the catalog knows about one model")
    common.add_json_flag(show)
    show.add_argument("model_id", metavar="ID", help="catalog id, e.g. qwen2.5-7b-instruct")
    show.set_defaults(handler=run_show)
    refresh = actions.add_parser(
        "refresh", help="fetch exact file lists, sizes and sha256 from the Hub",
        description="Ask the Hub for the current files of every GGUF repository the catalog "
        "lists and keep their exact sizes and sha256 in an overlay in the cache dir. Offline, "
        "the shipped catalog keeps working.")
    common.add_json_flag(refresh)
    refresh.add_argument("ids", nargs="*", metavar="ID", help="only these models (default: all)")
    refresh.add_argument("--headers", action="store_true",
                         help="also read each repo's GGUF header for exact architecture facts")
    refresh.set_defaults(handler=run_refresh)
    add = actions.add_parser(
        "add", help="add your own model: hf://OWNER/REPO, a .gguf file or a folder",
        description="Read the GGUF files (and one header) of a Hub repository, or local .gguf "
        "files, into your own catalog entries in the data dir, validated like the shipped ones.")
    common.add_json_flag(add)
    add.add_argument("source", metavar="SOURCE", help="hf://OWNER/REPO, a .gguf file or a folder")
    add.add_argument("--id", dest="model_id", help="catalog id to use (default: from the name)")
    add.set_defaults(handler=run_add)
    update = actions.add_parser(
        "update", help="newer catalog data from a bundle file or URL, without a new release",
        description="Keep the catalog data of a bundle (a versioned JSON or TOML document of "
        "family files in the shipped format, see catalog/README.md) in your data dir, after "
        "checking that the catalog loads with it; a bundle that would not load is refused and "
        "nothing changes.")
    common.add_json_flag(update)
    update.add_argument("source", nargs="?", metavar="FILE|URL",
                        help="a bundle file (.json or .toml) or an https:// URL")
    update.add_argument("--remove", action="store_true",
                        help="drop the kept update and use the shipped catalog again")
    update.set_defaults(handler=run_update)
    stats = actions.add_parser("stats", help="how old the catalog is and how much of it is exact")
    common.add_json_flag(stats)
    stats.set_defaults(handler=run_stats)
    remove = actions.add_parser("remove", help="remove one of your own additions")
    common.add_json_flag(remove)
    remove.add_argument("model_id", metavar="ID")
    remove.set_defaults(handler=run_remove)


def run_list(args: argparse.Namespace) -> CommandOutput:
    from picker.catalog import load_catalog
    from picker.catalog.render import render_list
    from picker.catalog.serialize import model_summary
    from picker.catalog.types import CAPABILITIES

    catalog = load_catalog()
    warnings: list[str] = []
    if args.family and args.family not in catalog.families():
        warnings.append(f"no family {args.family!r}; families: {', '.join(catalog.families())}")
    if args.capability and args.capability not in CAPABILITIES:
        warnings.append(f"no capability {args.capability!r}; "
                        f"capabilities: {', '.join(sorted(CAPABILITIES))}")
    models = [
        m for m in catalog.models
        if (not args.family or m.family == args.family)
        and (args.min_params is None or m.parameters >= args.min_params)
        and (args.max_params is None or m.parameters <= args.max_params)
        and (not args.capability or args.capability in m.capabilities)
        and (not args.commercial or m.license.commercial)
    ]
    models.sort(key=lambda m: (m.family, m.parameters, m.id))
    local = _local_quants(catalog)
    if args.on_disk:
        models = [m for m in models if m.id in local]
    rows = [{**model_summary(m), "on_disk": sorted({c.quant for c in local.get(m.id, [])})}
            for m in models]
    document = {"models": rows, "count": len(rows),
                "closed_references": [c.id for c in catalog.closed]}
    return CommandOutput(document=document, text=render_list(rows),
                         warnings=[*catalog.warnings, *warnings])


def _local_quants(catalog: Any) -> dict[str, list[Any]]:
    """model id -> its quantizations found on disk (HF cache, picker, LM Studio, Ollama)."""
    from picker.catalog.ondisk import find_local_copies

    found: dict[str, list[Any]] = {}
    for copy in find_local_copies(catalog):
        found.setdefault(copy.model_id, []).append(copy)
    return found


def run_show(args: argparse.Namespace) -> CommandOutput:
    from picker.catalog import load_catalog
    from picker.catalog.render import render_detail
    from picker.catalog.serialize import closed_detail, model_detail
    from picker.catalog.types import ClosedModel

    catalog = load_catalog()
    entry = catalog.find(args.model_id)
    if entry is None:
        close = difflib.get_close_matches(args.model_id.lower(), catalog.ids(), n=1, cutoff=0.4)
        hint = f"did you mean {close[0]!r}?" if close else "see `picker catalog list`"
        raise NotFoundError(f"no catalog model {args.model_id!r}; {hint}")
    if isinstance(entry, ClosedModel):
        document = closed_detail(entry)
    else:
        copies = _local_quants(catalog).get(entry.id, [])
        document = {**model_detail(entry, catalog), "on_disk": [c.to_dict() for c in copies]}
    text = render_detail(document)
    if not isinstance(entry, ClosedModel) and entry.hf_repo:
        from picker.hubsearch.render import render_sources
        from picker.hubsearch.search import other_sources
        from picker.paths import picker_paths

        sources = other_sources(entry.hf_repo, picker_paths().cache_dir)  # kept, never fetched
        document["other_gguf_sources"] = sources
        text = f"{text.rstrip()}\n{render_sources(sources, entry.id)}"
    return CommandOutput(document={"model": document}, text=text,
                         warnings=list(catalog.warnings))


def run_refresh(args: argparse.Namespace) -> CommandOutput:
    from picker.catalog import load_catalog
    from picker.catalog.refresh import refresh_catalog
    from picker.errors import ExitCode
    from picker.output import warn
    from picker.paths import picker_paths

    catalog = load_catalog()
    only = set(args.ids) if args.ids else None
    for model_id in sorted(only or ()):
        if catalog.find(model_id) is None:
            raise NotFoundError(f"no catalog model {model_id!r}; see `picker catalog list`")
    report = refresh_catalog(catalog, picker_paths().cache_dir, notice=warn, only=only,
                             headers=args.headers)
    text = (f"Refreshed {len(report.refreshed)} models ({report.quantizations} quantizations "
            f"with exact sizes) into {report.path}.")
    if report.failed:
        text += f" {len(report.failed)} failed (see warnings)."
    failed_all = bool(report.failed) and not report.refreshed
    return CommandOutput(
        document={"refresh": report.to_dict()}, text=text,
        exit_code=int(ExitCode.NOT_FOUND) if failed_all else 0,
        warnings=[f"{model_id}: {reason}" for model_id, reason in report.failed.items()],
    )


_HF_RE = re.compile(r"^hf://([A-Za-z0-9][\w.-]*/[\w.-]+)/?$")


def run_add(args: argparse.Namespace) -> CommandOutput:
    from pathlib import Path

    from picker.catalog import load_catalog
    from picker.catalog.loader import user_catalog_dir
    from picker.catalog.useradd import add_hub, add_local
    from picker.errors import UsageError
    from picker.paths import picker_paths

    catalog = load_catalog()
    user_dir = user_catalog_dir(picker_paths().data_dir)
    if args.source.startswith("hf://"):
        match = _HF_RE.match(args.source)
        if match is None:
            raise UsageError(f"cannot read {args.source!r}; write hf://OWNER/REPO")
        added = add_hub(match.group(1), catalog, user_dir, args.model_id)
    else:
        added = add_local(Path(args.source), catalog, user_dir, args.model_id)
    text = f"Added {', '.join(added)} to your catalog ({user_dir}); `picker catalog show ID`."
    return CommandOutput(document={"added": added, "user_catalog": str(user_dir)}, text=text)


def run_remove(args: argparse.Namespace) -> CommandOutput:
    from picker.catalog.loader import user_catalog_dir
    from picker.catalog.useradd import remove
    from picker.paths import picker_paths

    remove(args.model_id, user_catalog_dir(picker_paths().data_dir))
    return CommandOutput(document={"removed": args.model_id},
                         text=f"Removed {args.model_id} from your catalog.")


def run_update(args: argparse.Namespace) -> CommandOutput:
    from picker.catalog.loader import user_catalog_dir
    from picker.catalog.update import apply_update, remove_update
    from picker.errors import UsageError
    from picker.paths import picker_paths

    data_dir = picker_paths().data_dir
    if args.remove == bool(args.source):
        raise UsageError("give a bundle file or URL, or --remove (not both)")
    if args.remove:
        removed = remove_update(data_dir)
        text = ("Removed the catalog update; the shipped catalog is in use." if removed
                else "No catalog update was kept; the shipped catalog is in use.")
        return CommandOutput(document={"update": None, "removed": removed}, text=text)
    manifest, warnings = apply_update(args.source, data_dir, user_catalog_dir(data_dir))
    text = (f"Catalog update of {manifest.get('created')} kept ({len(manifest.get('files', []))} "
            f"file(s): {', '.join(manifest.get('files', []))}); `picker catalog stats` shows its age.")
    return CommandOutput(document={"update": manifest}, text=text, warnings=warnings)


def run_stats(args: argparse.Namespace) -> CommandOutput:
    from picker.catalog import load_catalog
    from picker.catalog.stats import catalog_stats, render_stats
    from picker.paths import picker_paths

    catalog = load_catalog()
    paths = picker_paths()
    stats = catalog_stats(catalog, paths.data_dir, paths.cache_dir)
    return CommandOutput(document={"stats": stats}, text=render_stats(stats),
                         warnings=list(catalog.warnings))

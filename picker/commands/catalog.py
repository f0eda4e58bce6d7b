"""`picker catalog list|show`: browse the curated model catalog."""

from __future__ import annotations

import argparse
import difflib
import re
from typing import Any

from picker.commands import common
from picker.errors import NotFoundError
from picker.output import CommandOutput
from picker.units import format_size

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
                        capability=None, commercial=False)
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
    listing.set_defaults(handler=run_list)
    show = actions.add_parser("show", help="everything the catalog knows about one model")
    common.add_json_flag(show)
    show.add_argument("model_id", metavar="ID", help="catalog id, e.g. qwen2.5-7b-instruct")
    show.set_defaults(handler=run_show)


def run_list(args: argparse.Namespace) -> CommandOutput:
    from picker.catalog import load_catalog
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
    rows = [model_summary(m) for m in models]
    document = {"models": rows, "count": len(rows),
                "closed_references": [c.id for c in catalog.closed]}
    return CommandOutput(document=document, text=_render_list(rows), warnings=warnings)


def _render_list(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "No catalog models match these filters."
    lines = [f"{'ID':38} {'PARAMS':>8} {'CONTEXT':>8}  {'SIZES':19} LICENSE"]
    for row in rows:
        params = f"{row['parameters'] / 1e9:.1f}B"
        if row["active_parameters"] != row["parameters"]:
            params = f"{row['parameters'] / 1e9:.0f}B/{row['active_parameters'] / 1e9:.1f}B"
        sizes = "n/a"
        if row["smallest_bytes"] is not None:
            sizes = f"{format_size(row['smallest_bytes'])}-{format_size(row['largest_bytes'])}"
        lines.append(f"{row['id']:38} {params:>8} {row['context_length'] // 1024:>7}k  "
                     f"{sizes:19} {row['license']}")
    lines.append(f"{len(rows)} models. `picker catalog show ID` for details.")
    return "\n".join(lines)


def run_show(args: argparse.Namespace) -> CommandOutput:
    from picker.catalog import load_catalog
    from picker.catalog.serialize import closed_detail, model_detail
    from picker.catalog.types import ClosedModel

    catalog = load_catalog()
    entry = catalog.find(args.model_id)
    if entry is None:
        close = difflib.get_close_matches(args.model_id.lower(), catalog.ids(), n=1, cutoff=0.4)
        hint = f"did you mean {close[0]!r}?" if close else "see `picker catalog list`"
        raise NotFoundError(f"no catalog model {args.model_id!r}; {hint}")
    document = (
        closed_detail(entry) if isinstance(entry, ClosedModel) else model_detail(entry, catalog)
    )
    return CommandOutput(document={"model": document}, text=_render_detail(document))


def _render_detail(doc: dict[str, Any]) -> str:
    lines = [f"{doc['name']} ({doc['id']})"]
    if doc["kind"] == "closed":
        lines.append(f"  closed reference model by {doc['vendor']}, not runnable locally")
        lines.append(f"  API price: ${doc['input_usd_per_mtok']:.2f} in / "
                     f"${doc['output_usd_per_mtok']:.2f} out per million tokens")
    else:
        arch = doc["architecture"]
        lic = doc["license"]
        lines += [
            f"  {doc['publisher']}, released {doc['released']}, {doc['parameters'] / 1e9:.2f}B "
            f"parameters ({doc['active_parameters'] / 1e9:.2f}B active)",
            f"  architecture {arch['arch']}: {arch['layers']} layers, hidden {arch['hidden_size']}, "
            f"{arch['heads']} heads / {arch['kv_heads']} KV heads, context "
            f"{arch['max_context_length']} tokens",
            f"  capabilities: {', '.join(doc['capabilities'])}",
            f"  license: {lic['name']} (commercial use {'yes' if lic['commercial'] else 'no'}"
            f"{', gated' if lic['gated'] else ''})",
            f"  GGUF: {doc['gguf_repo'] or 'none (llama.cpp cannot run it)'}",
        ]
        for quant in doc["quantizations"]:
            mark = "~" if quant["size_estimated"] else " "
            lines.append(f"    {quant['type']:10} {mark}{format_size(quant['size_bytes']):>10}  "
                         f"{', '.join(quant['files']) or '(split files; run refresh)'}")
    if doc["benchmarks"]:
        lines.append("  benchmarks:")
        for score in doc["benchmarks"]:
            setting = f", {score['setting']}" if score["setting"] else ""
            lines.append(f"    {score['benchmark']:10} {score['score']:>6}  "
                         f"({score['source']}{setting})")
    if doc["notes"]:
        lines.append(f"  note: {doc['notes']}")
    return "\n".join(lines)

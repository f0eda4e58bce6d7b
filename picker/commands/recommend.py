"""`picker recommend`: the best models for this machine and a use case; also `picker --json`'s data.

`recommendations_document(args)` is the headless document (`hardware`, `settings`,
`recommendations`); `picker --json` and `picker recommend --json` both print it. The
path stays light: no Textual, huggingface_hub, llama_cpp or gguf imports.
"""

from __future__ import annotations

import argparse
from typing import Any

from picker.commands import common
from picker.errors import UsageError
from picker.output import CommandOutput
from picker.rank.usecases import DEFAULT_USE_CASE, USE_CASES


def _positive(flag: str, kind: type[int] | type[float]) -> Any:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag}: {text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{flag}: must be greater than 0, got {text}")
        return value

    return parse


def add_parser(subparsers: Any) -> None:
    from picker.rank.score import DEFAULT_MIN_TOKENS_PER_SECOND

    cases = ", ".join(f"{key} ({case.title})" for key, case in USE_CASES.items())
    parser = subparsers.add_parser(
        "recommend", help="the best models and quantizations for this machine and a use case",
        description="Rank the catalog's models for a use case on this machine (or a what-if "
        "machine): for each model the best quantization that fits at the use case's context, "
        "with its speed, fit, benchmark quality and the commands to download and test it. "
        f"Use cases: {cases}.")
    parser.add_argument("--use-case", choices=sorted(USE_CASES), default=DEFAULT_USE_CASE,
                        metavar="U", help=f"what the model is for (default {DEFAULT_USE_CASE})")
    parser.add_argument("--ctx", type=_positive("--ctx", int), default=None, metavar="N",
                        help="context to plan for, in tokens (default: the use case's, e.g. 8192)")
    parser.add_argument("--limit", type=_positive("--limit", int), default=10, metavar="N",
                        help="how many recommendations (default 10)")
    parser.add_argument("--min-speed", type=_positive("--min-speed", float),
                        default=DEFAULT_MIN_TOKENS_PER_SECOND, metavar="T",
                        help=f"minimum tokens/s (default {DEFAULT_MIN_TOKENS_PER_SECOND:g}, "
                        "about reading speed)")
    parser.add_argument("--commercial", action="store_true",
                        help="only models whose license allows commercial use")
    parser.add_argument("--capability", action="append", default=[], metavar="C",
                        help="required capability (repeatable): tools, vision, code, thinking, ...")
    parser.add_argument("--max-download", default=None, metavar="SIZE",
                        help="largest download to consider, e.g. 8G")
    parser.add_argument("--tokens-per-month", type=_positive("--tokens-per-month", int),
                        default=None, metavar="N",
                        help="estimate the monthly cost of N tokens locally vs closed APIs")
    parser.add_argument("--electricity-price", type=_positive("--electricity-price", float),
                        default=None, metavar="USD",
                        help="electricity price per kWh (default 0.17, the US average)")
    common.add_json_flag(parser)
    common.add_hardware_overrides(parser)
    parser.set_defaults(handler=run)


def _options(args: argparse.Namespace) -> Any:
    from picker.catalog.types import CAPABILITIES
    from picker.rank.engine import RankOptions
    from picker.rank.score import DEFAULT_MIN_TOKENS_PER_SECOND
    from picker.units import parse_size

    capabilities = tuple(getattr(args, "capability", []) or [])
    unknown = [c for c in capabilities if c not in CAPABILITIES]
    if unknown:
        raise UsageError(f"--capability: unknown {', '.join(unknown)}; use one of "
                         f"{', '.join(sorted(CAPABILITIES))}")
    max_download = getattr(args, "max_download", None)
    return RankOptions(
        use_case=getattr(args, "use_case", DEFAULT_USE_CASE),
        context=getattr(args, "ctx", None),
        limit=getattr(args, "limit", 10),
        min_tokens_per_second=getattr(args, "min_speed", DEFAULT_MIN_TOKENS_PER_SECOND),
        commercial_only=bool(getattr(args, "commercial", False)),
        capabilities=capabilities,
        max_download_bytes=parse_size(max_download, "--max-download") if max_download else None,
        tokens_per_month=getattr(args, "tokens_per_month", None),
        usd_per_kwh=getattr(args, "electricity_price", None),
    )


def _measured_lookup(snapshot: Any) -> Any:
    """History lookups for this machine, or None when nothing was ever measured here."""
    from picker.history.store import DATABASE_NAME
    from picker.paths import picker_paths

    path = picker_paths().data_dir / DATABASE_NAME
    if not path.exists():
        return None
    from picker.history import History, machine_fingerprint

    history, machine = History(path), machine_fingerprint(snapshot)

    def lookup(model: Any, candidate: Any, settings: dict[str, Any]) -> Any:
        if model.gguf is None or not candidate.quant.files:
            return None
        found = history.measured_speed(machine, hub_repo=model.gguf.repo,
                                       hub_filename=candidate.quant.files[0], settings=settings)
        if found is None:
            return None
        return (found.generation_tokens_per_second, found.prompt_tokens_per_second,
                f"smoke test on this machine ({found.runs} run(s), median)")

    return lookup


def build(args: argparse.Namespace) -> tuple[dict[str, Any], str, list[str]]:
    """The headless document (`hardware`, `settings`, `recommendations`), its text and warnings."""
    from picker.catalog import load_catalog
    from picker.hardware.overrides import HardwareOverrides
    from picker.hardware.probe import probe_hardware
    from picker.rank.document import recommendations_list, render_text, speed_basis_dict
    from picker.rank.engine import recommend
    from picker.speed.cpu_bandwidth import cpu_bandwidth

    options = _options(args)
    snapshot = probe_hardware(HardwareOverrides.from_args(args))
    catalog = load_catalog()
    result = recommend(snapshot, catalog, options, cpu_bandwidth(), _measured_lookup(snapshot))
    recommendations = recommendations_list(result, catalog, snapshot)
    settings = options.settings_dict(result.use_case)
    settings["speed_basis"] = speed_basis_dict(result)
    settings["excluded"] = {reason: len(ids) for reason, ids in result.excluded.items()}
    document = {"hardware": snapshot.to_dict(), "settings": settings,
                "recommendations": recommendations}
    return document, render_text(result, recommendations), list(result.warnings)


def recommendations_document(args: argparse.Namespace) -> dict[str, Any]:
    """What `picker --json` prints: `hardware`, `settings` and the ranked `recommendations`."""
    return build(args)[0]


def run(args: argparse.Namespace) -> CommandOutput:
    document, text, warnings = build(args)
    return CommandOutput(document=document, text=text, warnings=warnings)

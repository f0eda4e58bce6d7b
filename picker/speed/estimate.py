"""Tokens/s from bytes per device and each device's bandwidth, as a range with its method.

Generation: every generated token reads the active weights on each device once plus
the KV cache filled so far, so its time is the sum over devices of bytes / effective
bandwidth, plus a fixed per-token overhead. Devices run one after another (llama.cpp
pipelines layers, it does not split one token across devices in parallel), which is
why partial offload adds the CPU's share at the CPU's much lower bandwidth.
Mixture-of-experts models pass only their active experts' bytes.

Prompt processing is compute-bound: 2 FLOPs per active parameter per token over the
effective FLOP/s of the slowest device that holds a share of the weights, weighted by
that share.
"""

from typing import Any, Literal, NamedTuple

from picker.hardware.model import CpuInfo, HardwareSnapshot
from picker.speed import calibration
from picker.speed.calibration import Efficiency
from picker.speed.cpu_bandwidth import CpuBandwidth
from picker.speed.gpu_table import GpuSpec, lookup_gpu

BandwidthKind = Literal["table", "measured", "assumed"]


class DeviceBandwidth(NamedTuple):
    """One device's memory bandwidth, where the figure came from, and its prompt compute."""

    device: str  # "cpu" or "gpu<index>"
    label: str
    bytes_per_second: float
    kind: BandwidthKind
    source: str
    efficiency: Efficiency
    prompt_flops_per_second: float
    prompt_source: str


class DeviceLoad(NamedTuple):
    """What one device reads per generated token."""

    device: str
    weight_bytes: int  # active weights held there (token embeddings excluded: one row is read)
    kv_bytes_per_token: float  # KV cache bytes per context token held there


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

    @property
    def best_tokens_per_second(self) -> float:
        """The measurement when there is one, else the central estimate."""
        return self.measured_tokens_per_second or self.tokens_per_second

    def to_dict(self) -> dict[str, Any]:
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


def cpu_device_bandwidth(
    cpu: CpuInfo, measured: CpuBandwidth | None, unified: GpuSpec | None = None
) -> DeviceBandwidth:
    """The CPU's entry: the chip's table figure on unified memory, else the probe, else assumed."""
    cores = cpu.physical_cores or cpu.logical_cores or 1
    per_cycle = _cpu_flops_per_cycle(cpu.features)
    flops = cores * per_cycle * calibration.CPU_ASSUMED_HZ * calibration.CPU_PROMPT_EFFICIENCY
    kind: BandwidthKind
    efficiency = calibration.CPU_EFFICIENCY
    if unified is not None:
        bandwidth, kind = unified.bandwidth_bytes_per_second, "table"
        source = f"unified memory of {unified.name} ({unified.source})"
        efficiency = calibration.GPU_EFFICIENCY
    elif measured is not None:
        bandwidth, kind, source = measured.bytes_per_second, "measured", measured.description
    else:
        bandwidth, kind = calibration.ASSUMED_CPU_BANDWIDTH_BYTES_PER_SECOND, "assumed"
        source = f"not measured: assumed {bandwidth / 1e9:.0f} GB/s"
    return DeviceBandwidth(
        device="cpu",
        label="CPU",
        bytes_per_second=bandwidth,
        kind=kind,
        source=source,
        efficiency=efficiency,
        prompt_flops_per_second=flops,
        prompt_source=(f"{cores} cores x {per_cycle:.0f} FLOP/cycle x 3 GHz (assumed) x "
                       f"{calibration.CPU_PROMPT_EFFICIENCY} (fitted)"),
    )


def machine_bandwidths(
    snapshot: HardwareSnapshot, cpu_measured: CpuBandwidth | None
) -> dict[str, DeviceBandwidth]:
    """Bandwidth per device: GPUs from the table (else an assumed figure), the CPU from the probe.

    On unified memory (Apple Silicon) the CPU reads the same memory as the GPU, so it
    gets the chip's table figure too.
    """
    result: dict[str, DeviceBandwidth] = {}
    unified_spec: GpuSpec | None = None
    for gpu in snapshot.gpus:
        if gpu.memory_kind == "shared":
            continue  # an integrated GPU borrowing RAM: llama.cpp gains little from it
        spec = lookup_gpu(gpu.name)
        kind: BandwidthKind
        vendor = spec.vendor if spec else gpu.vendor
        ratio = calibration.GPU_PROMPT_FLOPS_PER_BYTE.get(vendor, 20.0)
        if spec is not None:
            bandwidth, kind = spec.bandwidth_bytes_per_second, "table"
            source = f"{spec.name}: {bandwidth / 1e9:.0f} GB/s ({spec.source})"
            if gpu.memory_kind == "unified":
                unified_spec = spec
        else:
            bandwidth = (calibration.ASSUMED_UNIFIED_BANDWIDTH_BYTES_PER_SECOND
                         if gpu.memory_kind == "unified" else
                         calibration.ASSUMED_GPU_BANDWIDTH_BYTES_PER_SECOND.get(gpu.vendor, 300e9))
            kind = "assumed"
            source = (f"{gpu.name or 'unnamed GPU'} is not in the bandwidth table: "
                      f"assumed {bandwidth / 1e9:.0f} GB/s")
        result[f"gpu{gpu.index}"] = DeviceBandwidth(
            device=f"gpu{gpu.index}",
            label=spec.name if spec else (gpu.name or f"GPU {gpu.index}"),
            bytes_per_second=bandwidth,
            kind=kind,
            source=source,
            efficiency=calibration.GPU_EFFICIENCY,
            prompt_flops_per_second=bandwidth * ratio,
            prompt_source=f"{ratio:.0f} effective FLOP per byte of bandwidth ({vendor} GPUs)",
        )
    result["cpu"] = cpu_device_bandwidth(snapshot.cpu, cpu_measured, unified_spec)
    return result


def _seconds_per_token(
    loads: list[DeviceLoad],
    bandwidths: dict[str, DeviceBandwidth],
    context_fill_tokens: float,
    which: Literal["central", "low", "high"],
) -> float:
    seconds = 0.0
    overhead = 0.0
    for load in loads:
        device = bandwidths[load.device]
        efficiency = getattr(device.efficiency, which)
        read_bytes = load.weight_bytes + load.kv_bytes_per_token * context_fill_tokens
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
) -> SpeedEstimate:
    """Central estimate at a half-full context; the range spans an empty context at the high
    efficiency to a full one at the low efficiency."""
    present = [load for load in loads if load.weight_bytes > 0 or load.kv_bytes_per_token > 0]
    if not present:
        raise ValueError("a speed estimate needs at least one device holding weights")
    central = 1.0 / _seconds_per_token(present, bandwidths, context_tokens / 2, "central")
    low = 1.0 / _seconds_per_token(present, bandwidths, context_tokens, "low")
    high = 1.0 / _seconds_per_token(present, bandwidths, 0, "high")
    total_weights = sum(load.weight_bytes for load in present) or 1
    prompt_seconds = 0.0
    for load in present:
        share = load.weight_bytes / total_weights
        prompt_seconds += share * 2.0 * active_parameters / bandwidths[load.device].prompt_flops_per_second
    prompt = 1.0 / prompt_seconds if prompt_seconds > 0 else None
    devices = ", ".join(
        f"{bandwidths[load.device].label} {load.weight_bytes / 1e9:.2f} GB" for load in present
    )
    method = (
        f"memory-bandwidth model: weights read per token ({devices}) plus the KV cache at half "
        f"of {context_tokens} tokens, over each device's bandwidth x efficiency; range from "
        "an empty context at high efficiency to a full one at low efficiency"
    )
    sources = tuple(dict.fromkeys(bandwidths[load.device].source for load in present))
    prompt_method = (
        "compute-bound: 2 FLOPs per active parameter per prompt token over each device's "
        "effective FLOP/s, weighted by its share of the weights ("
        + "; ".join(dict.fromkeys(f"{bandwidths[load.device].label}: "
                                  f"{bandwidths[load.device].prompt_source}" for load in present))
        + "); rough, within 2-3x"
    )
    return SpeedEstimate(
        tokens_per_second=central,
        low_tokens_per_second=min(low, central),
        high_tokens_per_second=max(high, central),
        prompt_tokens_per_second=prompt,
        method=method,
        bandwidth_sources=sources,
        prompt_method=prompt_method,
    )

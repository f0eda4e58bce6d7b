"""The speed estimate: GPU table lookups, the CPU bandwidth probe and its cache, the model."""

from __future__ import annotations

import json

import pytest

from picker.hardware.model import CpuInfo, GpuInfo, HardwareSnapshot, MemoryInfo
from picker.paths import picker_paths
from picker.speed.cpu_bandwidth import CACHE_FILE_NAME, cpu_bandwidth, measure_cpu_bandwidth
from picker.speed.estimate import DeviceLoad, estimate_speed, machine_bandwidths
from picker.speed.gpu_table import known_gpus, lookup_gpu

GB = 10**9


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("NVIDIA GeForce RTX 4090", "GeForce RTX 4090"),
        ("NVIDIA GeForce RTX 4070 Ti SUPER", "GeForce RTX 4070 Ti Super"),
        ("NVIDIA GeForce RTX 4070 Ti", "GeForce RTX 4070 Ti"),
        ("NVIDIA GeForce RTX 4090 Laptop GPU", "GeForce RTX 4090 Laptop"),
        ("NVIDIA H100 80GB HBM3", "H100 SXM"),
        ("NVIDIA H100 PCIe", "H100 PCIe"),
        ("NVIDIA A100-SXM4-80GB", "A100 80GB SXM"),
        ("NVIDIA A100 80GB PCIe", "A100 80GB PCIe"),
        ("NVIDIA A100-PCIE-40GB", "A100 40GB"),
        ("NVIDIA GH200 480GB", "GH200"),
        ("Tesla T4", "T4"),
        ("AMD Radeon RX 7900 XTX", "Radeon RX 7900 XTX"),
        ("AMD Radeon RX 7900 XT", "Radeon RX 7900 XT"),
        ("AMD Instinct MI300X", "Instinct MI300X"),
        ("Intel(R) Arc(TM) A770 Graphics", "Arc A770"),
        ("Apple M3 Max", "Apple M3 Max (30-core GPU)"),
        ("Apple M3 Max 40-core GPU", "Apple M3 Max (40-core GPU)"),
        ("Apple M4 Max (16-core CPU, 40-core GPU)", "Apple M4 Max (40-core GPU)"),
        ("NVIDIA GB10", "NVIDIA GB10 (DGX Spark)"),
        ("AMD Radeon 8060S Graphics", "Radeon 8060S (Ryzen AI Max, Strix Halo)"),
        ("AMD Radeon AI PRO R9700", "Radeon AI PRO R9700"),
        ("Intel(R) Arc(TM) Pro B60 Graphics", "Arc Pro B60"),
        ("NVIDIA Jetson Orin Nano", "Jetson Orin Nano 8GB"),
        ("Apple M2", "Apple M2"),
        ("RTX 3090", "GeForce RTX 3090"),
    ],
)
def test_gpu_names_as_probes_spell_them_find_the_right_row(name: str, expected: str) -> None:
    spec = lookup_gpu(name)
    assert spec is not None and spec.name == expected


def test_unknown_gpu_is_not_guessed() -> None:
    assert lookup_gpu("Mystery Accelerator 9000") is None
    assert lookup_gpu(None) is None


def test_every_row_has_a_source_and_a_plausible_bandwidth() -> None:
    rows = known_gpus()
    assert {spec.vendor for spec in rows} == {"nvidia", "amd", "intel", "apple"}
    for spec in rows:
        assert spec.source
        assert 50 * GB <= spec.bandwidth_bytes_per_second <= 10_000 * GB


def test_cpu_probe_is_short_positive_and_cached() -> None:
    measured = measure_cpu_bandwidth(threads=1)
    assert measured.bytes_per_second > 0.1 * GB
    assert measured.low_bytes_per_second <= measured.bytes_per_second
    assert measured.probe_seconds < 5.0  # 0.1-0.2 s typical; generous for a loaded CI machine
    first = cpu_bandwidth()
    path = picker_paths().cache_dir / CACHE_FILE_NAME
    assert json.loads(path.read_text())["bytes_per_second"] == first.bytes_per_second
    assert cpu_bandwidth() == first  # read back, not measured again


def test_stale_cache_from_another_machine_is_measured_again() -> None:
    path = picker_paths().cache_dir / CACHE_FILE_NAME
    path.parent.mkdir(parents=True)
    first = cpu_bandwidth()
    data = json.loads(path.read_text())
    data["machine_key"] = "someone-else"
    data["bytes_per_second"] = 1.0
    path.write_text(json.dumps(data))
    assert cpu_bandwidth().bytes_per_second != 1.0
    assert first.bytes_per_second > 0


def _snapshot(*gpus: GpuInfo) -> HardwareSnapshot:
    cpu = CpuInfo("test cpu", "x86_64", 8, 16, ("AVX2",))
    memory = MemoryInfo(64 * 2**30, 60 * 2**30, 0, 0)
    return HardwareSnapshot(cpu=cpu, memory=memory, disk=None, gpus=tuple(gpus), os="Linux")


def _gpu(name: str, index: int = 0, kind: str = "dedicated") -> GpuInfo:
    return GpuInfo(index, "nvidia", name, kind, 24 * 2**30, 24 * 2**30)  # type: ignore[arg-type]


def test_full_gpu_beats_partial_offload_beats_cpu() -> None:
    bandwidths = machine_bandwidths(_snapshot(_gpu("NVIDIA GeForce RTX 4090")), None)
    weights = 4 * GB
    on_gpu = estimate_speed([DeviceLoad("gpu0", weights, 100_000)], bandwidths, 8 * GB, 8192)
    partial = estimate_speed([DeviceLoad("gpu0", weights // 2, 50_000),
                              DeviceLoad("cpu", weights // 2, 50_000)], bandwidths, 8 * GB, 8192)
    on_cpu = estimate_speed([DeviceLoad("cpu", weights, 100_000)], bandwidths, 8 * GB, 8192)
    assert on_gpu.tokens_per_second > partial.tokens_per_second > on_cpu.tokens_per_second
    # RTX 4090: 1008 GB/s x 0.6 over 4 GB is ~150 tokens/s, give or take the KV and overhead.
    assert 100 < on_gpu.tokens_per_second < 160
    for estimate in (on_gpu, partial, on_cpu):
        assert estimate.low_tokens_per_second <= estimate.tokens_per_second
        assert estimate.tokens_per_second <= estimate.high_tokens_per_second
        assert estimate.prompt_tokens_per_second and estimate.prompt_tokens_per_second > 0
    assert "RTX 4090" in " ".join(on_gpu.bandwidth_sources)
    assert bandwidths["cpu"].kind == "assumed"


def test_fewer_bytes_read_means_faster_as_for_moe_active_parameters() -> None:
    bandwidths = machine_bandwidths(_snapshot(), None)
    dense = estimate_speed([DeviceLoad("cpu", 16 * GB, 0)], bandwidths, 30 * GB, 4096)
    moe = estimate_speed([DeviceLoad("cpu", 2 * GB, 0)], bandwidths, 3 * GB, 4096)
    assert moe.tokens_per_second > 5 * dense.tokens_per_second


def test_longer_context_widens_the_range_downwards() -> None:
    bandwidths = machine_bandwidths(_snapshot(), None)
    short = estimate_speed([DeviceLoad("cpu", GB, 200_000)], bandwidths, GB, 1024)
    long = estimate_speed([DeviceLoad("cpu", GB, 200_000)], bandwidths, GB, 65536)
    assert long.low_tokens_per_second < short.low_tokens_per_second
    assert long.high_tokens_per_second == pytest.approx(short.high_tokens_per_second)


def test_unified_memory_cpu_uses_the_chip_bandwidth_and_unknown_gpus_are_labelled() -> None:
    apple = machine_bandwidths(_snapshot(_gpu("Apple M2 Max", kind="unified")), None)
    assert apple["cpu"].bytes_per_second == apple["gpu0"].bytes_per_second == 400 * GB
    odd = machine_bandwidths(_snapshot(_gpu("Mystery GPU")), measure_cpu_bandwidth(threads=1))
    assert odd["gpu0"].kind == "assumed" and "unknown to picker's GPU table" in odd["gpu0"].source
    assert odd["cpu"].kind == "measured"


def test_a_what_if_mac_without_a_chip_name_reads_the_stated_memory_bandwidth() -> None:
    # `--unified-memory --ram 24G --memory-bandwidth 273` (an M4 Pro's figure, no --gpu):
    # the GPU reads that same memory, so the stated 273 GB/s is its bandwidth too, not the
    # 100 GB/s assumed for an unnamed chip (which made a 9B model 2.6x slower than stated).
    from picker.hardware.overrides import HardwareOverrides, apply_overrides

    mac = apply_overrides(_snapshot(), HardwareOverrides(
        ram_bytes=24 * 2**30, unified_memory=True, memory_bandwidth_gbps=273.0))
    stated = machine_bandwidths(mac, None)
    assert stated["gpu0"].bytes_per_second == stated["cpu"].bytes_per_second == 273 * GB
    assert stated["gpu0"].kind == "stated" and "273" in stated["gpu0"].source
    unstated = machine_bandwidths(apply_overrides(_snapshot(), HardwareOverrides(
        ram_bytes=24 * 2**30, unified_memory=True)), None)
    assert unstated["gpu0"].kind == "assumed"
    named = machine_bandwidths(apply_overrides(_snapshot(), HardwareOverrides(
        ram_bytes=64 * 2**30, unified_memory=True, gpu_name="Apple M2 Max",
        memory_bandwidth_gbps=273.0)), None)
    assert named["gpu0"].kind == "table" and named["gpu0"].bytes_per_second == 400 * GB


def test_measured_speed_wins_and_is_labelled() -> None:
    bandwidths = machine_bandwidths(_snapshot(), None)
    estimate = estimate_speed([DeviceLoad("cpu", GB, 0)], bandwidths, GB, 2048)
    measured = estimate._replace(measured_tokens_per_second=3.5, measured_source="smoke test")
    assert measured.best_tokens_per_second == 3.5
    document = measured.to_dict()
    assert document["basis"] == "measured" and document["measured"] == 3.5
    assert estimate.to_dict()["basis"] == "estimate"

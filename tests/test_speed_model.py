"""The speed model of issue 22: variants by core count, APUs by the CPU's brand string, unknown
devices said to be unknown, a what-if CPU's memory system, threads, the published table."""

from __future__ import annotations

from pathlib import Path

import pytest

from picker.hardware.model import CpuInfo, GpuInfo, HardwareSnapshot, MemoryInfo
from picker.speed.cpu_memory import channel_bandwidth
from picker.speed.estimate import DeviceLoad, cpu_device_bandwidth, estimate_speed, machine_bandwidths
from picker.speed.gpu_table import resolve_gpu
from picker.speed.published import compare_all, load_measurements
from tests.cli_helpers import run_picker

GB = 10**9
TABLE = Path(__file__).resolve().parent.parent / "benchmarks" / "speed_measurements.toml"


def _snapshot(*gpus: GpuInfo, cpu_name: str = "test cpu", cores: int = 8,
              memory: MemoryInfo | None = None) -> HardwareSnapshot:
    cpu = CpuInfo(cpu_name, "x86_64", cores, cores * 2, ("AVX2",))
    return HardwareSnapshot(cpu, memory or MemoryInfo(64 * 2**30, 60 * 2**30, 0, 0), None,
                            tuple(gpus), "Linux")


def _gpu(name: str, vendor: str = "nvidia", kind: str = "dedicated") -> GpuInfo:
    return GpuInfo(0, vendor, name, kind, 24 * 2**30, 24 * 2**30)  # type: ignore[arg-type]


@pytest.mark.parametrize(("cores", "gbps"), [(14, 410), (16, 546)])
def test_an_apple_variant_is_picked_by_the_core_count_the_probe_read(cores: int, gbps: int) -> None:
    snapshot = _snapshot(_gpu("Apple M4 Max", "apple", "unified"), cores=cores)
    bandwidths = machine_bandwidths(snapshot, None)
    assert bandwidths["gpu0"].bytes_per_second == gbps * GB
    assert bandwidths["gpu0"].assumption == ""
    assert bandwidths["cpu"].bytes_per_second == gbps * GB  # the same unified memory


def test_a_variant_without_its_core_count_is_the_slower_one_and_says_so() -> None:
    match = resolve_gpu("Apple M3 Max")
    assert match is not None and match.spec.bandwidth_bytes_per_second == 300 * GB
    assert "40-core" in match.assumption and "assumed" in match.assumption
    named = resolve_gpu("Apple M3 Max 40-core GPU")
    assert named is not None and named.spec.bandwidth_bytes_per_second == 400 * GB
    assert named.assumption == ""


def test_an_apu_without_a_marketing_name_is_found_by_the_cpu_brand_string() -> None:
    apu = _gpu("AMD GPU (PCI device 0x1586)", "amd", "unified")
    snapshot = _snapshot(apu, cpu_name="AMD RYZEN AI MAX+ 395 w/ Radeon 8060S", cores=16)
    entry = machine_bandwidths(snapshot, None)["gpu0"]
    assert entry.kind == "table" and entry.bytes_per_second == 256 * GB
    assert entry.backend == "ROCm/Vulkan" and "Strix Halo" in entry.label


@pytest.mark.parametrize(("name", "gbps"), [
    ("NVIDIA RTX PRO 5000 Blackwell", 1344), ("NVIDIA RTX PRO 4500 Blackwell", 896),
    ("NVIDIA RTX PRO 4000 Blackwell", 672), ("NVIDIA RTX PRO 4000 Blackwell SFF Edition", 432),
    ("NVIDIA RTX PRO 2000 Blackwell", 288), ("NVIDIA H200 NVL", 4800),
    ("Intel(R) Arc(TM) Pro B50 Graphics", 224), ("NVIDIA GeForce RTX 2060 SUPER", 448),
    ("NVIDIA GeForce RTX 2060", 336), ("Apple M5 Pro", 307), ("Apple M5 Max", 614),
])
def test_the_2026_workstation_cards_and_chips_are_known_with_the_page_read(name: str,
                                                                           gbps: int) -> None:
    """As NVML, sysfs and sysctl spell them; the SFF card is not taken for the full one, nor the
    2060 Super for the 2060; every such row names the page its figure was read from."""
    match = resolve_gpu(name)
    assert match is not None and match.assumption == ""
    assert match.spec.bandwidth_bytes_per_second == gbps * GB
    assert "https://" in match.spec.source or match.spec.source.startswith("NVIDIA GeForce RTX 20")


def test_an_unknown_gpu_is_said_to_be_unknown_with_the_assumption_shown() -> None:
    bandwidths = machine_bandwidths(_snapshot(_gpu("Mystery Accelerator 9000")), None)
    entry = bandwidths["gpu0"]
    assert entry.kind == "assumed"
    assert "unknown" in entry.assumption and "assumed to be 300 GB/s" in entry.assumption
    estimate = estimate_speed([DeviceLoad("gpu0", 4 * GB, 0)], bandwidths, 8 * GB, 4096)
    assert any("unknown" in source for source in estimate.bandwidth_sources)


def test_the_ranking_warns_when_a_speed_rests_on_an_assumption() -> None:
    from picker.catalog import load_catalog
    from picker.rank.engine import RankOptions, recommend

    snapshot = _snapshot(_gpu("Mystery Accelerator 9000"))
    result = recommend(snapshot, load_catalog(), RankOptions(limit=1), None)
    assert any("Mystery Accelerator 9000" in warning and "unknown" in warning
               for warning in result.warnings)


def test_threads_cap_a_cpus_reads_and_scale_its_prompt_speed() -> None:
    server = channel_bandwidth(12, 5600)
    assert server[0] == pytest.approx(537.6 * GB)
    cpu = CpuInfo("server", "x86_64", 64, 128, ("AVX512",), 64)
    many = cpu_device_bandwidth(cpu, None, None, server)
    few = cpu_device_bandwidth(cpu._replace(inference_threads=4), None, None, server)
    assert many.kind == few.kind == "stated"
    loads = [DeviceLoad("cpu", 9 * GB, 0)]
    fast = estimate_speed(loads, {"cpu": many}, 14 * GB, 512)
    slow = estimate_speed(loads, {"cpu": few}, 14 * GB, 512)
    assert fast.tokens_per_second > 3 * slow.tokens_per_second  # 4 threads cannot fill 12 channels
    assert "4 thread(s) read at most" in few.source
    assert fast.prompt_tokens_per_second == pytest.approx(16 * (slow.prompt_tokens_per_second or 0))


def test_a_what_if_memory_system_changes_the_cpu_estimate() -> None:
    def speeds(*flags: str) -> dict[tuple[str, str], float]:
        result = run_picker("recommend", "--json", "--ram", "128G", "--min-speed", "0.1",
                            "--limit", "5", "--cpu-threads", "32", *flags, timeout=120)
        assert result.returncode == 0, result.stderr
        document = result.json()
        assert document["settings"]["speed_basis"]["cpu"]["kind"] == "stated"
        assert "memory.bandwidth_bytes_per_second" in document["hardware"]["overridden"]
        return {(r["model_id"], r["quant"]): r["tokens_per_second"]["estimate"]
                for r in document["recommendations"]}

    desktop = speeds("--memory-channels", "2", "--memory-mts", "5600")
    server = speeds("--memory-bandwidth", "537.6")
    common = set(desktop) & set(server)
    assert common
    for key in common:  # 6x the bandwidth; the per-token overhead keeps it below 6x
        assert 3.0 < server[key] / desktop[key] <= 6.0


def test_a_what_if_cpu_without_its_memory_system_says_whose_bandwidth_it_uses() -> None:
    result = run_picker("recommend", "--json", "--ram", "128G", "--cpu-threads", "64",
                        "--limit", "1", timeout=120)
    assert result.returncode == 0, result.stderr
    assert "this machine's measured" in result.stderr and "--memory-channels" in result.stderr


@pytest.mark.parametrize(("name", "platform"), [
    ("AMD EPYC 9654 96-Core Processor", "AMD EPYC 9004 (Genoa)"),
    ("AMD EPYC 7763 64-Core Processor", "AMD EPYC 7002/7003 (Rome/Milan)"),
    ("Intel(R) Xeon(R) w9-3495X", "Intel Xeon W-3400"),
    ("Intel(R) Xeon(R) w5-2455X", "Intel Xeon W-2400"),
    ("Intel(R) Xeon(R) Platinum 8480+", "Intel Xeon Scalable 4th gen (Sapphire Rapids)"),
    ("Intel(R) Xeon(R) Gold 6338 CPU", "Intel Xeon Scalable 3rd gen (Ice Lake)"),
    ("AMD Ryzen 9 7950X3D 16-Core Processor", "AMD Ryzen 7000 desktop (AM5)"),
    ("AMD Ryzen 7 7840HS w/ Radeon 780M Graphics", None),  # a laptop part: LPDDR5 or DDR5
    ("12th Gen Intel(R) Core(TM) i9-12900K", None),  # DDR4 or DDR5 boards: the name cannot say
])
def test_a_cpus_platform_is_found_by_its_model_number(name: str, platform: str | None) -> None:
    from picker.speed.cpu_platforms import lookup_platform

    found = lookup_platform(name)
    assert (found.name if found else None) == platform
    assert found is None or "https://" in found.source


def test_a_what_if_cpu_named_gets_its_platforms_memory_system_unless_stated(
        gemma_gguf_path: Path) -> None:
    def fit(*flags: str) -> dict[str, object]:
        result = run_picker("fit", str(gemma_gguf_path), "--json", "--cpu-threads", "64", *flags)
        assert result.returncode == 0, result.stderr
        speed: dict[str, object] = result.json()["speed"]
        return speed

    genoa = fit("--cpu", "EPYC 9554")
    assert "12 channels x 4800 MT/s" in str(genoa["bandwidth_sources"])
    assert "Genoa" in str(genoa["bandwidth_sources"])
    desktop = fit("--cpu", "EPYC 9554", "--memory-channels", "2", "--memory-mts", "5600")
    assert "2 channels x 5600 MT/s" in str(desktop["bandwidth_sources"])  # stated wins
    assert float(genoa["estimate"]) > 2 * float(desktop["estimate"])  # type: ignore[arg-type]
    unknown = run_picker("probe", "--json", "--cpu", "Pentium 4")
    assert unknown.returncode == 2 and "Traceback" not in unknown.stderr
    assert "--memory-channels N --memory-mts" in unknown.stderr
    assert run_picker("probe", "--cpu", "Pentium 4", "--memory-bandwidth", "6.4").returncode == 0


def test_the_tui_asks_the_ranking_for_every_what_if_value_it_was_given() -> None:
    """`picker --cpu ... --memory-mts ...` opens the TUI with those overrides; its queries
    must carry every one of them back to the ranking."""
    from picker.hardware.overrides import HardwareOverrides
    from picker.tui.data import Query

    given = HardwareOverrides(ram_bytes=64 << 30, vram_bytes=(24 << 30,), gpu_name="RTX 4090",
                              cpu_threads=32, memory_channels=12, memory_mts=4800,
                              cpu_name="EPYC 9554")
    assert Query(overrides=given).rank_request().overrides == given


@pytest.mark.parametrize(("flags", "message"), [
    (("--memory-channels", "12"), "--memory-channels and --memory-mts go together"),
    (("--memory-bandwidth", "90", "--memory-mts", "5600"), "not both"),
    (("--memory-channels", "99", "--memory-mts", "5600"), "is not a memory system"),
    (("--memory-bandwidth", "fast"), "give GB/s"),
])
def test_bad_memory_flags_are_one_line_usage_errors(flags: tuple[str, ...], message: str) -> None:
    result = run_picker("probe", "--json", *flags)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_the_published_table_is_cited_covers_2026_hardware_and_meets_its_targets() -> None:
    measurements = load_measurements(TABLE)
    assert len(measurements) >= 40
    for measurement in measurements:
        source = measurement.source
        assert source["url"].startswith("http") and source["date"] and source["build"]
        assert measurement.row["tg"] > 0 and measurement.row["size_gib"] > 0
    gpus = [str(m.row.get("gpu", "")) for m in measurements]
    assert any("GB10" in name for name in gpus) and any("8060S" in name for name in gpus)
    assert len({name.split(" GPU")[0].rsplit(" ", 1)[0] for name in gpus
                if name.startswith("Apple")}) >= 3
    discrete = {resolve_gpu(name).spec.vendor for name in gpus  # type: ignore[union-attr]
                if name and not name.startswith("Apple") and resolve_gpu(name)
                and not resolve_gpu(name).spec.unified}  # type: ignore[union-attr]
    assert discrete == {"nvidia", "amd", "intel"}
    cpus = [m.row for m in measurements if "cpu" in m.row]
    assert len(cpus) >= 3 and max(int(row["memory_channels"]) for row in cpus) == 12
    ratios = [comparison.generation_ratio for comparison in compare_all(TABLE)]
    assert sum(abs(ratio - 1) <= 0.25 for ratio in ratios) >= 0.8 * len(ratios)
    assert all(0.5 <= ratio <= 2.0 for ratio in ratios)


def test_fit_reports_the_speed_of_exactly_the_plan_it_shows(gemma_gguf_path: Path) -> None:
    def fit(*flags: str) -> dict[str, object]:
        result = run_picker("fit", str(gemma_gguf_path), "--json", "--ram", "16G", "--vram", "8G",
                            "--gpu", "RTX 4090", *flags)
        assert result.returncode == 0, result.stderr
        document: dict[str, object] = result.json()
        return document

    on_gpu = fit()
    speed = on_gpu["speed"]
    assert isinstance(speed, dict)
    assert speed["for"]["n_gpu_layers"] == on_gpu["n_gpu_layers"] > 0
    assert speed["for"]["n_ctx"] == on_gpu["settings"]["n_ctx"]  # type: ignore[index]
    assert speed["for"]["weight_type"] == "Q4_K_M"
    assert "GeForce RTX 4090" in " ".join(speed["bandwidth_sources"])
    assert 0 < speed["estimate"] <= speed["empty_context"] <= speed["bound"]
    on_cpu = fit("--n-gpu-layers", "0")["speed"]
    assert isinstance(on_cpu, dict) and on_cpu["for"]["n_gpu_layers"] == 0
    assert on_cpu["estimate"] < speed["estimate"]

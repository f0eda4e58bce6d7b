"""picker's speed estimate for a published llama.cpp measurement, to compare the two.

`benchmarks/speed_measurements.toml` lists llama-bench figures with their sources; each
row becomes the machine it was measured on (a what-if snapshot: the GPU by name, its
count, unified memory, or a CPU's memory channels x MT/s and threads) and the model
(its file size, with the catalog's architecture facts), and goes through the same
functions the ranking uses: `machine_bandwidths` and `estimate_speed`.
"""

import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from picker.hardware.model import CpuInfo, GpuInfo, HardwareSnapshot, MemoryInfo
from picker.speed.calibration import weight_type_in
from picker.speed.cpu_memory import channel_bandwidth
from picker.speed.estimate import DeviceLoad, SpeedEstimate, estimate_speed, machine_bandwidths

if TYPE_CHECKING:
    from picker.catalog.types import Catalog

GIB = 1024**3


class Measurement(NamedTuple):
    """One published figure and the setting it was measured in."""

    id: str
    source: dict[str, str]
    row: dict[str, Any]

    @property
    def hardware(self) -> str:
        row = self.row
        if "cpu" in row:
            return (f"{row['cpu']}, {row['memory_channels']}ch x {row['memory_mts']} MT/s, "
                    f"{row['threads']} threads")
        count = int(row.get("gpus", 1))
        return f"{count} x {row['gpu']}" if count > 1 else str(row["gpu"])


class Comparison(NamedTuple):
    measurement: Measurement
    estimate: SpeedEstimate

    @property
    def generation_ratio(self) -> float:
        return self.estimate.tokens_per_second / float(self.measurement.row["tg"])

    @property
    def prompt_ratio(self) -> float | None:
        measured = self.measurement.row.get("pp")
        if not measured or not self.estimate.prompt_tokens_per_second:
            return None
        return self.estimate.prompt_tokens_per_second / float(measured)


def load_measurements(path: Path) -> list[Measurement]:
    """Every row of the table with its source record."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    sources = {source["key"]: source for source in data["source"]}
    return [Measurement(row["id"], sources[row["source"]], row) for row in data["row"]]


def _generated_tokens(test: str) -> int:
    found = re.match(r"tg(\d+)", test)
    return int(found.group(1)) if found else 128


def _snapshot(row: dict[str, Any]) -> HardwareSnapshot:
    if "cpu" in row:
        threads = int(row["threads"])
        bandwidth, how = channel_bandwidth(int(row["memory_channels"]), int(row["memory_mts"]))
        cpu = CpuInfo(row["cpu"], "x86_64", threads, threads, ("AVX", "AVX2", "FMA"), threads)
        memory = MemoryInfo(None, None, None, None, {"bandwidth": how}, bandwidth)
        return HardwareSnapshot(cpu, memory, None, (), "linux")
    unified = bool(row.get("unified", False))
    cpu = CpuInfo(None, "x86_64", 16, 32, ("AVX", "AVX2", "FMA"), 16)
    gpus = tuple(
        GpuInfo(index, "unknown", str(row["gpu"]), "unified" if unified else "dedicated",
                None, None)
        for index in range(int(row.get("gpus", 1))))
    return HardwareSnapshot(cpu, MemoryInfo(None, None, None, None), None, gpus, "linux")


def _model_reads(row: dict[str, Any], catalog: "Catalog") -> tuple[int, float, int, int]:
    """(bytes read per token, KV bytes per context token, active parameters, parameters):
    with the catalog's facts as the ranking reads a plan, else the whole file."""
    size = int(float(row["size_gib"]) * GIB)
    params = int(float(row["params_b"]) * 1e9)
    model_id = row.get("model_id") or ""
    if not model_id:
        return size, 0.0, params, params
    from picker.catalog.types import Quantization
    from picker.rank.candidates import cpu_only_load, kv_bytes_per_token, shape_for

    model = {entry.id: entry for entry in catalog.models}[model_id]
    shape = shape_for(model, Quantization(weight_type_in(str(row["model"])), (), size, False))
    active_fraction = model.active_parameters / (model.parameters or 1)
    kv = kv_bytes_per_token(shape)
    load = cpu_only_load(shape, active_fraction, kv)
    return load.weight_bytes, kv, int(params * active_fraction), params


def estimate_for(measurement: Measurement, catalog: "Catalog | None" = None) -> SpeedEstimate:
    """picker's estimate in the measured setting (llama-bench: an empty context, then N
    generated tokens, so on average N/2 tokens of KV cache)."""
    row = measurement.row
    snapshot = _snapshot(row)
    bandwidths = machine_bandwidths(snapshot, None)
    if catalog is None:
        from picker.catalog import load_catalog

        catalog = load_catalog()
    weights, kv, active, params = _model_reads(row, catalog)
    devices = [f"gpu{gpu.index}" for gpu in snapshot.gpus] or ["cpu"]
    # llama.cpp's layer split: an equal share of the layers (and their KV) on each GPU
    loads = [DeviceLoad(device, weights // len(devices), kv / len(devices)) for device in devices]
    fill = int(row.get("depth", 0)) + _generated_tokens(str(row.get("tg_test", ""))) // 2
    weight_type = weight_type_in(str(row["model"]))
    return estimate_speed(loads, bandwidths, active, 2 * fill, weight_type, params)


def compare_all(path: Path, catalog: "Catalog | None" = None) -> list[Comparison]:
    """Every row next to picker's estimate; `catalog` defaults to the shipped one."""
    if catalog is None:
        from picker.catalog import load_catalog

        catalog = load_catalog()
    return [Comparison(measurement, estimate_for(measurement, catalog))
            for measurement in load_measurements(path)]

"""Memory bandwidth of known GPUs, each row with where the figure comes from.

Token generation reads every active weight once per token, so a GPU's memory
bandwidth sets its speed far more than its compute does. Figures are the vendors'
peak specifications in GB/s (10^9 bytes/s); the estimate applies an efficiency
factor on top (see `picker.speed.calibration`). A name is matched by tokens: every
token of a row must appear in the GPU's name, and the row with the most tokens wins,
so "RTX 4070 Ti Super" beats "RTX 4070 Ti" beats "RTX 4070".
"""

import re
from functools import lru_cache
from typing import NamedTuple

# Where each family's figures come from (vendor specification pages).
_SOURCES: dict[str, str] = {
    "rtx50": "NVIDIA GeForce RTX 50 series specifications, nvidia.com",
    "rtx40": "NVIDIA GeForce RTX 40 series specifications, nvidia.com",
    "rtx40m": "NVIDIA GeForce RTX 40 series laptop specifications, nvidia.com",
    "rtx30": "NVIDIA GeForce RTX 30 series specifications, nvidia.com",
    "rtx30m": "NVIDIA GeForce RTX 30 series laptop specifications, nvidia.com",
    "rtx20": "NVIDIA GeForce RTX 20 series specifications, nvidia.com",
    "gtx": "NVIDIA GeForce GTX 10/16 series specifications, nvidia.com",
    "nvws": "NVIDIA RTX professional (workstation) GPU datasheets, nvidia.com",
    "nvdc": "NVIDIA data-center GPU datasheets (A100, H100, H200, B200, L4, L40S, T4, V100...), nvidia.com",
    "amdrx": "AMD Radeon RX product specifications, amd.com",
    "amdpro": "AMD Radeon PRO product specifications, amd.com",
    "amdmi": "AMD Instinct accelerator datasheets, amd.com",
    "arc": "Intel Arc graphics product specifications, intel.com / ark.intel.com",
    "apple": "Apple chip announcements and Mac technical specifications, apple.com",
}


class GpuSpec(NamedTuple):
    """One known GPU: its peak memory bandwidth and the source of that figure."""

    name: str
    vendor: str
    bandwidth_bytes_per_second: float
    source: str
    note: str = ""


# (match tokens, display name, vendor, GB/s, source key, note)
_ROWS: tuple[tuple[str, str, str, float, str, str], ...] = (
    # NVIDIA GeForce, desktop
    ("rtx 5090", "GeForce RTX 5090", "nvidia", 1792, "rtx50", ""),
    ("rtx 5080", "GeForce RTX 5080", "nvidia", 960, "rtx50", ""),
    ("rtx 5070 ti", "GeForce RTX 5070 Ti", "nvidia", 896, "rtx50", ""),
    ("rtx 5070", "GeForce RTX 5070", "nvidia", 672, "rtx50", ""),
    ("rtx 5060 ti", "GeForce RTX 5060 Ti", "nvidia", 448, "rtx50", ""),
    ("rtx 5060", "GeForce RTX 5060", "nvidia", 448, "rtx50", ""),
    ("rtx 4090", "GeForce RTX 4090", "nvidia", 1008, "rtx40", ""),
    ("rtx 4080 super", "GeForce RTX 4080 Super", "nvidia", 736, "rtx40", ""),
    ("rtx 4080", "GeForce RTX 4080", "nvidia", 717, "rtx40", ""),
    ("rtx 4070 ti super", "GeForce RTX 4070 Ti Super", "nvidia", 672, "rtx40", ""),
    ("rtx 4070 ti", "GeForce RTX 4070 Ti", "nvidia", 504, "rtx40", ""),
    ("rtx 4070 super", "GeForce RTX 4070 Super", "nvidia", 504, "rtx40", ""),
    ("rtx 4070", "GeForce RTX 4070", "nvidia", 504, "rtx40", ""),
    ("rtx 4060 ti", "GeForce RTX 4060 Ti", "nvidia", 288, "rtx40", ""),
    ("rtx 4060", "GeForce RTX 4060", "nvidia", 272, "rtx40", ""),
    ("rtx 3090 ti", "GeForce RTX 3090 Ti", "nvidia", 1008, "rtx30", ""),
    ("rtx 3090", "GeForce RTX 3090", "nvidia", 936, "rtx30", ""),
    ("rtx 3080 ti", "GeForce RTX 3080 Ti", "nvidia", 912, "rtx30", ""),
    ("rtx 3080", "GeForce RTX 3080", "nvidia", 760, "rtx30", "12 GB model: 912 GB/s"),
    ("rtx 3070 ti", "GeForce RTX 3070 Ti", "nvidia", 608, "rtx30", ""),
    ("rtx 3070", "GeForce RTX 3070", "nvidia", 448, "rtx30", ""),
    ("rtx 3060 ti", "GeForce RTX 3060 Ti", "nvidia", 448, "rtx30", ""),
    ("rtx 3060", "GeForce RTX 3060", "nvidia", 360, "rtx30", "8 GB model: 240 GB/s"),
    ("rtx 3050", "GeForce RTX 3050", "nvidia", 224, "rtx30", ""),
    ("rtx 2080 ti", "GeForce RTX 2080 Ti", "nvidia", 616, "rtx20", ""),
    ("rtx 2080 super", "GeForce RTX 2080 Super", "nvidia", 496, "rtx20", ""),
    ("rtx 2080", "GeForce RTX 2080", "nvidia", 448, "rtx20", ""),
    ("rtx 2070", "GeForce RTX 2070", "nvidia", 448, "rtx20", ""),
    ("rtx 2060", "GeForce RTX 2060", "nvidia", 336, "rtx20", ""),
    ("gtx 1080 ti", "GeForce GTX 1080 Ti", "nvidia", 484, "gtx", ""),
    ("gtx 1080", "GeForce GTX 1080", "nvidia", 320, "gtx", ""),
    ("gtx 1070", "GeForce GTX 1070", "nvidia", 256, "gtx", ""),
    ("gtx 1660 ti", "GeForce GTX 1660 Ti", "nvidia", 288, "gtx", ""),
    ("gtx 1660", "GeForce GTX 1660", "nvidia", 192, "gtx", ""),
    # NVIDIA GeForce, laptop (names carry "Laptop GPU")
    ("rtx 5090 laptop", "GeForce RTX 5090 Laptop", "nvidia", 896, "rtx50", ""),
    ("rtx 5080 laptop", "GeForce RTX 5080 Laptop", "nvidia", 896, "rtx50", ""),
    ("rtx 5070 ti laptop", "GeForce RTX 5070 Ti Laptop", "nvidia", 672, "rtx50", ""),
    ("rtx 5070 laptop", "GeForce RTX 5070 Laptop", "nvidia", 384, "rtx50", ""),
    ("rtx 5060 laptop", "GeForce RTX 5060 Laptop", "nvidia", 384, "rtx50", ""),
    ("rtx 4090 laptop", "GeForce RTX 4090 Laptop", "nvidia", 576, "rtx40m", ""),
    ("rtx 4080 laptop", "GeForce RTX 4080 Laptop", "nvidia", 432, "rtx40m", ""),
    ("rtx 4070 laptop", "GeForce RTX 4070 Laptop", "nvidia", 256, "rtx40m", ""),
    ("rtx 4060 laptop", "GeForce RTX 4060 Laptop", "nvidia", 256, "rtx40m", ""),
    ("rtx 4050 laptop", "GeForce RTX 4050 Laptop", "nvidia", 192, "rtx40m", ""),
    ("rtx 3080 laptop", "GeForce RTX 3080 Laptop", "nvidia", 448, "rtx30m", "varies by model"),
    ("rtx 3070 laptop", "GeForce RTX 3070 Laptop", "nvidia", 448, "rtx30m", ""),
    ("rtx 3060 laptop", "GeForce RTX 3060 Laptop", "nvidia", 336, "rtx30m", ""),
    # NVIDIA workstation
    ("rtx pro 6000", "RTX PRO 6000 Blackwell", "nvidia", 1792, "nvws", ""),
    ("rtx 6000 ada", "RTX 6000 Ada Generation", "nvidia", 960, "nvws", ""),
    ("rtx 5000 ada", "RTX 5000 Ada Generation", "nvidia", 576, "nvws", ""),
    ("rtx 4000 ada", "RTX 4000 Ada Generation", "nvidia", 360, "nvws", ""),
    ("rtx a6000", "RTX A6000", "nvidia", 768, "nvws", ""),
    ("rtx a5000", "RTX A5000", "nvidia", 768, "nvws", ""),
    ("rtx a4000", "RTX A4000", "nvidia", 448, "nvws", ""),
    ("rtx a2000", "RTX A2000", "nvidia", 288, "nvws", ""),
    ("quadro rtx 8000", "Quadro RTX 8000", "nvidia", 672, "nvws", ""),
    # NVIDIA data center
    ("b200", "B200", "nvidia", 8000, "nvdc", ""),
    ("gh200", "GH200", "nvidia", 4000, "nvdc", "HBM3e version: 4900 GB/s"),
    ("h200", "H200", "nvidia", 4800, "nvdc", ""),
    ("h100", "H100 SXM", "nvidia", 3350, "nvdc", ""),
    ("h100 pcie", "H100 PCIe", "nvidia", 2000, "nvdc", ""),
    ("h100 nvl", "H100 NVL", "nvidia", 3900, "nvdc", ""),
    ("a100", "A100 40GB", "nvidia", 1555, "nvdc", ""),
    ("a100 80gb", "A100 80GB SXM", "nvidia", 2039, "nvdc", ""),
    ("a100 80gb pcie", "A100 80GB PCIe", "nvidia", 1935, "nvdc", ""),
    ("a40", "A40", "nvidia", 696, "nvdc", ""),
    ("a30", "A30", "nvidia", 933, "nvdc", ""),
    ("a10", "A10", "nvidia", 600, "nvdc", ""),
    ("a10g", "A10G", "nvidia", 600, "nvdc", ""),
    ("l40s", "L40S", "nvidia", 864, "nvdc", ""),
    ("l40", "L40", "nvidia", 864, "nvdc", ""),
    ("l4", "L4", "nvidia", 300, "nvdc", ""),
    ("t4", "T4", "nvidia", 320, "nvdc", ""),
    ("v100", "V100", "nvidia", 900, "nvdc", ""),
    ("v100s", "V100S", "nvidia", 1134, "nvdc", ""),
    ("p100", "P100 16GB", "nvidia", 732, "nvdc", ""),
    ("p40", "P40", "nvidia", 346, "nvdc", ""),
    # AMD Radeon and Instinct
    ("rx 9070 xt", "Radeon RX 9070 XT", "amd", 640, "amdrx", ""),
    ("rx 9070", "Radeon RX 9070", "amd", 640, "amdrx", ""),
    ("rx 7900 xtx", "Radeon RX 7900 XTX", "amd", 960, "amdrx", ""),
    ("rx 7900 xt", "Radeon RX 7900 XT", "amd", 800, "amdrx", ""),
    ("rx 7900 gre", "Radeon RX 7900 GRE", "amd", 576, "amdrx", ""),
    ("rx 7800 xt", "Radeon RX 7800 XT", "amd", 624, "amdrx", ""),
    ("rx 7700 xt", "Radeon RX 7700 XT", "amd", 432, "amdrx", ""),
    ("rx 7600", "Radeon RX 7600", "amd", 288, "amdrx", ""),
    ("rx 6950 xt", "Radeon RX 6950 XT", "amd", 576, "amdrx", ""),
    ("rx 6900 xt", "Radeon RX 6900 XT", "amd", 512, "amdrx", ""),
    ("rx 6800 xt", "Radeon RX 6800 XT", "amd", 512, "amdrx", ""),
    ("rx 6800", "Radeon RX 6800", "amd", 512, "amdrx", ""),
    ("rx 6700 xt", "Radeon RX 6700 XT", "amd", 384, "amdrx", ""),
    ("rx 6600 xt", "Radeon RX 6600 XT", "amd", 256, "amdrx", ""),
    ("pro w7900", "Radeon PRO W7900", "amd", 864, "amdpro", ""),
    ("pro w7800", "Radeon PRO W7800", "amd", 576, "amdpro", ""),
    ("mi325x", "Instinct MI325X", "amd", 6000, "amdmi", ""),
    ("mi300x", "Instinct MI300X", "amd", 5300, "amdmi", ""),
    ("mi250x", "Instinct MI250X", "amd", 3277, "amdmi", ""),
    ("mi210", "Instinct MI210", "amd", 1638, "amdmi", ""),
    # Intel Arc
    ("arc b580", "Arc B580", "intel", 456, "arc", ""),
    ("arc b570", "Arc B570", "intel", 380, "arc", ""),
    ("arc a770", "Arc A770", "intel", 560, "arc", "8 GB model: 512 GB/s"),
    ("arc a750", "Arc A750", "intel", 512, "arc", ""),
    ("arc a580", "Arc A580", "intel", 512, "arc", ""),
    ("arc a380", "Arc A380", "intel", 186, "arc", ""),
    # Apple Silicon (unified memory: the CPU reads the same memory)
    ("m1", "Apple M1", "apple", 68.25, "apple", ""),
    ("m1 pro", "Apple M1 Pro", "apple", 200, "apple", ""),
    ("m1 max", "Apple M1 Max", "apple", 400, "apple", ""),
    ("m1 ultra", "Apple M1 Ultra", "apple", 800, "apple", ""),
    ("m2", "Apple M2", "apple", 100, "apple", ""),
    ("m2 pro", "Apple M2 Pro", "apple", 200, "apple", ""),
    ("m2 max", "Apple M2 Max", "apple", 400, "apple", ""),
    ("m2 ultra", "Apple M2 Ultra", "apple", 800, "apple", ""),
    ("m3", "Apple M3", "apple", 100, "apple", ""),
    ("m3 pro", "Apple M3 Pro", "apple", 150, "apple", ""),
    ("m3 max", "Apple M3 Max", "apple", 300, "apple", "40-core GPU model: 400 GB/s"),
    ("m3 ultra", "Apple M3 Ultra", "apple", 819, "apple", ""),
    ("m4", "Apple M4", "apple", 120, "apple", ""),
    ("m4 pro", "Apple M4 Pro", "apple", 273, "apple", ""),
    ("m4 max", "Apple M4 Max", "apple", 410, "apple", "40-core GPU model: 546 GB/s"),
    ("m5", "Apple M5", "apple", 153, "apple", ""),
)

_TOKEN_RE = re.compile(r"[a-z0-9]+")


def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN_RE.findall(text.lower()))


@lru_cache(maxsize=1)
def _table() -> tuple[tuple[frozenset[str], GpuSpec], ...]:
    """Built on first use: a machine without a GPU never pays for it."""
    return tuple(
        (frozenset(_tokens(match)), GpuSpec(name, vendor, gbps * 1e9, _SOURCES[source], note))
        for match, name, vendor, gbps, source, note in _ROWS
    )


def known_gpus() -> tuple[GpuSpec, ...]:
    """Every row, for documentation and tests."""
    return tuple(spec for _, spec in _table())


def lookup_gpu(name: str | None) -> GpuSpec | None:
    """The table row for a GPU name as NVML, ROCm, sysctl or `--gpu` spell it; None when unknown."""
    if not name:
        return None
    tokens = set(_tokens(name))
    best: tuple[int, GpuSpec] | None = None
    for wanted, spec in _table():
        if wanted <= tokens and (best is None or len(wanted) > best[0]):
            best = (len(wanted), spec)
    return best[1] if best else None

"""AMD and Intel GPUs on Linux, read from the DRM sysfs tree.

amdgpu publishes `mem_info_vram_total` / `mem_info_vram_used`; Intel's i915
publishes local memory as `lmem_total_bytes` / `lmem_avail_bytes` on discrete
cards and the xe driver `tile*/physical_vram_size_bytes`. An integrated GPU that
borrows system RAM is reported as `shared`, never as VRAM.
"""

from __future__ import annotations

import re
from pathlib import Path

from picker.hardware.model import GpuInfo, GpuVendor

_VENDORS: dict[str, GpuVendor] = {"0x1002": "amd", "0x8086": "intel"}
_CARD = r"^card\d+$"  # compiled on first use (re keeps it): most machines have no DRM tree
# An amdgpu device whose VRAM is only a small carve-out is an APU sharing system RAM.
APU_CARVE_OUT_MAX_BYTES = 2 * 1024**3


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return None


def _read_int(path: Path) -> int | None:
    """A non-negative integer file (decimal or 0x hex), or None for anything else."""
    text = _read(path)
    try:
        value = int(text, 0) if text else None
    except ValueError:
        return None
    return value if value is not None and value >= 0 else None


def probe_sysfs_gpus(warnings: list[str], root: Path = Path("/")) -> list[GpuInfo]:
    drm = root / "sys" / "class" / "drm"
    try:
        cards = sorted(
            (entry for entry in drm.iterdir() if re.match(_CARD, entry.name)),
            key=lambda entry: int(entry.name[4:]),
        )
    except OSError:
        return []  # no DRM tree: not Linux, or no GPU driver at all
    gpus: list[GpuInfo] = []
    for card in cards:
        device = card / "device"
        vendor = _VENDORS.get((_read(device / "vendor") or "").lower())
        if vendor == "amd":
            gpus.append(_amd(card, device, root, warnings))
        elif vendor == "intel":
            gpus.append(_intel(card, device, warnings))
    return gpus


def _device_name(device: Path, vendor_label: str) -> str:
    product = _read(device / "product_name")
    if product:
        return product
    device_id = _read(device / "device") or "unknown"
    return f"{vendor_label} GPU (PCI device {device_id})"


def _amd(card: Path, device: Path, root: Path, warnings: list[str]) -> GpuInfo:
    name = _device_name(device, "AMD")
    total = _read_int(device / "mem_info_vram_total")
    used = _read_int(device / "mem_info_vram_used")
    driver = _read(root / "sys" / "module" / "amdgpu" / "version")
    source = f"sysfs {device}/mem_info_vram_*"
    if total is None:
        warnings.append(f"AMD GPU {card.name}: VRAM size not published by the driver (is amdgpu loaded?)")
        return GpuInfo(0, "amd", name, "dedicated", None, None, driver, source=source)
    free = max(total - used, 0) if used is not None else None
    if used is None:
        warnings.append(f"AMD GPU {card.name}: VRAM in use not published; free memory not available")
    if total <= APU_CARVE_OUT_MAX_BYTES and (device / "mem_info_gtt_total").exists():
        note = (f"integrated GPU: {total} bytes of carved-out VRAM; models run from shared "
                "system RAM (GTT)")
        return GpuInfo(0, "amd", name, "shared", total, free, driver, source=source, notes=(note,))
    return GpuInfo(0, "amd", name, "dedicated", total, free, driver, source=source)


def _intel(card: Path, device: Path, warnings: list[str]) -> GpuInfo:
    name = _device_name(device, "Intel")
    for folder in (card, device):
        total = _read_int(folder / "lmem_total_bytes")
        if total:
            free = _read_int(folder / "lmem_avail_bytes")
            if free is None:
                warnings.append(f"Intel GPU {card.name}: free local memory not published")
            return GpuInfo(0, "intel", name, "dedicated", total, free,
                           source=f"sysfs {folder}/lmem_*_bytes (i915)")
    tiles = sorted(device.glob("tile*/physical_vram_size_bytes"))
    sizes = [size for size in (_read_int(tile) for tile in tiles) if size]
    if sizes:
        warnings.append(f"Intel GPU {card.name}: the xe driver publishes no free VRAM; "
                        "planning against total VRAM")
        return GpuInfo(0, "intel", name, "dedicated", sum(sizes), None,
                       source=f"sysfs {device}/tile*/physical_vram_size_bytes (xe)",
                       notes=("free VRAM not published by the xe driver",))
    return GpuInfo(0, "intel", name, "shared", None, None, source=f"sysfs {device}",
                   notes=("integrated GPU: uses shared system RAM, no dedicated VRAM",))

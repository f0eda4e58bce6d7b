"""AMD and Intel GPUs from fake DRM sysfs trees."""

from __future__ import annotations

from pathlib import Path

import pytest

from picker.hardware.probe import probe_hardware
from picker.hardware.sysfs_gpus import probe_sysfs_gpus
from tests.fake_nvml import install

GIB = 1024**3


def make_card(root: Path, card: str, files: dict[str, str]) -> None:
    device = root / "sys" / "class" / "drm" / card / "device"
    for relative, content in files.items():
        path = device / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content + "\n")


def test_amd_discrete_gpu(tmp_path: Path) -> None:
    make_card(tmp_path, "card0", {
        "vendor": "0x1002", "device": "0x744c", "product_name": "AMD Radeon RX 7900 XTX",
        "mem_info_vram_total": str(24 * GIB), "mem_info_vram_used": str(2 * GIB),
        "mem_info_gtt_total": str(16 * GIB),
    })
    (tmp_path / "sys/class/drm/card0-DP-1").mkdir()  # a connector, not a card
    warnings: list[str] = []
    (gpu,) = probe_sysfs_gpus(warnings, tmp_path)
    assert gpu.vendor == "amd"
    assert gpu.name == "AMD Radeon RX 7900 XTX"
    assert gpu.memory_kind == "dedicated"
    assert gpu.total_bytes == 24 * GIB
    assert gpu.free_bytes == 22 * GIB
    assert "mem_info_vram" in gpu.source
    assert warnings == []


def test_amd_apu_is_shared_memory_not_vram(tmp_path: Path) -> None:
    make_card(tmp_path, "card1", {
        "vendor": "0x1002", "device": "0x15bf",
        "mem_info_vram_total": str(512 * 1024**2), "mem_info_vram_used": str(100 * 1024**2),
        "mem_info_gtt_total": str(8 * GIB),
    })
    (gpu,) = probe_sysfs_gpus([], tmp_path)
    assert gpu.memory_kind == "shared"
    assert gpu.name == "AMD GPU (PCI device 0x15bf)"
    assert "integrated" in gpu.notes[0]


def test_amd_without_vram_files_warns(tmp_path: Path) -> None:
    make_card(tmp_path, "card0", {"vendor": "0x1002", "device": "0x744c"})
    warnings: list[str] = []
    (gpu,) = probe_sysfs_gpus(warnings, tmp_path)
    assert gpu.total_bytes is None
    assert any("VRAM size not published" in w for w in warnings)


def test_intel_discrete_i915_local_memory(tmp_path: Path) -> None:
    make_card(tmp_path, "card0", {"vendor": "0x8086", "device": "0x56a0"})
    card = tmp_path / "sys/class/drm/card0"
    (card / "lmem_total_bytes").write_text(str(16 * GIB))
    (card / "lmem_avail_bytes").write_text(str(15 * GIB))
    (gpu,) = probe_sysfs_gpus([], tmp_path)
    assert (gpu.vendor, gpu.memory_kind) == ("intel", "dedicated")
    assert (gpu.total_bytes, gpu.free_bytes) == (16 * GIB, 15 * GIB)


def test_intel_discrete_xe_tiles(tmp_path: Path) -> None:
    make_card(tmp_path, "card0", {
        "vendor": "0x8086", "device": "0xe20b",
        "tile0/physical_vram_size_bytes": str(12 * GIB),
    })
    warnings: list[str] = []
    (gpu,) = probe_sysfs_gpus(warnings, tmp_path)
    assert gpu.total_bytes == 12 * GIB
    assert gpu.free_bytes is None
    assert any("xe driver" in w for w in warnings)


def test_intel_integrated_is_shared(tmp_path: Path) -> None:
    make_card(tmp_path, "card0", {"vendor": "0x8086", "device": "0x46a6"})
    (gpu,) = probe_sysfs_gpus([], tmp_path)
    assert gpu.memory_kind == "shared"
    assert gpu.total_bytes is None


def test_mixed_machine_lists_every_gpu_in_order(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, [])
    make_card(tmp_path, "card0", {"vendor": "0x8086", "device": "0x46a6"})
    make_card(tmp_path, "card1", {
        "vendor": "0x1002", "device": "0x744c",
        "mem_info_vram_total": str(24 * GIB), "mem_info_vram_used": str(GIB),
    })
    make_card(tmp_path, "card2", {"vendor": "0x10de", "device": "0x2684"})  # NVIDIA: NVML's job
    snapshot = probe_hardware(sysfs_root=tmp_path)
    assert [(gpu.index, gpu.vendor) for gpu in snapshot.gpus] == [(0, "intel"), (1, "amd")]
    assert snapshot.gpu_free_bytes == [23 * GIB]  # the shared iGPU holds no VRAM


def test_unreadable_files_do_not_crash(tmp_path: Path) -> None:
    make_card(tmp_path, "card0", {
        "vendor": "0x1002", "device": "0x744c", "mem_info_vram_total": "garbage",
    })
    warnings: list[str] = []
    (gpu,) = probe_sysfs_gpus(warnings, tmp_path)
    assert gpu.total_bytes is None

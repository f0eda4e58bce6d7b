"""Every hardware reader fed garbage, empty text and unreadable files: a warning, never a crash.

The readers get a fake root whose /proc and /sys files hold what a broken kernel, a
container's fake procfs or a damaged disk might give; psutil's own fallback is pointed at
the same files (psutil.PROCFS_PATH), the NVIDIA probe at a stand-in NVML returning junk,
and sysctl at a real executable printing junk. "Unreadable" is a folder or a symlink loop
where the file should be (errors root gets too), and a mode-000 file.
"""

from __future__ import annotations

import os
import random
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psutil
import pynvml
import pytest

from picker.hardware import osname
from picker.hardware.cpu import probe_cpu
from picker.hardware.linux_proc import physical_core_count, read_meminfo
from picker.hardware.probe import probe_hardware
from picker.hardware.sysfs_gpus import probe_sysfs_gpus
from picker.hardware.system_memory import probe_disk, probe_memory
from tests.fake_nvml import FakeDevice, install

_RNG = random.Random(20261206)
GARBAGE: dict[str, bytes | None] = {
    "empty": b"",
    "random": _RNG.randbytes(4096),
    "not utf-8": b"MemTotal: \xff\xfe kB\nMemAvailable:\x80 12 kB\nSwapTotal: 1 kB\n",
    "odd digits": "MemTotal: ² kB\nMemAvailable: ٣ kB\nSwapTotal: ¹ kB\nSwapFree: x kB\n".encode(),
    "huge numbers": b"MemTotal: " + b"9" * 5000 + b" kB\nMemAvailable: 1e999 kB\n",
    "negative": b"MemTotal: -5 kB\nMemAvailable: -1 kB\nSwapTotal: -1 kB\nSwapFree: -1 kB\n",
    "no values": b"MemTotal:\nMemAvailable:\nSwapTotal\nSwapFree: kB\n",
    "binary zeros": b"\x00" * 512,
    "unreadable: folder": None,
    "unreadable: link loop": b"LOOP",
    "unreadable: mode 000": b"MODE000",
}


def put(path: Path, content: bytes | None) -> None:
    """Write `content` at `path`, or make it unreadable in one of the ways GARBAGE names."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if content is None:
        path.mkdir()
    elif content == b"LOOP":
        path.symlink_to(path.name)
    elif content == b"MODE000":
        path.write_bytes(b"MemTotal: 1 kB\n")
        path.chmod(0)
    else:
        path.write_bytes(content)


def fake_root(tmp_path: Path, content: bytes | None) -> Path:
    """A root whose meminfo, vmstat, cpuinfo, CPU topology and DRM card files all hold `content`."""
    root = tmp_path / "root"
    for relative in ("proc/meminfo", "proc/vmstat", "proc/cpuinfo", "proc/stat",
                     "sys/devices/system/cpu/cpu0/topology/core_cpus_list",
                     "sys/devices/system/cpu/cpu1/topology/thread_siblings_list",
                     "sys/class/drm/card0/device/vendor",
                     "sys/class/drm/card0/device/mem_info_vram_total",
                     "sys/class/drm/card0/device/mem_info_vram_used",
                     "sys/class/drm/card1/device/lmem_total_bytes",
                     "sys/class/drm/card1/device/lmem_avail_bytes"):
        put(root / relative, content)
    (root / "sys/class/drm/card1/device/vendor").write_text("0x8086\n")
    return root


@pytest.fixture(autouse=True)
def _psutil_reads_the_fake_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(psutil, "PROCFS_PATH", str(tmp_path / "root" / "proc"))


def _one_line(warnings: list[str]) -> None:
    assert all(warning and "\n" not in warning for warning in warnings), warnings


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_meminfo_and_the_psutil_fallback(tmp_path: Path, kind: str) -> None:
    root = fake_root(tmp_path, GARBAGE[kind])
    found = read_meminfo(root)
    assert found is None or all(value >= 0 for value in found)
    warnings: list[str] = []
    memory = probe_memory(warnings, root)
    _one_line(warnings)
    assert all(value is None or value >= 0 for value in
               (memory.total_bytes, memory.available_bytes, memory.swap_total_bytes, memory.swap_free_bytes))
    if memory.total_bytes is None:
        assert any(warning.startswith("RAM: not available") for warning in warnings)
    if memory.swap_total_bytes is None:
        assert any(warning.startswith("swap: not available") for warning in warnings)


def test_the_psutil_fallback_really_runs_and_warns(tmp_path: Path) -> None:
    """psutil itself raises on this text (ValueError in 5.9-7.x); picker warns instead."""
    root = fake_root(tmp_path, GARBAGE["odd digits"])
    assert read_meminfo(root) is None
    with pytest.raises(Exception):  # noqa: B017 (whatever psutil raises is what picker must absorb)
        psutil.virtual_memory()
    warnings: list[str] = []
    memory = probe_memory(warnings, root)
    assert memory.total_bytes is None and memory.sources == {}
    assert [w.split(" (")[0] for w in warnings] == ["RAM: not available", "swap: not available"]


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_cpuinfo_and_core_topology(tmp_path: Path, kind: str) -> None:
    root = fake_root(tmp_path, GARBAGE[kind])
    cores = physical_core_count(root)
    assert cores is None or cores >= 1
    warnings: list[str] = []
    cpu = probe_cpu(warnings, root)
    _one_line(warnings)
    assert cpu.physical_cores is None or cpu.physical_cores >= 1
    if cpu.name is None:
        assert "CPU: model name not available on this system" in warnings


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_sysfs_gpus(tmp_path: Path, kind: str) -> None:
    root = fake_root(tmp_path, GARBAGE[kind])
    amd = root / "sys/class/drm/card2/device"
    amd.mkdir(parents=True)
    (amd / "vendor").write_text("0x1002\n")
    put(amd / "mem_info_vram_total", GARBAGE[kind])
    (amd / "mem_info_vram_used").write_text(str(64 * 1024**3))  # more than any total above
    warnings: list[str] = []
    gpus = probe_sysfs_gpus(warnings, root)
    _one_line(warnings)
    assert [gpu.vendor for gpu in gpus] in (["intel", "amd"], ["amd", "intel", "amd"])
    for gpu in gpus:
        assert gpu.total_bytes is None or gpu.total_bytes >= 0
        assert gpu.free_bytes is None or 0 <= gpu.free_bytes <= (gpu.total_bytes or 0)


def test_sysfs_negative_and_odd_numbers_are_not_memory(tmp_path: Path) -> None:
    device = tmp_path / "sys/class/drm/card0/device"
    device.mkdir(parents=True)
    (device / "vendor").write_text("0x1002\n")
    (device / "mem_info_vram_total").write_text("-8589934592\n")
    (device / "mem_info_vram_used").write_text("0x10\n")
    warnings: list[str] = []
    (gpu,) = probe_sysfs_gpus(warnings, tmp_path)
    assert gpu.total_bytes is None and any("VRAM size not published" in w for w in warnings)


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_the_whole_probe_never_raises(tmp_path: Path, kind: str) -> None:
    root = fake_root(tmp_path, GARBAGE[kind])
    snapshot = probe_hardware(sysfs_root=root)
    _one_line(list(snapshot.warnings))
    assert snapshot.to_dict()["memory"] is not None


def test_disk_under_a_folder_this_user_cannot_enter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        warnings: list[str] = []
        disk = probe_disk(locked / "inside" / "models", warnings)
        assert disk is None or disk.free_bytes is not None
    finally:
        locked.chmod(stat.S_IRWXU)


# -- NVML answering with junk ----------------------------------------------------------------


@pytest.fixture
def driver_root(tmp_path: Path) -> Path:
    (tmp_path / "proc" / "driver" / "nvidia").mkdir(parents=True)
    return tmp_path


JUNK: list[Any] = [None, "garbage", b"\xff\xfe", -1, 2**80, float("nan"), (), SimpleNamespace(), [1]]


@pytest.mark.parametrize("junk", JUNK, ids=repr)
def test_nvml_answering_junk_keeps_the_gpu_and_warns_nothing_fatal(
        monkeypatch: pytest.MonkeyPatch, driver_root: Path, junk: Any) -> None:
    install(monkeypatch, [FakeDevice("NVIDIA GeForce RTX 4090", 24 * 1024**3, 20 * 1024**3)])
    for function in ("nvmlDeviceGetName", "nvmlDeviceGetCudaComputeCapability",
                     "nvmlDeviceGetPowerManagementLimit", "nvmlDeviceGetPciInfo",
                     "nvmlDeviceGetMemoryInfo"):
        monkeypatch.setattr(pynvml, function, lambda handle, junk=junk: junk)
    snapshot = probe_hardware(sysfs_root=driver_root)
    (gpu,) = snapshot.gpus
    assert gpu.vendor == "nvidia"
    assert gpu.total_bytes is None or gpu.total_bytes >= 0
    assert gpu.compute_capability is None or gpu.compute_capability.count(".") == 1


@pytest.mark.parametrize("error", [ValueError("bad"), KeyError("x"),
                                   UnicodeDecodeError("utf-8", b"\xff", 0, 1, "x")])
def test_nvml_raising_the_unforeseen_is_a_warning(monkeypatch: pytest.MonkeyPatch, driver_root: Path,
                                                  error: Exception) -> None:
    install(monkeypatch, [FakeDevice("NVIDIA GeForce RTX 4090", 24 * 1024**3, 20 * 1024**3)])

    def broken(*_: Any) -> Any:
        raise error

    monkeypatch.setattr(pynvml, "nvmlDeviceGetCount", broken)
    snapshot = probe_hardware(sysfs_root=driver_root)
    assert snapshot.gpus == ()
    assert any(w.startswith("GPU probe failed") and "\n" not in w for w in snapshot.warnings)


# -- macOS sysctl printing junk (a real executable on PATH) ----------------------------------


@pytest.mark.parametrize("output", [b"\xff\xfe\x80junk", b"", b"\xc2\xb2", b"-1", b"9" * 5000, b"0x10"],
                         ids=["not utf-8", "empty", "superscript two", "negative", "5000 digits", "hex"])
def test_apple_sysctl_printing_junk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: bytes) -> None:
    from picker.hardware.apple import probe_apple
    from picker.hardware.sysctl import read_sysctl

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "answer").write_bytes(output)
    script = bin_dir / "sysctl"
    script.write_text(f"#!/bin/sh\ncat '{bin_dir / 'answer'}'\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    warnings: list[str] = []
    value = read_sysctl("hw.memsize", warnings)
    assert value is None or isinstance(value, str)
    gpus = probe_apple(16 * 1024**3, 8 * 1024**3, warnings)
    assert all(gpu.total_bytes is None or gpu.total_bytes >= 0 for gpu in gpus)
    monkeypatch.setattr(osname, "system", lambda: "Darwin")
    monkeypatch.setattr(osname, "machine", lambda: "arm64")
    cpu = probe_cpu(warnings, tmp_path)
    assert cpu.features[:1] == ("NEON",)
    _one_line(warnings)

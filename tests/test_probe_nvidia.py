"""The NVIDIA probe against a stand-in driver: zero, one, two GPUs and every failure mode."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pynvml
import pytest

from picker.hardware import probe as probe_module
from picker.hardware.nvidia import probe_nvidia
from picker.hardware.probe import probe_hardware
from tests.fake_nvml import FakeDevice, install

GIB = 1024**3
RTX_4090 = FakeDevice("NVIDIA GeForce RTX 4090", 24 * GIB, 20 * GIB, (8, 9), "00000000:01:00.0")
RTX_3060 = FakeDevice("NVIDIA GeForce RTX 3060", 12 * GIB, 11 * GIB, (8, 6), "00000000:02:00.0")


@pytest.fixture
def driver_root(tmp_path: Path) -> Path:
    """A root with an NVIDIA kernel driver loaded and no DRM cards (NVML answers for GPUs)."""
    (tmp_path / "proc" / "driver" / "nvidia").mkdir(parents=True)
    (tmp_path / "proc" / "driver" / "nvidia" / "version").write_text("NVRM version: 560.35.03\n")
    return tmp_path


def test_one_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, [RTX_4090])
    warnings: list[str] = []
    gpus = probe_nvidia(warnings)
    assert warnings == []
    (gpu,) = gpus
    assert gpu.vendor == "nvidia"
    assert gpu.name == "NVIDIA GeForce RTX 4090"
    assert gpu.total_bytes == 24 * GIB
    assert gpu.free_bytes == 20 * GIB
    assert gpu.compute_capability == "8.9"
    assert gpu.driver_version == "560.35.03"
    assert gpu.power_limit_watts == 450.0
    assert gpu.memory_kind == "dedicated"
    assert "NVML" in gpu.source


def test_two_gpus_are_reported_separately_never_summed(monkeypatch: pytest.MonkeyPatch,
                                                       driver_root: Path) -> None:
    install(monkeypatch, [RTX_4090, RTX_3060])
    snapshot = probe_hardware(sysfs_root=driver_root)
    assert [gpu.index for gpu in snapshot.gpus] == [0, 1]
    assert [gpu.free_bytes for gpu in snapshot.gpus] == [20 * GIB, 11 * GIB]
    assert [gpu.compute_capability for gpu in snapshot.gpus] == ["8.9", "8.6"]
    assert not any("no GPU" in warning for warning in snapshot.warnings)


def test_zero_gpus(monkeypatch: pytest.MonkeyPatch, driver_root: Path) -> None:
    install(monkeypatch, [])
    snapshot = probe_hardware(sysfs_root=driver_root)
    assert snapshot.gpus == ()
    assert any("no GPU found" in warning for warning in snapshot.warnings)


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (pynvml.NVML_ERROR_LIBRARY_NOT_FOUND, "not installed"),
        (pynvml.NVML_ERROR_DRIVER_NOT_LOADED, "driver is not loaded"),
        (pynvml.NVML_ERROR_NO_PERMISSION, "no permission"),
    ],
)
def test_init_failures_become_warnings(monkeypatch: pytest.MonkeyPatch, code: int,
                                       reason: str, driver_root: Path) -> None:
    install(monkeypatch, [RTX_4090], failures={"nvmlInit": code})
    snapshot = probe_hardware(sysfs_root=driver_root)
    assert snapshot.gpus == ()
    assert any(warning.startswith("NVIDIA") and reason in warning for warning in snapshot.warnings)


def test_no_permission_for_memory_keeps_the_device_with_unknown_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    install(monkeypatch, [RTX_4090],
            failures={"nvmlDeviceGetMemoryInfo": pynvml.NVML_ERROR_NO_PERMISSION})
    warnings: list[str] = []
    (gpu,) = probe_nvidia(warnings)
    assert gpu.name == "NVIDIA GeForce RTX 4090"
    assert gpu.total_bytes is None and gpu.free_bytes is None
    assert any("memory not available" in w and "no permission" in w for w in warnings)


def test_gpu_lost_mid_query_skips_only_that_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, [RTX_4090, RTX_3060],
            failures={"nvmlDeviceGetHandleByIndex": (pynvml.NVML_ERROR_GPU_IS_LOST, 1)})
    warnings: list[str] = []
    gpus = probe_nvidia(warnings)
    assert [gpu.name for gpu in gpus] == ["NVIDIA GeForce RTX 4090"]
    assert any("GPU 1" in w and "fell off the bus" in w for w in warnings)


def test_gpu_lost_while_reading_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    install(monkeypatch, [RTX_4090, RTX_3060],
            failures={"nvmlDeviceGetMemoryInfo": (pynvml.NVML_ERROR_GPU_IS_LOST, 0)})
    warnings: list[str] = []
    gpus = probe_nvidia(warnings)
    assert gpus[0].free_bytes is None
    assert gpus[1].free_bytes == 11 * GIB


def test_a_hanging_driver_does_not_hang_the_probe(monkeypatch: pytest.MonkeyPatch, driver_root: Path) -> None:
    release = threading.Event()

    def wedged_init() -> None:
        release.wait(10)

    install(monkeypatch, [RTX_4090])
    monkeypatch.setattr(pynvml, "nvmlInit", wedged_init)
    monkeypatch.setattr(probe_module, "GPU_PROBE_TIMEOUT_SECONDS", 0.3)
    started = time.perf_counter()
    snapshot = probe_hardware(sysfs_root=driver_root)
    release.set()
    assert time.perf_counter() - started < 5
    assert snapshot.gpus == ()
    assert any("did not finish" in warning for warning in snapshot.warnings)


def test_an_unforeseen_exception_in_a_vendor_library_is_a_warning(
    monkeypatch: pytest.MonkeyPatch, driver_root: Path,
) -> None:
    def broken_init() -> None:
        raise OSError("libnvidia-ml.so.1: cannot open shared object file")

    install(monkeypatch, [RTX_4090])
    monkeypatch.setattr(pynvml, "nvmlInit", broken_init)
    snapshot = probe_hardware(sysfs_root=driver_root)
    assert snapshot.gpus == ()
    assert any("GPU probe failed" in warning for warning in snapshot.warnings)


def test_without_a_kernel_driver_nvml_is_not_even_imported(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = (
        "import sys; from pathlib import Path\n"
        "from picker.hardware.probe import probe_hardware\n"
        f"snapshot = probe_hardware(sysfs_root=Path({str(tmp_path)!r}))\n"
        "print('pynvml' in sys.modules, [w for w in snapshot.warnings if w.startswith('NVIDIA')])\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               check=True, timeout=60)
    assert completed.stdout.startswith("False")
    assert "no NVIDIA kernel driver" in completed.stdout

from __future__ import annotations

import pytest

from picker.errors import UsageError
from picker.hardware.overrides import HardwareOverrides, apply_overrides
from picker.hardware.probe import probe_hardware

GIB = 1024**3


def test_no_overrides_changes_nothing() -> None:
    snapshot = probe_hardware()
    assert apply_overrides(snapshot, HardwareOverrides()) is snapshot
    assert snapshot.overridden == ()


def test_unified_memory_plans_an_apple_machine() -> None:
    snapshot = probe_hardware(HardwareOverrides(ram_bytes=16 * GIB, unified_memory=True))
    (gpu,) = snapshot.gpus
    assert gpu.memory_kind == "unified"
    assert gpu.total_bytes == 16 * GIB * 2 // 3
    assert gpu.source == "what-if override"


def test_cpu_threads_override() -> None:
    snapshot = probe_hardware(HardwareOverrides(cpu_threads=12))
    assert snapshot.cpu.inference_threads == 12
    assert "cpu.inference_threads" in snapshot.overridden


def test_default_inference_threads_follow_llama_cpp_python() -> None:
    snapshot = probe_hardware()
    assert snapshot.cpu.logical_cores is not None
    assert snapshot.cpu.inference_threads == max(snapshot.cpu.logical_cores // 2, 1)


def test_gpu_name_alone_on_a_gpu_less_machine_is_refused() -> None:
    with pytest.raises(UsageError, match="--vram"):
        probe_hardware(HardwareOverrides(gpu_name="RTX 4090"))

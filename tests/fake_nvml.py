"""A stand-in NVIDIA driver: the real pynvml module with its C calls replaced.

`install(monkeypatch, devices, failures)` makes pynvml answer as a machine with
those devices would; `failures` maps a pynvml function name to the NVML error
code it raises (optionally only for one device index).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pynvml
import pytest


@dataclass
class FakeDevice:
    name: str
    total_bytes: int
    free_bytes: int
    capability: tuple[int, int] = (8, 9)
    bus_id: str = "00000000:01:00.0"
    power_limit_milliwatts: int = 450_000


def install(
    monkeypatch: pytest.MonkeyPatch,
    devices: list[FakeDevice],
    failures: dict[str, int | tuple[int, int]] | None = None,
    driver_version: str = "560.35.03",
) -> None:
    failures = failures or {}

    def maybe_fail(function: str, index: int | None = None) -> None:
        failure = failures.get(function)
        if failure is None:
            return
        if isinstance(failure, tuple):
            code, only_index = failure
            if index != only_index:
                return
        else:
            code = failure
        raise pynvml.NVMLError(code)

    def device_call(function: str, answer: Any) -> Any:
        def call(handle: int) -> Any:
            maybe_fail(function, handle)
            return answer(devices[handle])

        return call

    def init() -> None:
        maybe_fail("nvmlInit")

    def get_count() -> int:
        maybe_fail("nvmlDeviceGetCount")
        return len(devices)

    def get_handle(index: int) -> int:
        maybe_fail("nvmlDeviceGetHandleByIndex", index)
        return index

    def driver() -> str:
        maybe_fail("nvmlSystemGetDriverVersion")
        return driver_version

    patches: dict[str, Any] = {
        "nvmlInit": init,
        "nvmlShutdown": lambda: None,
        "nvmlDeviceGetCount": get_count,
        "nvmlDeviceGetHandleByIndex": get_handle,
        "nvmlSystemGetDriverVersion": driver,
        "nvmlDeviceGetName": device_call("nvmlDeviceGetName", lambda d: d.name),
        "nvmlDeviceGetMemoryInfo": device_call(
            "nvmlDeviceGetMemoryInfo",
            lambda d: SimpleNamespace(total=d.total_bytes, free=d.free_bytes,
                                      used=d.total_bytes - d.free_bytes),
        ),
        "nvmlDeviceGetCudaComputeCapability": device_call(
            "nvmlDeviceGetCudaComputeCapability", lambda d: d.capability),
        "nvmlDeviceGetPciInfo": device_call(
            "nvmlDeviceGetPciInfo", lambda d: SimpleNamespace(busId=d.bus_id)),
        "nvmlDeviceGetPowerManagementLimit": device_call(
            "nvmlDeviceGetPowerManagementLimit", lambda d: d.power_limit_milliwatts),
    }
    for name, replacement in patches.items():
        monkeypatch.setattr(pynvml, name, replacement)

"""Apple Silicon as unified memory, with sysctl answered by a stand-in."""

from __future__ import annotations

import pytest

from picker.hardware import apple
from picker.hardware.apple import default_working_set_bytes, probe_apple

GIB = 1024**3


def fake_sysctl(monkeypatch: pytest.MonkeyPatch, answers: dict[str, str]) -> None:
    def read(key: str, warnings: list[str]) -> str | None:
        return answers.get(key)

    monkeypatch.setattr(apple, "read_sysctl", read)


def test_default_working_set_share() -> None:
    assert default_working_set_bytes(16 * GIB) == 16 * GIB * 2 // 3
    assert default_working_set_bytes(36 * GIB) == 24 * GIB
    assert default_working_set_bytes(64 * GIB) == 48 * GIB


def test_m2_pro_16g_default_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_sysctl(monkeypatch, {"hw.memsize": str(16 * GIB),
                              "machdep.cpu.brand_string": "Apple M2 Pro"})
    (gpu,) = probe_apple(None, 12 * GIB, [])
    assert gpu.vendor == "apple"
    assert gpu.memory_kind == "unified"
    assert gpu.name == "Apple M2 Pro"
    assert gpu.total_bytes == 16 * GIB * 2 // 3
    assert gpu.free_bytes == 16 * GIB * 2 // 3  # below available RAM
    assert "working set" in gpu.notes[0]


def test_raised_wired_limit_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_sysctl(monkeypatch, {"hw.memsize": str(64 * GIB), "iogpu.wired_limit_mb": "57344",
                              "machdep.cpu.brand_string": "Apple M3 Max"})
    (gpu,) = probe_apple(None, 60 * GIB, [])
    assert gpu.total_bytes == 56 * GIB
    assert "iogpu.wired_limit_mb" in gpu.notes[0]


def test_free_is_capped_by_available_ram(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_sysctl(monkeypatch, {"hw.memsize": str(32 * GIB)})
    (gpu,) = probe_apple(None, 4 * GIB, [])
    assert gpu.free_bytes == 4 * GIB
    assert gpu.name is None


def test_no_sysctl_and_no_ram_gives_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_sysctl(monkeypatch, {})
    warnings: list[str] = []
    assert probe_apple(None, None, warnings) == []
    assert warnings

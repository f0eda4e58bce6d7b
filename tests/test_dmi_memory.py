"""This machine's memory peak from synthetic SMBIOS tables (bytes built here as firmware lays
them out, DSP0134 7.18), and what a malformed, unreadable or planted table does: nothing
worse than a warning."""

from __future__ import annotations

import os
import random
import struct
from pathlib import Path

import pytest

from picker.hardware.dmi_memory import DMI_TABLE, memory_devices, read_dmi_memory
from picker.hardware.model import CpuInfo, HardwareSnapshot, MemoryInfo
from picker.hardware.probe import probe_hardware
from picker.speed.cpu_bandwidth import CpuBandwidth
from picker.speed.estimate import machine_bandwidths

DDR4, DDR5, LPDDR5 = 0x1A, 0x22, 0x23


def structure(kind: int, formatted: bytes, strings: list[str]) -> bytes:
    """One SMBIOS structure: header, formatted area, string set (double NUL at the end)."""
    body = bytes([kind, 4 + len(formatted)]) + struct.pack("<H", 0x1100) + formatted
    text = b"".join(s.encode() + b"\0" for s in strings) or b"\0"
    return body + text + b"\0"


def memory_device(device: str, bank: str, size_mib: int = 16384, data_bits: int = 64,
                  speed: int = 6000, configured: int = 5600, kind: int = DDR5,
                  extended_speed: int = 0, extended_configured: int = 0,
                  length: int = 0x5C) -> bytes:
    formatted = bytearray(length - 4)

    def put(offset: int, fmt: str, value: int) -> None:
        if offset - 4 + struct.calcsize(fmt) <= len(formatted):
            struct.pack_into(fmt, formatted, offset - 4, value)

    put(0x08, "<H", data_bits)  # total width
    put(0x0A, "<H", data_bits)
    put(0x0C, "<H", size_mib)
    put(0x10, "B", 1)  # device locator: string 1
    put(0x11, "B", 2)  # bank locator: string 2
    put(0x12, "B", kind)
    put(0x15, "<H", speed)
    put(0x20, "<H", configured)
    put(0x54, "<I", extended_speed)
    put(0x58, "<I", extended_configured)
    return structure(17, bytes(formatted), [device, bank])


def table(*devices: bytes) -> bytes:
    bios = structure(0, bytes(14), ["Example BIOS vendor", "1.0"])
    return bios + b"".join(devices) + structure(127, b"", [])


def desktop_ddr5() -> bytes:
    """Four slots, two channels, one 5600-configured module on each channel's second slot."""
    return table(memory_device("ChannelA-DIMM0", "BANK 0", size_mib=0, speed=0, configured=0),
                 memory_device("ChannelA-DIMM1", "BANK 1"),
                 memory_device("ChannelB-DIMM0", "BANK 2", size_mib=0, speed=0, configured=0),
                 memory_device("ChannelB-DIMM1", "BANK 3"))


def machine_with(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / DMI_TABLE
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    return tmp_path


def test_dual_channel_ddr5_desktop_is_two_channels_at_the_configured_speed(tmp_path: Path) -> None:
    warnings: list[str] = []
    peak = read_dmi_memory(warnings, machine_with(tmp_path, desktop_ddr5()))
    assert warnings == []
    assert peak is not None
    assert (peak.channels, peak.mts, peak.bus_bits, peak.populated, peak.slots) == (2, 5600, 128, 2, 4)
    assert peak.bytes_per_second == pytest.approx(89.6e9)
    assert peak.description.startswith("DMI/SMBIOS: 2 channel(s), 128 bits of DDR5 at 5600 MT/s "
                                       "(configured) = 89.6 GB/s peak; 2 of 4 slots populated")


def test_two_modules_on_a_channel_count_once_and_the_slowest_sets_the_speed() -> None:
    from picker.hardware.dmi_memory import dmi_memory

    devices, slots = memory_devices(table(
        memory_device("DIMM 0", "P0 CHANNEL A", configured=3200, kind=DDR4),
        memory_device("DIMM 1", "P0 CHANNEL A", configured=3200, kind=DDR4),
        memory_device("DIMM 0", "P0 CHANNEL B", configured=2933, kind=DDR4),
        memory_device("DIMM 1", "P0 CHANNEL B", configured=3200, kind=DDR4)))
    peak = dmi_memory(devices, slots)
    assert peak is not None
    assert (peak.channels, peak.mts, peak.memory_type) == (2, 2933, "DDR4")
    assert peak.bytes_per_second == pytest.approx(2 * 2933e6 * 8)


def test_a_twelve_channel_server_and_a_laptops_sixteen_bit_lpddr5_channels() -> None:
    from picker.hardware.dmi_memory import dmi_memory

    server = table(*(memory_device(f"DIMM_P0_{letter}0", f"P0_Node0_Channel{letter}_Dimm0",
                                   configured=4800, speed=4800)
                     for letter in "ABCDEFGHIJKL"))
    peak = dmi_memory(*memory_devices(server))
    assert peak is not None and peak.channels == 12
    assert peak.bytes_per_second == pytest.approx(460.8e9)  # EPYC 9004: 12 x DDR5-4800
    laptop = table(*(memory_device(f"Controller{c}-Channel{ch}-DIMM0", f"BANK {i}", data_bits=16,
                                   kind=LPDDR5, speed=6400, configured=6400)
                     for i, (c, ch) in enumerate((c, ch) for c in "01" for ch in "ABCD")))
    peak = dmi_memory(*memory_devices(laptop))
    assert peak is not None and (peak.channels, peak.bus_bits) == (8, 128)
    assert peak.bytes_per_second == pytest.approx(102.4e9)


def test_locators_without_a_channel_count_each_module_and_say_so() -> None:
    from picker.hardware.dmi_memory import dmi_memory

    peak = dmi_memory(*memory_devices(table(memory_device("A1", "Not Specified"),
                                            memory_device("B1", "Not Specified"))))
    assert peak is not None and peak.channels == 2
    assert "the locators name no channel: each populated slot counted as one" in peak.description


def test_extended_speeds_and_a_module_without_a_configured_speed(tmp_path: Path) -> None:
    from picker.hardware.dmi_memory import dmi_memory

    fast = table(memory_device("ChannelA-DIMM0", "BANK 0", speed=0xFFFF, configured=0xFFFF,
                               extended_speed=8800, extended_configured=8000))
    peak = dmi_memory(*memory_devices(fast))
    assert peak is not None and peak.mts == 8000
    old = table(memory_device("ChannelA-DIMM0", "BANK 0", kind=0x18, speed=1600, length=0x1B))
    peak = dmi_memory(*memory_devices(old))  # SMBIOS 2.6: no configured speed field
    assert peak is not None and peak.mts == 1600 and "(rated)" in peak.description
    unknown = table(memory_device("ChannelA-DIMM0", "BANK 0", speed=0, configured=0))
    assert dmi_memory(*memory_devices(unknown)) is None  # no speed: no peak, never a guess


def test_the_probe_and_the_speed_basis_show_it_beside_the_measured_copy_bandwidth(
        tmp_path: Path) -> None:
    snapshot = probe_hardware(sysfs_root=machine_with(tmp_path, desktop_ddr5()))
    if snapshot.memory.peak_bandwidth_bytes_per_second is None:
        pytest.skip("the DMI table is only read on Linux")
    assert snapshot.memory.peak_bandwidth_bytes_per_second == pytest.approx(89.6e9)
    assert snapshot.to_dict()["memory"]["sources"]["peak_bandwidth"].startswith("DMI/SMBIOS")
    measured = CpuBandwidth(40e9, 38e9, 2, 32 << 20, 0.2, 0.0, "key")
    cpu = machine_bandwidths(snapshot, measured)["cpu"]
    assert (cpu.kind, cpu.bytes_per_second) == ("measured", 40e9)  # the estimate stays measured
    assert "40.0 GB/s copy bandwidth" in cpu.source
    assert "beside it, this machine's DMI/SMBIOS: 2 channel(s)" in cpu.source
    unmeasured = machine_bandwidths(snapshot, None)["cpu"]
    assert unmeasured.kind == "stated"
    assert unmeasured.bytes_per_second == pytest.approx(89.6e9)


def test_the_peak_is_used_without_a_probe_and_never_over_a_what_if_figure() -> None:
    memory = MemoryInfo(64 << 30, 60 << 30, 0, 0, {"peak_bandwidth": "DMI/SMBIOS: test",
                                                   "bandwidth": "what-if: 400 GB/s"}, 400e9, 89.6e9)
    snapshot = HardwareSnapshot(CpuInfo("cpu", "x86_64", 8, 16, (), 8), memory, None, (), "linux")
    assert machine_bandwidths(snapshot, None)["cpu"].bytes_per_second == 400e9


@pytest.mark.parametrize("data", [
    b"", b"\x11", b"\x11\x02\x00\x00\x00\x00",  # a structure shorter than its header
    b"\x11\xff\x00\x00",  # longer than the table
    b"\x11\x05\x00\x00\x00strings never end",
])
def test_a_malformed_table_is_a_warning_never_a_crash(tmp_path: Path, data: bytes) -> None:
    warnings: list[str] = []
    assert read_dmi_memory(warnings, machine_with(tmp_path, data)) is None
    assert all("is malformed" in warning for warning in warnings)
    assert len(warnings) == (1 if len(data) >= 4 else 0)


def test_every_cut_and_random_bytes_are_read_or_refused(tmp_path: Path) -> None:
    whole = desktop_ddr5()
    generator = random.Random(22)
    samples = [whole[:cut] for cut in range(len(whole))]
    samples += [bytes(generator.randrange(256) for _ in range(generator.randrange(600)))
                for _ in range(300)]
    for data in samples:
        try:
            devices, slots = memory_devices(data)
        except ValueError:
            continue
        assert len(devices) <= slots
    root = machine_with(tmp_path, whole[: len(whole) // 2])
    probe = probe_hardware(sysfs_root=root)
    assert probe.memory.peak_bandwidth_bytes_per_second is None
    if os.uname().sysname == "Linux":
        assert next(w for w in probe.warnings if "memory channels:" in w).endswith(
            "the measured copy bandwidth stands alone")


def test_absent_unreadable_or_planted_tables_are_silent(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    warnings: list[str] = []
    assert read_dmi_memory(warnings, tmp_path) is None  # absent
    folder = tmp_path / "folder"
    (folder / DMI_TABLE).mkdir(parents=True)  # a directory where the file should be
    assert read_dmi_memory(warnings, folder) is None
    fifo_root = tmp_path / "fifo"
    (fifo_root / DMI_TABLE).parent.mkdir(parents=True)
    os.mkfifo(fifo_root / DMI_TABLE)  # nobody writes to it: a blocking open would hang
    assert read_dmi_memory(warnings, fifo_root) is None
    assert warnings == []
    locked = machine_with(tmp_path / "locked", desktop_ddr5())
    (locked / DMI_TABLE).chmod(0o400)  # as /sys has it: root only
    real_access = os.access
    # Not root: the kernel refuses the read, which os.access foretells (root reads it anyway).
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: not str(path).endswith(
        "/DMI") and real_access(path, mode, **kw))
    probe = probe_hardware(sysfs_root=locked)
    assert probe.memory.peak_bandwidth_bytes_per_second is None
    assert not [w for w in probe.warnings if "memory channels" in w]

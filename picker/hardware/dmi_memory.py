"""This machine's peak memory bandwidth from its firmware's SMBIOS table: channels x transfer
rate x bus width.

The Memory Device structures (SMBIOS type 17, DMTF DSP0134 section 7.18) say for every slot
whether it is populated, its data width, its speed and the speed it is configured to run
at, and where it sits (device and bank locators, which usually name the channel). Linux
exposes the table at /sys/firmware/dmi/tables/DMI, readable by root only: an unreadable or
absent table is no reading at all (the copy probe remains), a malformed one is a warning.

Peak = the slowest populated module's configured MT/s x the data bits of every channel / 8.
Channels come from the locators ("ChannelA-DIMM1", "P0 CHANNEL B", "DIMM_C2"); two modules
on one channel count once. When the locators name no channel, each populated slot is
counted as its own channel, and the source says so.
"""

from __future__ import annotations

import os
import re
import stat
import struct
from pathlib import Path
from typing import NamedTuple

DMI_TABLE = Path("sys/firmware/dmi/tables/DMI")  # under the probe's root
MAX_TABLE_BYTES = 1 << 20  # real tables are a few KiB to tens of KiB
MEMORY_DEVICE = 17
END_OF_TABLE = 127
# DSP0134 7.18.2, Memory Type: the values a memory channel of today's machines reports.
MEMORY_TYPES = {0x12: "DDR", 0x13: "DDR2", 0x18: "DDR3", 0x1A: "DDR4", 0x1B: "LPDDR",
                0x1C: "LPDDR2", 0x1D: "LPDDR3", 0x1E: "LPDDR4", 0x20: "HBM", 0x21: "HBM2",
                0x22: "DDR5", 0x23: "LPDDR5", 0x24: "HBM3"}
_CHANNEL = re.compile(r"channel[\s_-]*([a-z0-9]+)", re.IGNORECASE)
_SLOT_LETTER = re.compile(r"dimm[\s_-]*(?:p?\d+[\s_-]+)?([a-z])\d*\b", re.IGNORECASE)
_SOCKET = re.compile(r"(?<![a-z])(?:p|cpu|node|controller|socket|mc)[\s_-]*(\d+)", re.IGNORECASE)


class MemoryDevice(NamedTuple):
    """One populated module, as its type 17 structure gives it."""

    locator: str  # device and bank locator together
    data_width_bits: int | None
    speed_mts: int | None  # the module's rated speed
    configured_mts: int | None  # the speed the firmware set
    memory_type: str


class DmiMemory(NamedTuple):
    """The memory system's peak and how it was worked out."""

    bytes_per_second: float
    channels: int
    mts: int
    bus_bits: int
    memory_type: str
    populated: int
    slots: int
    description: str


class MalformedTable(ValueError):
    """The SMBIOS table cannot be walked (cut short, a structure shorter than its header)."""


def memory_devices(table: bytes) -> tuple[list[MemoryDevice], int]:
    """(populated modules, slots) from a raw SMBIOS structure table."""
    devices: list[MemoryDevice] = []
    slots = 0
    offset = 0
    while offset + 4 <= len(table):
        kind, length = table[offset], table[offset + 1]
        if length < 4 or offset + length > len(table):
            raise MalformedTable(f"a type {kind} structure at byte {offset} is {length} bytes long, "
                                 f"which the table ({len(table)} bytes) cannot hold")
        formatted = table[offset:offset + length]
        strings_end = table.find(b"\0\0", offset + length)
        if strings_end < 0:
            raise MalformedTable(f"the strings of a type {kind} structure at byte {offset} are "
                                 "never terminated")
        strings = table[offset + length:strings_end].split(b"\0")
        if kind == MEMORY_DEVICE:
            slots += 1
            device = _memory_device(formatted, strings)
            if device is not None:
                devices.append(device)
        if kind == END_OF_TABLE:
            break
        offset = strings_end + 2
    return devices, slots


def _word(formatted: bytes, at: int) -> int | None:
    return struct.unpack_from("<H", formatted, at)[0] if at + 2 <= len(formatted) else None


def _dword(formatted: bytes, at: int) -> int | None:
    return struct.unpack_from("<I", formatted, at)[0] if at + 4 <= len(formatted) else None


def _string(strings: list[bytes], number: int) -> str:
    """A structure's string by its 1-based number (0: none)."""
    if not 1 <= number <= len(strings):
        return ""
    return strings[number - 1].decode("ascii", "replace").strip()


def _speed(formatted: bytes, at: int, extended_at: int) -> int | None:
    """A speed WORD in MT/s; 0xFFFF points to the DWORD at `extended_at`; 0 is unknown."""
    speed = _word(formatted, at)
    if speed == 0xFFFF:
        speed = _dword(formatted, extended_at)
        speed = speed & 0x7FFFFFFF if speed is not None else None
    return speed or None


def _memory_device(formatted: bytes, strings: list[bytes]) -> MemoryDevice | None:
    """A populated slot's module, or None for an empty (or unsized) slot."""
    size = _word(formatted, 0x0C)
    if size in (None, 0, 0xFFFF):
        return None
    width = _word(formatted, 0x0A)
    locator = " ".join(part for part in (
        _string(strings, formatted[0x10]) if len(formatted) > 0x10 else "",
        _string(strings, formatted[0x11]) if len(formatted) > 0x11 else "") if part)
    kind = formatted[0x12] if len(formatted) > 0x12 else 0
    return MemoryDevice(
        locator=locator,
        data_width_bits=None if width in (None, 0, 0xFFFF) else width,
        speed_mts=_speed(formatted, 0x15, 0x54),
        configured_mts=_speed(formatted, 0x20, 0x58),
        memory_type=MEMORY_TYPES.get(kind, "memory"),
    )


def _channel_key(locator: str) -> str | None:
    """Which channel a locator names ("P0 CHANNEL A" -> "0A"), or None when it names none."""
    channel = _CHANNEL.search(locator) or _SLOT_LETTER.search(locator)
    if channel is None:
        return None
    socket = _SOCKET.search(locator)
    return f"{socket.group(1) if socket else ''}{channel.group(1).upper()}"


def dmi_memory(devices: list[MemoryDevice], slots: int) -> DmiMemory | None:
    """The peak of these modules, or None when none says its speed."""
    speeds = [device.configured_mts or device.speed_mts for device in devices]
    known = [speed for speed in speeds if speed]
    if not devices or not known:
        return None
    mts = min(known)
    keys = [_channel_key(device.locator) for device in devices]
    by_channel = None not in keys
    widths: dict[str, int] = {}
    for number, (key, device) in enumerate(zip(keys, devices, strict=True)):
        channel = key if key is not None and by_channel else str(number)
        widths[channel] = max(widths.get(channel, 0), device.data_width_bits or 64)
    bus_bits = sum(widths.values())
    bandwidth = mts * 1e6 * bus_bits / 8
    kinds = sorted({device.memory_type for device in devices})
    memory_type = "/".join(kinds)
    configured = "configured" if all(device.configured_mts for device in devices) else "rated"
    how = ("channels from the slots' locators" if by_channel
           else "the locators name no channel: each populated slot counted as one")
    return DmiMemory(
        bytes_per_second=bandwidth, channels=len(widths), mts=mts, bus_bits=bus_bits,
        memory_type=memory_type, populated=len(devices), slots=slots,
        description=(f"DMI/SMBIOS: {len(widths)} channel(s), {bus_bits} bits of {memory_type} at "
                     f"{mts} MT/s ({configured}) = {bandwidth / 1e9:.1f} GB/s peak; "
                     f"{len(devices)} of {slots} slots populated, {how}"))


def read_dmi_memory(warnings: list[str], root: Path = Path("/")) -> DmiMemory | None:
    """This machine's memory peak from its SMBIOS table, or None: silently when the table is
    absent or unreadable (not root), with a warning when it is malformed."""
    path = root / DMI_TABLE
    try:  # non-blocking and a regular file only: a FIFO planted there must not hang the probe
        descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except (OSError, ValueError):
        return None
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            return None
        chunks: list[bytes] = []  # sysfs hands a binary file over a page per read
        size = 0
        while size < MAX_TABLE_BYTES:
            chunk = os.read(descriptor, MAX_TABLE_BYTES - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        table = b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(descriptor)
    try:
        devices, slots = memory_devices(table)
    except (MalformedTable, struct.error) as error:
        warnings.append(f"memory channels: {path} is malformed ({error}); the measured copy "
                        "bandwidth stands alone")
        return None
    return dmi_memory(devices, slots)

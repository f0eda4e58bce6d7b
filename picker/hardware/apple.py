"""Apple Silicon: one pool of unified memory, of which the GPU may wire only a share.

Metal caps what the GPU can hold (`recommendedMaxWorkingSetSize`) at about two
thirds of RAM on machines up to 36 GiB and three quarters above, unless the user
raised `iogpu.wired_limit_mb`; llama.cpp plans against that cap.
"""

from __future__ import annotations

from picker.hardware.model import GpuInfo
from picker.hardware.sysctl import read_sysctl

SMALL_MAC_RAM_BYTES = 36 * 1024**3
WORKING_SET_SOURCE = (
    "Metal default working set: ~2/3 of RAM up to 36 GiB, ~3/4 above "
    "(as llama.cpp logs recommendedMaxWorkingSetSize)"
)


def default_working_set_bytes(ram_bytes: int) -> int:
    """The GPU's usable share of unified memory when iogpu.wired_limit_mb is not set."""
    return ram_bytes * 2 // 3 if ram_bytes <= SMALL_MAC_RAM_BYTES else ram_bytes * 3 // 4


def unified_gpu(name: str | None, ram_bytes: int, available_bytes: int | None,
                wired_limit_bytes: int | None, source: str) -> GpuInfo:
    limit = wired_limit_bytes or default_working_set_bytes(ram_bytes)
    free = min(limit, available_bytes) if available_bytes is not None else limit
    note = (f"iogpu.wired_limit_mb = {wired_limit_bytes // 1024**2}" if wired_limit_bytes
            else WORKING_SET_SOURCE)
    return GpuInfo(0, "apple", name, "unified", limit, free, source=source, notes=(note,))


def _whole_number(text: str | None) -> int | None:
    """sysctl's answer as a count: plain ASCII digits that fit 64 bits, else None."""
    if not text or len(text) > 20 or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


def probe_apple(ram_bytes: int | None, available_bytes: int | None,
                warnings: list[str]) -> list[GpuInfo]:
    """The Apple Silicon GPU as unified memory (call only on macOS arm64)."""
    total = _whole_number(read_sysctl("hw.memsize", warnings)) or ram_bytes
    if total is None:
        warnings.append("Apple GPU: unified memory size not available")
        return []
    chip = read_sysctl("machdep.cpu.brand_string", warnings)
    wired = _whole_number(read_sysctl("iogpu.wired_limit_mb", []))
    wired_bytes = wired * 1024**2 if wired else None
    return [unified_gpu(chip, total, available_bytes, wired_bytes,
                        "sysctl hw.memsize, iogpu.wired_limit_mb")]

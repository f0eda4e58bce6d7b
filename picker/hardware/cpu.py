"""CPU name, core counts and the instruction sets llama.cpp picks its kernels by."""

from __future__ import annotations

import os
from pathlib import Path

from picker.hardware import osname
from picker.hardware.linux_proc import physical_core_count
from picker.hardware.model import CpuInfo

# /proc/cpuinfo flag -> the name picker reports (llama.cpp's own spelling where it has one).
_X86_FEATURES = {
    "avx": "AVX",
    "avx2": "AVX2",
    "fma": "FMA",
    "f16c": "F16C",
    "avx512f": "AVX512",
    "avx512_vnni": "AVX512_VNNI",
    "avx512vnni": "AVX512_VNNI",
    "avx512_bf16": "AVX512_BF16",
    "avx_vnni": "AVX_VNNI",
    "amx_tile": "AMX",
    "amx_int8": "AMX_INT8",
    "amx_bf16": "AMX_BF16",
}
_ARM_FEATURES = {
    "asimd": "NEON",
    "asimddp": "DOTPROD",
    "i8mm": "I8MM",
    "sve": "SVE",
    "sve2": "SVE2",
    "sme": "SME",
}
# macOS sysctl hw.optional.* keys -> the same names.
_APPLE_FEATURES = {
    "hw.optional.arm.FEAT_DotProd": "DOTPROD",
    "hw.optional.arm.FEAT_I8MM": "I8MM",
    "hw.optional.arm.FEAT_SME": "SME",
}


def _parse_cpuinfo(text: str) -> tuple[str | None, tuple[str, ...]]:
    name: str | None = None
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if name is None and key in ("model name", "hardware", "cpu model", "processor name"):
            name = value.strip() or None
        elif key in ("flags", "features") and not flags:
            flags = set(value.split())
    wanted = {**_X86_FEATURES, **_ARM_FEATURES}
    features = sorted({wanted[flag] for flag in flags if flag in wanted})
    return name, tuple(features)


def _core_counts(system: str, root: Path, sources: dict[str, str],
                 warnings: list[str]) -> tuple[int | None, int | None]:
    """(physical, logical) cores: from the kernel's files on Linux, else from psutil."""
    if system == "Linux":
        physical = physical_core_count(root)
        logical = os.cpu_count()
        if physical is not None and logical is not None:
            sources["physical_cores"] = "/sys/devices/system/cpu/*/topology"
            sources["logical_cores"] = "os.cpu_count"
            return physical, logical
    try:
        import psutil

        counts = psutil.cpu_count(logical=False), psutil.cpu_count(logical=True)
        sources["physical_cores"] = sources["logical_cores"] = "psutil.cpu_count"
        return counts
    except Exception as error:  # psutil raises what a garbled /proc or /sys makes it raise
        warnings.append(f"CPU: core counts not available ({type(error).__name__}: {error})")
        return None, None


def probe_cpu(warnings: list[str], root: Path = Path("/")) -> CpuInfo:
    """Read the CPU; what cannot be read is None and gets a warning."""
    sources: dict[str, str] = {}
    name: str | None = None
    features: tuple[str, ...] = ()
    system = osname.system()
    cpuinfo = root / "proc" / "cpuinfo"
    if system == "Darwin":
        from picker.hardware.sysctl import read_sysctl

        name = read_sysctl("machdep.cpu.brand_string", warnings)
        sources["name"] = "sysctl machdep.cpu.brand_string"
        if osname.machine() == "arm64":
            found = ["NEON"]  # every Apple Silicon core has NEON
            found += [label for key, label in _APPLE_FEATURES.items() if read_sysctl(key, []) == "1"]
            features = tuple(sorted(found))
            sources["features"] = "sysctl hw.optional.arm.*"
    elif cpuinfo.exists():
        try:
            name, features = _parse_cpuinfo(cpuinfo.read_text(errors="replace"))
            sources["name"] = sources["features"] = str(cpuinfo)
        except OSError as error:
            warnings.append(
                f"CPU: could not read {cpuinfo} ({error.strerror}); name and features not available"
            )
    if name is None:
        import platform  # `uname -p` in a subprocess: only when /proc/cpuinfo has no name

        fallback = platform.processor() or None
        if fallback:
            name = fallback
            sources["name"] = "platform.processor"
        else:
            warnings.append("CPU: model name not available on this system")
    if not features:
        warnings.append("CPU: instruction-set features not available on this system")
        sources.pop("features", None)
    physical, logical = _core_counts(system, root, sources, warnings)
    if physical is None:
        warnings.append("CPU: physical core count not available")
    return CpuInfo(
        name=name,
        architecture=osname.machine() or "unknown",
        physical_cores=physical,
        logical_cores=logical,
        features=features,
        sources=sources,
    )

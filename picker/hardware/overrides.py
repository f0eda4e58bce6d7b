"""What-if overrides: plan for a machine other than this one.

Each overridden value is listed in the snapshot's `overridden`, so nothing a
person typed is ever mistaken for something the probe read. The command line's flags
become a HardwareOverrides in `picker.commands.common.hardware_overrides`.
"""

from picker.errors import UsageError
from picker.hardware.model import CpuInfo, GpuInfo, HardwareSnapshot
from picker.namedrecord import NamedRecord

WHAT_IF = "what-if override"


class HardwareOverrides(NamedRecord):
    ram_bytes: int | None = None
    vram_bytes: tuple[int, ...] = ()
    gpu_name: str | None = None
    unified_memory: bool = False
    cpu_threads: int | None = None
    memory_bandwidth_gbps: float | None = None  # peak CPU memory bandwidth, GB/s
    memory_channels: int | None = None
    memory_mts: int | None = None
    cpu_name: str | None = None  # a CPU model whose platform sets the memory system

    @property
    def any(self) -> bool:
        return self != HardwareOverrides()


def apply_overrides(snapshot: HardwareSnapshot, overrides: HardwareOverrides) -> HardwareSnapshot:
    """A new snapshot with the what-if values in place and marked as such."""
    if not overrides.any:
        return snapshot
    overridden: list[str] = list(snapshot.overridden)
    memory, cpu, gpus = snapshot.memory, snapshot.cpu, list(snapshot.gpus)

    if overrides.ram_bytes is not None:
        sources = {**memory.sources, "total_bytes": WHAT_IF, "available_bytes": WHAT_IF}
        # A planned machine is taken as idle: all of its RAM is available.
        memory = memory._replace(total_bytes=overrides.ram_bytes,
                         available_bytes=overrides.ram_bytes, sources=sources)
        overridden += ["memory.total_bytes", "memory.available_bytes"]

    if overrides.cpu_threads is not None:
        cpu = cpu._replace(inference_threads=overrides.cpu_threads,
                      sources={**cpu.sources, "inference_threads": WHAT_IF})
        overridden.append("cpu.inference_threads")

    stated = _stated_memory_bandwidth(overrides)
    warnings = snapshot.warnings
    if overrides.cpu_name is not None:
        cpu, stated, note = _what_if_cpu(cpu, overrides, stated)
        overridden.append("cpu.name")
        if note:
            warnings = (*warnings, note)
    if stated is not None:
        memory = memory._replace(bandwidth_bytes_per_second=stated[0],
                                 sources={**memory.sources, "bandwidth": stated[1]})
        overridden.append("memory.bandwidth_bytes_per_second")

    if overrides.gpu_name is not None:
        check_gpu_name(overrides.gpu_name)

    if overrides.unified_memory:
        if memory.total_bytes is None:
            raise UsageError("--unified-memory needs the RAM size; add --ram SIZE, e.g. --ram 16G")
        total = memory.total_bytes
        limit = overrides.vram_bytes[0] if overrides.vram_bytes else None
        from picker.hardware.apple import WORKING_SET_SOURCE, default_working_set_bytes, unified_gpu

        if overrides.ram_bytes is not None:
            # An idle what-if Mac still runs macOS: the model gets Metal's default GPU working
            # set of the pool (GPU and CPU layers together); the rest is the OS's.
            usable = min(memory.available_bytes or 0, limit or default_working_set_bytes(total))
            memory = memory._replace(available_bytes=usable, sources={
                **memory.sources, "available_bytes": f"{WHAT_IF}: {WORKING_SET_SOURCE}; the rest "
                f"({(total - usable) / 1024**3:.1f} GiB) is left to the OS"})

        gpus = [unified_gpu(overrides.gpu_name or "Apple Silicon (what-if)", total,
                            memory.available_bytes, limit, WHAT_IF)]
        overridden.append("gpus")
    elif overrides.vram_bytes:
        gpus = [_what_if_gpu(gpus[i] if i < len(gpus) else None, size, overrides.gpu_name)
                for i, size in enumerate(overrides.vram_bytes)]
        overridden.append("gpus")
    elif overrides.gpu_name is not None:
        if not gpus:
            raise UsageError(
                "--gpu needs --vram to say how much memory it has, e.g. --gpu 'RTX 4090' --vram 24G"
            )
        gpus = [gpu._replace(name=overrides.gpu_name, source=WHAT_IF) for gpu in gpus]
        overridden.append("gpus")

    gpus = [gpu._replace(index=i) for i, gpu in enumerate(gpus)]
    if "gpus" in overridden and gpus:  # the probe's "no GPU found" is about another machine
        warnings = tuple(w for w in warnings if not w.startswith("no GPU found"))
    return snapshot._replace(memory=memory, cpu=cpu, gpus=tuple(gpus), warnings=warnings,
                   overridden=tuple(dict.fromkeys(overridden)))


def _stated_memory_bandwidth(overrides: HardwareOverrides) -> tuple[float, str] | None:
    """The planned CPU's peak memory bandwidth and how it was stated, or None."""
    from picker.speed.cpu_memory import channel_bandwidth, stated_bandwidth

    channels, mts = overrides.memory_channels, overrides.memory_mts
    try:
        if overrides.memory_bandwidth_gbps is not None:
            if channels is not None or mts is not None:
                raise ValueError("give either --memory-bandwidth or --memory-channels with "
                                 "--memory-mts, not both")
            return stated_bandwidth(overrides.memory_bandwidth_gbps)
        if channels is None and mts is None:
            return None
        if channels is None or mts is None:
            raise ValueError("--memory-channels and --memory-mts go together, e.g. "
                             "--memory-channels 2 --memory-mts 5600")
        return channel_bandwidth(channels, mts)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _what_if_cpu(cpu: CpuInfo, overrides: HardwareOverrides, stated: tuple[float, str] | None
                 ) -> tuple[CpuInfo, tuple[float, str] | None, str]:
    """`--cpu NAME`: its name, and its platform's memory system unless one is stated; a note
    when the threads are still this machine's."""
    from picker.speed.cpu_memory import channel_bandwidth
    from picker.speed.cpu_platforms import known_platforms, lookup_platform

    name = " ".join(str(overrides.cpu_name).split())[:100]
    platform = lookup_platform(name)
    if platform is None and stated is None:
        known = "; ".join(p.name for p in known_platforms())
        raise UsageError(f"--cpu: picker does not know the memory system of {name!r}; state it "
                         "with --memory-channels N --memory-mts MT/s (or --memory-bandwidth "
                         f"GB/s), or name a CPU of a known platform ({known})")
    cpu = cpu._replace(name=name, sources={**cpu.sources, "name": WHAT_IF})
    if stated is None and platform is not None:
        bandwidth, how = channel_bandwidth(platform.channels, platform.mts)
        stated = bandwidth, (f"{how}: --cpu {name!r} is {platform.name}, {platform.source}; "
                             "fewer or slower modules: state --memory-channels/--memory-mts")
    note = "" if overrides.cpu_threads is not None else (
        f"--cpu {name!r} is planned with this machine's {cpu.inference_threads or '?'} CPU "
        "thread(s), which cap its reads; give --cpu-threads N for the planned machine's")
    return cpu, stated, note


def check_gpu_name(name: str) -> None:
    """A what-if GPU must be one picker knows the bandwidth of: an unknown name would get an
    invented speed. Close matches are offered."""
    from picker.speed.gpu_table import known_gpus, lookup_gpu

    if lookup_gpu(name) is not None:
        return
    import difflib

    names = sorted({spec.name for spec in known_gpus()})
    wanted = name.lower()

    def likeness(known: str) -> float:
        """The best match of the typed name against the known name's tails ('RTX 3090' for
        'GeForce RTX 3090'): people leave the brand out."""
        words = known.lower().split()
        return max(difflib.SequenceMatcher(None, wanted, " ".join(words[i:])).ratio()
                   for i in range(len(words)))

    scored = sorted(((likeness(known), known) for known in names), reverse=True)
    close = [known for score, known in scored[:3] if score >= 0.6]
    hint = f"did you mean {', '.join(repr(c) for c in close)}?" if close else \
        "name a GeForce, Radeon, Arc, data-center card or Apple chip, e.g. 'RTX 4090', 'M2 Max'"
    raise UsageError(f"--gpu: picker does not know the GPU {name!r} (its speed would be a guess); "
                     f"{hint} ({len(names)} known, picker/speed/gpu_table.py)")


def _what_if_gpu(real: GpuInfo | None, size_bytes: int, name: str | None) -> GpuInfo:
    if real is not None and real.memory_kind == "dedicated":
        return real._replace(name=name or real.name, total_bytes=size_bytes, free_bytes=size_bytes,
                       source=WHAT_IF)
    from picker.speed.gpu_table import lookup_gpu

    spec = lookup_gpu(name)
    vendor = spec.vendor if spec is not None and spec.vendor in _VENDORS else "unknown"
    return GpuInfo(0, vendor, name or "GPU (what-if)", "dedicated", size_bytes,  # type: ignore[arg-type]
                   size_bytes, source=WHAT_IF)


_VENDORS = ("nvidia", "amd", "intel", "apple")

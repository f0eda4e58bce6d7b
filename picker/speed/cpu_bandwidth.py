"""CPU memory bandwidth, measured once by a short copy probe and cached.

There is no table for CPUs (the same chip runs with one to twelve memory channels),
so picker measures: a few threads each copy a buffer far larger than any CPU cache
with `ctypes.memmove`, which releases the GIL, so the threads really run in
parallel. Bandwidth is counted the STREAM "copy" way (bytes read + bytes written per
second). The probe takes about 0.1-0.2 s (at most three repeats within 0.4 s, at least
one) and runs once; the result is cached in the
user cache dir keyed by this machine, and `picker.speed.calibration` relates it to
the bandwidth llama.cpp actually achieves.
"""

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from picker.hardware import osname
from picker.namedrecord import NamedRecord
from picker.paths import picker_paths

if TYPE_CHECKING:
    import ctypes

CACHE_FILE_NAME = "cpu_bandwidth.json"
_TOTAL_BUFFER_BYTES = 64 << 20  # source buffers over all threads (the same again for targets)
_MIN_BUFFER_BYTES = 32 << 20  # per thread: larger than any L3 slice a single core sees
_MAX_THREADS = 8
_REPEATS = 3
_TIME_BUDGET_SECONDS = 0.4  # no further repeats once this is spent (a busy machine is slow)
_PROBE_VERSION = 1


class CpuBandwidth(NamedRecord):
    """A measured copy bandwidth and how it was obtained."""

    bytes_per_second: float  # best of the repeats, read + written bytes
    low_bytes_per_second: float  # slowest repeat
    threads: int
    buffer_bytes: int  # per thread
    probe_seconds: float
    measured_at: float  # Unix time
    machine_key: str
    method: str = "ctypes.memmove copy probe (STREAM-style copy: read + write bytes)"
    version: int = _PROBE_VERSION

    @property
    def description(self) -> str:
        return (
            f"measured on this machine: {self.bytes_per_second / 1e9:.1f} GB/s copy bandwidth "
            f"({self.threads} thread(s), {self.method})"
        )


def machine_key() -> str:
    """What ties a cached figure to this machine (a moved cache dir is re-measured)."""
    import platform  # processor(): `uname -p` in a subprocess (~7 ms), so only when measuring

    return f"{osname.node()}|{osname.machine()}|{platform.processor()}|{os.cpu_count()}"


def is_this_machine(key: str) -> bool:
    """Whether a cached figure's `machine_key` names this host, architecture and CPU count.
    The processor field is not compared: it is `uname -p`, which costs a subprocess and on
    one host and architecture does not change."""
    return key.startswith(f"{osname.node()}|{osname.machine()}|") and key.endswith(
        f"|{os.cpu_count()}")


def _copy_once(pairs: "list[tuple[ctypes.Array[ctypes.c_char], ctypes.Array[ctypes.c_char]]]",
               size: int) -> float:
    """Seconds for all threads to copy their buffer once, started together."""
    import ctypes
    import threading

    if len(pairs) == 1:
        source, target = pairs[0]
        start = time.perf_counter()
        ctypes.memmove(target, source, size)
        return time.perf_counter() - start
    barrier = threading.Barrier(len(pairs) + 1)

    def work(source: "ctypes.Array[ctypes.c_char]", target: "ctypes.Array[ctypes.c_char]") -> None:
        barrier.wait()
        ctypes.memmove(target, source, size)

    workers = [threading.Thread(target=work, args=pair, daemon=True) for pair in pairs]
    for worker in workers:
        worker.start()
    barrier.wait()
    start = time.perf_counter()
    for worker in workers:
        worker.join()
    return time.perf_counter() - start


def measure_cpu_bandwidth(threads: int | None = None) -> CpuBandwidth:
    """Run the copy probe now (no cache). `threads` defaults to the core count, at most 8."""
    import ctypes  # only when measuring: the cached figure needs none of this

    started = time.perf_counter()
    count = threads or min(_MAX_THREADS, max(1, os.cpu_count() or 1))
    size = max(_MIN_BUFFER_BYTES, _TOTAL_BUFFER_BYTES // count)
    # create_string_buffer zero-fills, so every page is touched before timing starts.
    pairs = [(ctypes.create_string_buffer(size), ctypes.create_string_buffer(size))
             for _ in range(count)]
    _copy_once(pairs, size)  # warm-up: page tables, frequency ramp
    rates: list[float] = []
    while len(rates) < _REPEATS and (not rates or time.perf_counter() - started < _TIME_BUDGET_SECONDS):
        rates.append(2 * size * count / max(_copy_once(pairs, size), 1e-9))
    del pairs
    return CpuBandwidth(
        bytes_per_second=max(rates),
        low_bytes_per_second=min(rates),
        threads=count,
        buffer_bytes=size,
        probe_seconds=time.perf_counter() - started,
        measured_at=time.time(),
        machine_key=machine_key(),
    )


def _cache_path() -> Path:
    return picker_paths().cache_dir / CACHE_FILE_NAME


# What each cached field must be (JSON gives an int for a float that happens to be whole).
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "bytes_per_second": (float, int), "low_bytes_per_second": (float, int), "threads": (int,),
    "buffer_bytes": (int,), "probe_seconds": (float, int), "measured_at": (float, int),
    "machine_key": (str,), "method": (str,), "version": (int,),
}


def load_cached_bandwidth() -> CpuBandwidth | None:
    """The cached measurement for this machine, or None when absent, stale or damaged in any
    way (then it is measured again)."""
    from picker.cachefiles import read_json

    raw = read_json(_cache_path())
    if (not isinstance(raw, dict) or raw.keys() != _FIELD_TYPES.keys()
            or any(type(raw[name]) not in types for name, types in _FIELD_TYPES.items())):
        return None
    cached = CpuBandwidth(**raw)
    if cached.version != _PROBE_VERSION or not is_this_machine(cached.machine_key):
        return None
    if not 0 < cached.low_bytes_per_second <= cached.bytes_per_second < float("inf") or cached.threads < 1:
        return None
    return cached


def cpu_bandwidth(refresh: bool = False) -> CpuBandwidth:
    """This machine's copy bandwidth: from the cache, else measured now and cached."""
    if not refresh:
        cached = load_cached_bandwidth()
        if cached is not None:
            return cached
    measured = measure_cpu_bandwidth()
    from picker.cachefiles import write_whole

    # A read-only cache dir only costs a re-measure next time.
    write_whole(_cache_path(), json.dumps(measured._asdict(), indent=2).encode())
    return measured

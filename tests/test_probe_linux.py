"""The Linux readings picker takes from /proc and /sys without psutil agree with psutil's."""

from __future__ import annotations

import os
from pathlib import Path

import psutil

from picker.hardware.cpu import probe_cpu
from picker.hardware.linux_proc import physical_core_count, read_meminfo
from picker.hardware.system_memory import probe_disk, probe_memory

_MIB = 1024**2


def test_meminfo_matches_psutil_on_this_machine() -> None:
    meminfo = read_meminfo()
    assert meminfo is not None
    virtual, swap = psutil.virtual_memory(), psutil.swap_memory()
    assert meminfo.total_bytes == virtual.total
    assert meminfo.swap_total_bytes == swap.total
    # Available memory moves while the test runs; tens of MiB is a busy machine, not a unit slip.
    assert abs(meminfo.available_bytes - virtual.available) < 256 * _MIB
    assert abs(meminfo.swap_free_bytes - swap.free) < 256 * _MIB


def test_core_counts_match_psutil_on_this_machine() -> None:
    assert physical_core_count() == psutil.cpu_count(logical=False)
    cpu = probe_cpu([])
    assert (cpu.physical_cores, cpu.logical_cores) == (psutil.cpu_count(logical=False),
                                                       psutil.cpu_count(logical=True))


def test_disk_matches_psutil(tmp_path: Path) -> None:
    disk = probe_disk(tmp_path / "not" / "yet" / "made", [])
    assert disk is not None
    usage = psutil.disk_usage(str(tmp_path))
    assert disk.total_bytes == usage.total
    assert abs((disk.free_bytes or 0) - usage.free) < 256 * _MIB
    assert disk.path == str(tmp_path / "not" / "yet" / "made")


def _fake_cpu(root: Path, cpu: int, siblings: str) -> None:
    topology = root / "sys" / "devices" / "system" / "cpu" / f"cpu{cpu}" / "topology"
    topology.mkdir(parents=True)
    (topology / "core_cpus_list").write_text(siblings + "\n")


def test_hyperthreads_count_once(tmp_path: Path) -> None:
    # Two cores with two threads each, as the kernel lists siblings; cpufreq/ is not a CPU.
    for cpu, siblings in ((0, "0,2"), (1, "1,3"), (2, "0,2"), (3, "1,3")):
        _fake_cpu(tmp_path, cpu, siblings)
    (tmp_path / "sys" / "devices" / "system" / "cpu" / "cpufreq").mkdir()
    assert physical_core_count(tmp_path) == 2


def test_missing_files_fall_back_to_psutil(tmp_path: Path) -> None:
    assert read_meminfo(tmp_path) is None
    assert physical_core_count(tmp_path) is None
    memory = probe_memory([], tmp_path)
    assert memory.sources["total_bytes"] == "psutil.virtual_memory"
    assert memory.total_bytes == psutil.virtual_memory().total


def test_meminfo_without_memavailable_is_not_guessed(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "meminfo").write_text("MemTotal:  8000 kB\nMemFree: 100 kB\n")
    assert read_meminfo(tmp_path) is None
    (tmp_path / "proc" / "meminfo").write_text(
        "MemTotal:  8000 kB\nMemFree: 100 kB\nMemAvailable: 4000 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n")
    memory = probe_memory([], tmp_path)
    assert (memory.total_bytes, memory.available_bytes) == (8000 * 1024, 4000 * 1024)
    assert memory.sources["available_bytes"] == str(tmp_path / "proc" / "meminfo")


def test_unreadable_meminfo_is_none(tmp_path: Path) -> None:
    (tmp_path / "proc" / "meminfo").mkdir(parents=True)  # a directory: reading it fails
    assert read_meminfo(tmp_path) is None
    assert os.path.isdir(tmp_path / "proc" / "meminfo")

"""The machines of a multi-host plan and the devices each one offers llama.cpp.

`--hosts main.json,box2.json@192.168.1.20:50052,...`: the first file is the main
host (it runs llama-server and keeps the input layer); every other one runs
`ggml-rpc-server`. An address and port may follow a file after `@`; without one
the host is called by its file's stem, and ports count up from rpc-server's
default 50052 on a shared address (so several servers on 127.0.0.1 work).

Device order is llama.cpp's (llama_model_load_from_file): RPC devices first, in
`--rpc` order, each server's devices in its order; then the main host's own GPUs.
A GPU host offers its GPUs (rpc-server exposes accelerators by default), a host
without a usable GPU its CPU (rpc-server's fallback), a Mac its Metal device
capped by the working set. The main host's CPU is not in the split: it holds the
layers left before the first offloaded one, as in a one-machine plan.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING, Literal, NamedTuple

from picker.errors import UsageError
from picker.hardware.model import GpuInfo, HardwareSnapshot
from picker.memory.machine import (
    CPU_OVERHEAD,
    DEDICATED_GPU_OVERHEAD,
    UNIFIED_GPU_OVERHEAD,
)
from picker.rpc.probe_file import read_probe_file

if TYPE_CHECKING:
    from picker.rpc.link import Link
from picker.speed.estimate import DeviceBandwidth, machine_bandwidths

DEFAULT_RPC_PORT = 50052  # ggml-rpc-server's default (tools/rpc/rpc-server.cpp)
# llama_max_devices() in llama.cpp: --tensor-split takes fewer entries than this.
MAX_SPLIT_DEVICES = 16
# ggml backend device names, by GPU vendor, as `ggml-rpc-server -d` takes them.
_BACKEND_PREFIX = {"nvidia": "CUDA", "amd": "ROCm", "intel": "Vulkan", "apple": "MTL",
                   "unknown": "Vulkan"}

DeviceKind = Literal["gpu", "unified", "cpu"]


class Host(NamedTuple):
    name: str  # the probe file's stem: main, box2, ...
    probe_path: str
    address: str  # what --rpc connects to
    address_given: bool
    port: int
    snapshot: HardwareSnapshot
    is_main: bool


class HostDevice(NamedTuple):
    """One ggml device of the split, in llama.cpp's order."""

    host: str
    backend_name: str  # CUDA0, ROCm0, MTL0, CPU: as ggml-rpc-server -d takes it
    label: str  # the GPU's or CPU's own name
    kind: DeviceKind
    free_bytes: int
    overhead_bytes: int
    overhead_source: str
    bandwidth: DeviceBandwidth
    remote: bool


def _split_spec(spec: str) -> tuple[str, str | None, int | None]:
    """`FILE[@ADDRESS[:PORT]]` -> (file, address, port)."""
    file_part, at, where = spec.rpartition("@")
    if not at:
        return spec, None, None
    if not file_part or not where:
        raise UsageError(f"--hosts: cannot read {spec!r}; give FILE or FILE@ADDRESS[:PORT], "
                         "e.g. box2.json@192.168.1.20:50052")
    address, port_text = where, ""
    if where.startswith("["):  # [IPv6]:PORT
        address, _, rest = where[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif where.count(":") == 1:
        address, port_text = where.split(":")
    port: int | None = None
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise UsageError(f"--hosts: {port_text!r} in {spec!r} is not a port (1-65535)")
        port = int(port_text)
    if not address or any(ch.isspace() or ch in "/,;" for ch in address):
        raise UsageError(f"--hosts: {address!r} in {spec!r} is not a host name or address")
    return file_part, address, port


def is_ip_literal(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def read_hosts(hosts_text: str) -> list[Host]:
    """The hosts named by --hosts, each read from its probe file (errors name the file)."""
    specs = [part.strip() for part in hosts_text.split(",")]
    if any(not spec for spec in specs):
        raise UsageError(f"--hosts: an empty entry in {hosts_text!r}; give probe files "
                         "separated by commas, the main host first: main.json,box2.json")
    if len(specs) < 2:
        raise UsageError("--hosts: give at least two probe files, the main host first "
                         "(main.json,box2.json); for one machine leave --hosts out")
    hosts: list[Host] = []
    next_port: dict[str, int] = {}
    for position, spec in enumerate(specs):
        file_text, address, port = _split_spec(spec)
        path = Path(file_text).expanduser()
        snapshot = read_probe_file(path)
        name = path.stem or f"host{position}"
        where = address or name
        if port is None:
            port = next_port.get(where, DEFAULT_RPC_PORT)
        next_port[where] = max(next_port.get(where, DEFAULT_RPC_PORT), port + 1)
        hosts.append(Host(name=name, probe_path=str(path), address=where,
                          address_given=address is not None, port=port, snapshot=snapshot,
                          is_main=position == 0))
    seen: dict[tuple[str, int], str] = {}
    for host in hosts[1:]:
        key = (host.address, host.port)
        if key in seen:
            raise UsageError(f"--hosts: {seen[key]} and {host.name} both at "
                             f"{host.address}:{host.port}; give each its own port")
        seen[key] = host.name
    return hosts


# What --hosts and --link name: the machines, the main one first, and the network between them.
HostsAndLink = tuple[list[Host], "Link"]


def read_hosts_flags(hosts: str | None, link: str | None) -> HostsAndLink:
    """(hosts, link) from --hosts and --link; --link alone is an error."""
    from picker.rpc.link import DEFAULT_LINK, parse_link

    if hosts is None:
        raise UsageError("--link goes with --hosts (the machines it joins)")
    return read_hosts(hosts), parse_link(link or DEFAULT_LINK)


def _usable_gpus(snapshot: HardwareSnapshot) -> list[GpuInfo]:
    """GPUs llama.cpp gains from (an integrated GPU borrowing RAM is left to the CPU)."""
    return [gpu for gpu in snapshot.gpus
            if gpu.memory_kind != "shared" and (gpu.free_bytes or 0) > 0]


def host_devices(host: Host) -> list[HostDevice]:
    """What this host adds to the split, in llama.cpp's order on that host."""
    bandwidths = machine_bandwidths(host.snapshot, None)
    gpus = _usable_gpus(host.snapshot)
    if not gpus:
        if host.is_main:
            return []  # the main host's CPU holds the leading layers, outside the split
        cpu = host.snapshot.cpu
        return [HostDevice(
            host=host.name, backend_name="CPU", label=cpu.name or "CPU", kind="cpu",
            free_bytes=host.snapshot.memory.available_bytes or 0,
            overhead_bytes=CPU_OVERHEAD[0], overhead_source=CPU_OVERHEAD[1],
            bandwidth=bandwidths["cpu"], remote=True,
        )]
    devices = []
    per_vendor: dict[str, int] = {}
    for gpu in gpus:
        prefix = _BACKEND_PREFIX[gpu.vendor]
        number = per_vendor.get(prefix, 0)
        per_vendor[prefix] = number + 1
        unified = gpu.memory_kind == "unified"
        overhead, source = UNIFIED_GPU_OVERHEAD if unified else DEDICATED_GPU_OVERHEAD
        devices.append(HostDevice(
            host=host.name, backend_name=f"{prefix}{number}", label=gpu.name or f"GPU {gpu.index}",
            kind="unified" if unified else "gpu", free_bytes=gpu.free_bytes or 0,
            overhead_bytes=overhead, overhead_source=source,
            bandwidth=bandwidths.get(f"gpu{gpu.index}", bandwidths["cpu"]), remote=not host.is_main,
        ))
    return devices


def split_devices(hosts: list[Host]) -> list[HostDevice]:
    """Every device of the split in llama.cpp's order: the RPC hosts', then the main host's."""
    remote = [device for host in hosts if not host.is_main for device in host_devices(host)]
    local = [device for host in hosts if host.is_main for device in host_devices(host)]
    devices = remote + local
    if len(devices) >= MAX_SPLIT_DEVICES:
        raise UsageError(f"--hosts: {len(devices)} devices; llama.cpp takes at most "
                         f"{MAX_SPLIT_DEVICES - 1} in --tensor-split")
    return devices

"""What to run: one `ggml-rpc-server` per remote host and the main host's `llama-server`.

Flags are llama.cpp's as of the version llama-cpp-python 0.3.36 vendors: the server
binary is `ggml-rpc-server` (`rpc-server` in builds before the rename) with
`-H -p -d -t -c`; `-c` keeps received tensors in a local cache so a reload does not
send them again. The main line states every setting the plan assumed (context,
batch sizes, flash attention, SWA cache, cache types, one slot) and `--fit off`,
since llama.cpp's fit would otherwise rewrite the split it was given.
"""

from __future__ import annotations

import shlex
from typing import NamedTuple

from picker.memory.emit import llama_flags
from picker.rpc.hosts import Host, is_ip_literal
from picker.rpc.split import SplitPlan

RPC_SERVER = "ggml-rpc-server"
MAIN_SERVER = "llama-server"


class HostCommand(NamedTuple):
    host: str
    address: str
    port: int
    devices: tuple[str, ...]
    argv: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"host": self.host, "address": self.address, "port": self.port,
                "devices": list(self.devices), "argv": list(self.argv),
                "line": shlex.join(self.argv)}


class RunCommands(NamedTuple):
    rpc_servers: tuple[HostCommand, ...]
    main: tuple[str, ...]
    notes: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {"rpc_servers": [command.to_dict() for command in self.rpc_servers],
                "main": {"argv": list(self.main), "line": shlex.join(self.main)},
                "notes": list(self.notes)}


def _bind_address(host: Host) -> str:
    return host.address if is_ip_literal(host.address) else "0.0.0.0"


def rpc_server_command(host: Host, devices: list[str], threads: int | None,
                       binary: str = RPC_SERVER, cache: bool = True) -> tuple[str, ...]:
    argv = [binary, "-H", _bind_address(host), "-p", str(host.port), "-d", ",".join(devices)]
    if threads:
        argv += ["-t", str(threads)]
    if cache:
        argv.append("-c")
    return tuple(argv)


def main_command(split: SplitPlan, model_args: list[str], binary: str = MAIN_SERVER) -> tuple[
        str, ...]:
    plan = split.plan
    settings = plan.settings
    endpoints = list(dict.fromkeys(
        f"{host.address}:{host.port}" for host in split.hosts[1:]
        if host.name in {device.host for device in split.devices}))
    argv = [binary, *model_args]
    if endpoints:
        argv += ["--rpc", ",".join(endpoints)]
    argv += llama_flags(settings, any(plan.shape.swa_layers), split.n_gpu_layers,
                        split.tensor_split)
    return tuple(argv)


def run_commands(split: SplitPlan, model_args: list[str]) -> RunCommands:
    servers = []
    notes = []
    for host in split.hosts[1:]:
        devices = [device for device in split.devices if device.host == host.name]
        if not devices:
            continue
        threads = (host.snapshot.cpu.physical_cores or host.snapshot.cpu.logical_cores
                   if any(device.kind == "cpu" for device in devices) else None)
        servers.append(HostCommand(
            host=host.name, address=host.address, port=host.port,
            devices=tuple(device.backend_name for device in devices),
            argv=rpc_server_command(host, [device.backend_name for device in devices], threads),
        ))
        if not host.address_given:
            notes.append(f"{host.name}: no address given (FILE@ADDRESS in --hosts); --rpc uses the "
                         f"name {host.address!r} and the server listens on every interface: "
                         "bind it to its LAN address instead on a machine with several networks")
    notes.append(f"{RPC_SERVER} was called rpc-server before llama.cpp renamed it; -c (tensor "
                 "cache in ~/.cache/llama.cpp/rpc, so reloads skip the network) needs a build "
                 "that lists it in --help; -d names the device as the server lists it at start")
    notes.append("rpc-server has no authentication and no encryption: run it only on a trusted "
                 "network, never reachable from the internet")
    notes.append(f"{MAIN_SERVER} also keeps a prompt cache of up to 8 GiB in the main host's RAM "
                 "(--cache-ram, default 8192 MiB), not in this plan: add --cache-ram N (MiB) "
                 "to bound it")
    return RunCommands(rpc_servers=tuple(servers), main=main_command(split, model_args),
                       notes=tuple(notes))

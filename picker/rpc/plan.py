"""Everything `picker fit TARGET --hosts ...` answers: the split, RAM, speed, commands, advice."""

from __future__ import annotations

from typing import NamedTuple

from picker.llama_settings import LlamaSettings
from picker.memory import advisor
from picker.memory.placement import CPU
from picker.memory.plan import MemoryPlan
from picker.memory.shape import ModelShape
from picker.memory.solver import max_context
from picker.rpc.commands import RunCommands, run_commands
from picker.rpc.hosts import Host
from picker.rpc.link import Link
from picker.rpc.speed import SplitSpeed, split_speed
from picker.rpc.split import SplitPlan, solve_split


class MainHostRam(NamedTuple):
    steady_bytes: int  # the main host's CPU buffers and margin, as planned
    while_loading_bytes: int  # plus the file pages read for the other devices
    available_bytes: int | None


class HostsPlan(NamedTuple):
    split: SplitPlan
    max_context: int  # with this split
    ram: MainHostRam
    speed: SplitSpeed
    commands: RunCommands
    advice: tuple[str, ...]
    link: Link


def main_host_ram(split: SplitPlan) -> MainHostRam:
    """The main host's RAM: its own buffers, and the peak while it sends weights out.

    llama.cpp maps the file and copies each offloaded tensor from the mapping to its
    device, so every page is read once through the main host's page cache (reclaimable,
    released after the load for tensors not kept on the CPU); the peak resident set is
    about the CPU's buffers plus all the other devices' weights (a tied output matrix
    is a copy of the CPU's embeddings, read once).
    """
    plan = split.plan
    cpu = plan.devices[0]
    sent = sum(device.weights_bytes for device in plan.devices if device.device != CPU)
    if plan.output_device != CPU:
        sent -= plan.shape.tied_copy_bytes
    return MainHostRam(steady_bytes=cpu.total_bytes, while_loading_bytes=cpu.total_bytes + sent,
                       available_bytes=split.machine.cpu_free_bytes)


def advice(shape: ModelShape, settings: LlamaSettings, hosts: list[Host], split: SplitPlan) -> list[str]:
    """What would change a does-not-fit into a fit, each checked with a new split."""
    if split.fits:
        if split.unused_hosts and len(split.unused_hosts) == len(hosts) - 1:
            return ["fits on the main host alone: no RPC server is needed"]
        return []
    tips = [f"short by {split.plan.shortfall_bytes / 1024**3:.1f} GiB: add a machine with at "
            "least that much free memory, or free memory on the hosts above"]

    def planner(candidate: LlamaSettings) -> MemoryPlan:
        return solve_split(shape, candidate, hosts).plan

    tips += advisor.advise(settings, split.plan, planner, False, planner,
                   held="all devices, split again").lines()
    return tips


def plan_across_hosts(shape: ModelShape, settings: LlamaSettings, hosts: list[Host], link: Link,
                      model_args: list[str], advise: bool = True) -> HostsPlan:
    """`advise=False` skips the advice (a search over contexts when it does not fit)."""
    split = solve_split(shape, settings, hosts)
    return HostsPlan(
        split=split,
        max_context=max_context(shape, split.plan.settings, split.machine) if split.fits else 0,
        ram=main_host_ram(split),
        speed=split_speed(split, link),
        commands=run_commands(split, model_args),
        advice=tuple(advice(shape, settings, hosts, split)) if advise else (),
        link=link,
    )

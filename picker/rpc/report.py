"""A plan across machines as the JSON document `picker fit --hosts --json` prints, and as text."""

from __future__ import annotations

import shlex

from picker.memory.placement import CPU
from picker.memory.plan import DeviceMemory
from picker.rpc.plan import HostsPlan
from picker.units import format_size


def _layer_ranges(hosts_plan: HostsPlan) -> list[str]:
    """Which blocks each planned device holds ("0-41", "42-79 + output", "input")."""
    split = hosts_plan.split
    ranges = [f"input, 0-{split.cpu_blocks - 1}" if split.cpu_blocks else "input"]
    start = split.cpu_blocks
    for index, count in enumerate(split.blocks):
        text = f"{start}-{start + count - 1}" if count else ""
        if split.plan.output_device == f"GPU{index}":
            text = f"{text} + output" if text else "output"
        ranges.append(text or "-")
        start += count
    if split.plan.output_device == CPU:
        ranges[0] += " + output"
    return ranges


def _rows(hosts_plan: HostsPlan) -> list[tuple[str, str, str, DeviceMemory]]:
    """(host, device name, label, memory) for the main host's CPU and each split device."""
    split = hosts_plan.split
    main = split.hosts[0]
    rows = [(main.name, "CPU", main.snapshot.cpu.name or "CPU", split.plan.devices[0])]
    for index, device in enumerate(split.devices):
        rows.append((device.host, device.backend_name, device.label, split.plan.devices[index + 1]))
    return rows


def hosts_document(hosts_plan: HostsPlan, target: str) -> dict[str, object]:
    split = hosts_plan.split
    plan = split.plan
    shape = plan.shape
    ranges = _layer_ranges(hosts_plan)
    devices = []
    for (host, name, label, memory), layers in zip(_rows(hosts_plan), ranges, strict=True):
        entry = memory.to_dict()
        entry["plan_device"] = entry.pop("device")  # CPU, GPU0..: the memory plan's name
        devices.append({"host": host, "device": name, "label": label, "layers_text": layers,
                        **entry})
    settings = plan.settings.to_dict()
    settings["effective"] = {"n_ctx": plan.effective.n_ctx, "n_batch": plan.effective.n_batch,
                             "n_ubatch": plan.effective.n_ubatch}
    ram = hosts_plan.ram
    return {
        "target": target,
        "model": {"architecture": shape.architecture, "n_layer": shape.n_layer,
                  "weights_bytes": shape.weights_bytes, "file_size_bytes": shape.file_size_bytes,
                  "estimated": shape.estimated},
        "hosts": [
            {"name": host.name, "probe_file": host.probe_path,
             "role": "main" if host.is_main else "rpc",
             "address": None if host.is_main else host.address,
             "port": None if host.is_main else host.port,
             "ram_available_bytes": host.snapshot.memory.available_bytes,
             "used": host.is_main or host.name not in split.unused_hosts}
            for host in split.hosts
        ],
        "link": {"name": hosts_plan.link.name, "bytes_per_second": hosts_plan.link.bytes_per_second,
                 "round_trip_seconds": hosts_plan.link.round_trip_seconds,
                 "source": hosts_plan.link.source},
        "settings": settings,
        "fits": split.fits,
        "shortfall_bytes": plan.shortfall_bytes,
        "n_gpu_layers": split.n_gpu_layers,
        "tensor_split": list(split.tensor_split),
        "devices": devices,
        "main_host_ram": {"steady_bytes": ram.steady_bytes,
                          "while_loading_bytes": ram.while_loading_bytes,
                          "available_bytes": ram.available_bytes},
        "max_context": hosts_plan.max_context,
        "speed": hosts_plan.speed.to_dict(),
        "commands": hosts_plan.commands.to_dict(),
        "advice": list(hosts_plan.advice),
        "unused_hosts": list(split.unused_hosts),
        "notes": list(plan.notes),
    }


_COLUMNS = (("weights_bytes", "weights"), ("kv_cache_bytes", "KV"), ("compute_bytes", "compute"),
            ("overhead_bytes", "margin"), ("total_bytes", "total"), ("free_bytes", "free"))


def hosts_text(hosts_plan: HostsPlan, target: str) -> str:
    split = hosts_plan.split
    plan = split.plan
    settings = plan.settings
    used = [host for host in split.hosts if host.is_main or host.name not in split.unused_hosts]
    lines = [
        f"{target} across {len(used)} machine(s) ({', '.join(host.name for host in used)}; "
        f"main: {split.hosts[0].name}), link {hosts_plan.link.name}",
        f"settings: n_ctx {plan.effective.n_ctx}, n_batch {plan.effective.n_batch}, n_ubatch "
        f"{plan.effective.n_ubatch}, flash attention {'on' if settings.flash_attn else 'off'}, "
        f"KV cache {settings.type_k}/{settings.type_v}; -ngl {split.n_gpu_layers}, "
        f"--tensor-split {','.join(map(str, split.tensor_split))}",
        "",
        f"{'device':<26}{'layers':<16}" + "".join(f"{label:>11}" for _, label in _COLUMNS),
    ]
    for (host, name, label, memory), layers in zip(_rows(hosts_plan), _layer_ranges(hosts_plan),
                                                   strict=True):
        row = memory.to_dict()
        title = f"{host} {name}"
        cells = "".join(f"{format_size(size) if isinstance(size := row[key], int) else '?':>11}"
                        for key, _ in _COLUMNS)
        flag = f"  SHORT {format_size(memory.shortfall_bytes)}" if memory.shortfall_bytes else ""
        lines.append(f"{title:<26.26}{layers:<16.16}{cells}{flag}")
        if name != "CPU" or host != split.hosts[0].name:
            lines.append(f"  {label}")
    lines.append("")
    if split.fits:
        lines.append(f"fits: yes; largest context with this split {hosts_plan.max_context} tokens")
    else:
        lines.append(f"fits: no, {format_size(plan.shortfall_bytes)} short")
    ram = hosts_plan.ram
    lines.append(
        f"main host RAM: {format_size(ram.steady_bytes)} for its own buffers and margin; about "
        f"{format_size(ram.while_loading_bytes)} while loading (the weights sent to the other "
        "devices pass through its page cache once; reclaimable)")
    speed = hosts_plan.speed
    estimate = speed.estimate
    lines.append(
        f"speed: ~{estimate.tokens_per_second:.1f} tokens/s generated "
        f"({estimate.low_tokens_per_second:.1f}-{estimate.high_tokens_per_second:.1f}), an "
        f"estimate, {speed.bound_text}")
    if speed.load_bytes_over_link:
        lines.append(f"loading sends {format_size(speed.load_bytes_over_link)} over the link: "
                     f"~{speed.load_seconds:.0f} s on {hosts_plan.link.name} (a reload with the "
                     "servers' -c cache skips most of it)")
    lines += [f"advice: {tip}" for tip in hosts_plan.advice]
    commands = hosts_plan.commands
    lines.append("")
    for server in commands.rpc_servers:
        lines.append(f"on {server.host} ({server.address}):")
        lines.append(f"  {shlex.join(server.argv)}")
    lines.append(f"then on {split.hosts[0].name}:")
    lines.append(f"  {shlex.join(commands.main)}")
    lines += [f"note: {note}" for note in (*commands.notes, *plan.notes)]
    return "\n".join(lines)


def hosts_brief(hosts_plan: HostsPlan) -> list[str]:
    """A few lines for the TUI's detail pane: fit, devices, speed and the commands."""
    split = hosts_plan.split
    plan = split.plan
    verdict = (f"fits: -ngl {split.n_gpu_layers} --tensor-split "
               f"{','.join(map(str, split.tensor_split))}" if split.fits
               else f"does not fit: {format_size(plan.shortfall_bytes)} short")
    lines = [verdict]
    for (host, name, label, memory), layers in zip(_rows(hosts_plan), _layer_ranges(hosts_plan),
                                                   strict=True):
        free = format_size(memory.free_bytes) if memory.free_bytes is not None else "?"
        short = f", {format_size(memory.shortfall_bytes)} short" if memory.shortfall_bytes else ""
        lines.append(f"{host} {name} ({label}): layers {layers}; "
                     f"{format_size(memory.total_bytes)} of {free}{short}")
    estimate = hosts_plan.speed.estimate
    lines.append(f"~{estimate.tokens_per_second:.1f} tokens/s (estimate), "
                 f"{hosts_plan.speed.bound_text}")
    lines += [f"on {server.host}: {shlex.join(server.argv)}"
              for server in hosts_plan.commands.rpc_servers]
    lines.append(f"on {split.hosts[0].name}: {shlex.join(hosts_plan.commands.main)}")
    return lines

"""Tokens/s of a split across machines, and what bounds it: a device or the link.

A generated token passes through the devices one after another (llama.cpp's layer
split is a pipeline, one token at a time), so its time is the sum of each device's
reads over its bandwidth (`picker.speed.estimate`, as for one machine) plus the
link: for each remote device the activations go out and come back (2 x n_embd f32
values) with one round trip (ggml-rpc sends asynchronously and reuses an unchanged
graph, waiting only for the result), and the logits (n_vocab f32 values) come back
when the output layer is on a remote device. An estimate, stated as such.
"""

from __future__ import annotations

from typing import NamedTuple

from picker.memory.placement import CPU
from picker.rpc.link import Link
from picker.rpc.split import SplitPlan
from picker.speed.estimate import (
    DeviceBandwidth,
    DeviceLoad,
    SpeedEstimate,
    cpu_device_bandwidth,
    estimate_speed,
)

FLOAT_BYTES = 4


class SplitSpeed(NamedTuple):
    estimate: SpeedEstimate  # devices and link together
    device_seconds_per_token: float  # central, devices only
    link_seconds_per_token: float
    link_bytes_per_token: int
    bound: str  # "link" or "device"
    bound_text: str
    load_bytes_over_link: int  # weights sent to remote hosts at every load
    load_seconds: float

    def to_dict(self) -> dict[str, object]:
        return {
            **self.estimate.to_dict(),
            "basis": "estimate",
            "bound": self.bound,
            "bound_text": self.bound_text,
            "device_seconds_per_token": round(self.device_seconds_per_token, 6),
            "link_seconds_per_token": round(self.link_seconds_per_token, 6),
            "link_bytes_per_token": self.link_bytes_per_token,
            "load_bytes_over_link": self.load_bytes_over_link,
            "load_seconds_over_link": round(self.load_seconds, 1),
        }


def _active_fraction(split: SplitPlan) -> float:
    """Share of a layer's weights a token reads: active experts over all, for MoE models."""
    shape = split.plan.shape
    if shape.n_expert and shape.n_expert_used:
        return min(1.0, shape.n_expert_used / shape.n_expert)
    return 1.0


def split_speed(split: SplitPlan, link: Link) -> SplitSpeed:
    plan = split.plan
    shape = plan.shape
    fraction = _active_fraction(split)
    cells = max(plan.effective.n_ctx, 1)
    main = split.hosts[0]
    bandwidths: dict[str, DeviceBandwidth] = {CPU: cpu_device_bandwidth(main.snapshot.cpu, None)}
    loads: list[DeviceLoad] = []
    for memory in plan.devices:
        if memory.device == CPU:
            weights = memory.weights_bytes - shape.input_weight_bytes  # one embedding row read
        else:
            device = split.devices[int(memory.device.removeprefix("GPU"))]
            bandwidths[memory.device] = device.bandwidth._replace(
                label=f"{device.host} {device.backend_name} ({device.label})")
            weights = memory.weights_bytes
        loads.append(DeviceLoad(memory.device, int(max(0, weights) * fraction),
                                memory.kv_cache_bytes / cells))
    # no prompt-speed figure: it needs the parameter count, which a shape does not carry
    devices_only = estimate_speed(loads, bandwidths, 0, plan.effective.n_ctx)
    remote = [i for i, device in enumerate(split.devices)
              if device.remote and plan.devices[i + 1].layers + (plan.output_device == f"GPU{i}")]
    link_bytes = len(remote) * 2 * shape.n_embd * FLOAT_BYTES
    output_remote = plan.output_device != CPU and split.devices[
        int(plan.output_device.removeprefix("GPU"))].remote
    if output_remote:
        link_bytes += shape.n_vocab * FLOAT_BYTES
    link_seconds = len(remote) * link.round_trip_seconds + link_bytes / link.bytes_per_second

    def with_link(tokens_per_second: float) -> float:
        return 1.0 / (1.0 / tokens_per_second + link_seconds)

    estimate = devices_only._replace(
        tokens_per_second=with_link(devices_only.tokens_per_second),
        low_tokens_per_second=with_link(devices_only.low_tokens_per_second),
        high_tokens_per_second=with_link(devices_only.high_tokens_per_second),
        prompt_method="",
        method=(devices_only.method + f"; plus the link ({link.source}): {len(remote)} remote "
                f"device(s) x 1 round trip and {link_bytes:,} B of activations"
                + (" and logits" if output_remote else "") + " per token"),
    )
    device_seconds = 1.0 / devices_only.tokens_per_second
    slowest = max(loads, key=lambda load: (load.weight_bytes + load.kv_bytes_per_token * cells / 2)
                  / bandwidths[load.device].bytes_per_second)
    slow_band = bandwidths[slowest.device]
    if link_seconds > device_seconds:
        bound = "link"
        bound_text = (f"bound by the link: {link_seconds * 1e3:.2f} ms per token on {link.name} "
                      f"vs {device_seconds * 1e3:.2f} ms of device reads")
    else:
        bound = "device"
        bound_text = (f"bound by the devices' memory bandwidth, slowest share on {slow_band.label} "
                      f"({slow_band.bytes_per_second / 1e9:.0f} GB/s, {slow_band.kind}); the link "
                      f"adds {link_seconds * 1e3:.2f} ms per token on {link.name}")
    sent = sum(plan.devices[i + 1].weights_bytes for i in remote)
    return SplitSpeed(
        estimate=estimate, device_seconds_per_token=device_seconds,
        link_seconds_per_token=link_seconds, link_bytes_per_token=link_bytes,
        bound=bound, bound_text=bound_text, load_bytes_over_link=sent,
        load_seconds=sent / link.bytes_per_second,
    )

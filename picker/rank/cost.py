"""Monthly cost of N tokens: electricity for running locally vs closed models' API prices.

Local: the time the tokens take (half of them read as prompt at the prompt speed, half
generated at the generation speed) x the power drawn while running x the electricity
price. Power: the GPU's power limit from NVML when the probe read one (an upper
bound: generation is memory-bound and rarely draws the full limit), else a board
power figure for the device with its source, else an assumed figure, labelled. With
several cards, layers run one card at a time, so one card counts at full power and the
others at an assumed idle draw.
Hardware purchase and idle power are not counted. API: the same split of input and
output tokens at each closed model's list price from the catalog.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from picker.catalog.types import ClosedModel
from picker.hardware.model import HardwareSnapshot
from picker.speed.gpu_table import lookup_gpu

# US average residential electricity price, 2024: about 16-17 cents/kWh (U.S. EIA,
# Electric Power Monthly, table 5.6.A). Override with --electricity-price.
DEFAULT_USD_PER_KWH = 0.17
PROMPT_SHARE = 0.5

# Board power (W) of common GPUs: vendors' total graphics / board power specifications.
_BOARD_POWER_WATTS: dict[str, float] = {
    "GeForce RTX 5090": 575, "GeForce RTX 5080": 360, "GeForce RTX 4090": 450,
    "GeForce RTX 4080": 320, "GeForce RTX 4070 Ti": 285, "GeForce RTX 4070": 200,
    "GeForce RTX 4060 Ti": 160, "GeForce RTX 4060": 115, "GeForce RTX 3090": 350,
    "GeForce RTX 3090 Ti": 450, "GeForce RTX 3080": 320, "GeForce RTX 3060": 170,
    "H100 SXM": 700, "H100 PCIe": 350, "H200": 700, "A100 80GB SXM": 400,
    "A100 80GB PCIe": 300, "A100 40GB": 250, "L40S": 350, "L4": 72, "T4": 70,
    "RTX A6000": 300, "RTX 6000 Ada Generation": 300, "Radeon RX 7900 XTX": 355,
    "Radeon RX 7900 XT": 315, "Instinct MI300X": 750, "Arc A770": 225, "Arc B580": 190,
}
_BOARD_POWER_SOURCE = "vendor board-power specification (NVIDIA/AMD/Intel product pages)"
# Apple Silicon package power under GPU load (Apple's Mac power-consumption pages list
# 30-60 W maximum for M-series Mac minis / MacBook Pros; Max/Ultra higher).
_APPLE_WATTS = 60.0
# A desktop CPU running all cores (the common 65-125 W TDP classes): assumed.
_CPU_WATTS = 65.0
_ASSUMED_GPU_WATTS = 250.0
_IDLE_GPU_WATTS = 30.0


class PowerDraw(NamedTuple):
    watts: float
    source: str


def power_draw(snapshot: HardwareSnapshot, placement: str) -> PowerDraw:
    """Watts while generating, and where the figure comes from."""
    usable = [gpu for gpu in snapshot.gpus if gpu.memory_kind != "shared"]
    if placement == "cpu" or not usable:
        return PowerDraw(_CPU_WATTS, "assumed 65 W: a desktop CPU under load (common TDP class)")
    watts: list[float] = []
    sources = []
    for gpu in usable:
        if gpu.power_limit_watts:
            watts.append(gpu.power_limit_watts)
            sources.append(f"{gpu.name}: NVML power limit {gpu.power_limit_watts:.0f} W (upper bound)")
            continue
        spec = lookup_gpu(gpu.name)
        if spec is not None and spec.vendor == "apple":
            watts.append(_APPLE_WATTS)
            sources.append(f"{spec.name}: ~{_APPLE_WATTS:.0f} W package power under GPU load (apple.com)")
        elif spec is not None and spec.name in _BOARD_POWER_WATTS:
            watts.append(_BOARD_POWER_WATTS[spec.name])
            sources.append(f"{spec.name}: {watts[-1]:.0f} W board power ({_BOARD_POWER_SOURCE})")
        else:
            watts.append(_ASSUMED_GPU_WATTS)
            sources.append(f"{gpu.name or 'GPU'}: assumed {_ASSUMED_GPU_WATTS:.0f} W")
    # Layers split across cards run one card at a time: the busiest card at full power,
    # the others near idle.
    total = max(watts) + _IDLE_GPU_WATTS * (len(watts) - 1)
    if len(watts) > 1:
        sources.append(f"cards take turns: one at full power, the others ~{_IDLE_GPU_WATTS:.0f} W "
                       "(assumed idle draw)")
    if placement == "partial":
        total += _CPU_WATTS
        sources.append("CPU: assumed 65 W")
    return PowerDraw(total, "; ".join(sources))


def monthly_cost(tokens_per_month: int, generation_tps: float, prompt_tps: float | None,
                 power: PowerDraw, usd_per_kwh: float,
                 closed: tuple[ClosedModel, ...]) -> dict[str, Any]:
    """The cost document for one recommendation."""
    prompt_tokens = tokens_per_month * PROMPT_SHARE
    generated = tokens_per_month - prompt_tokens
    seconds = generated / generation_tps + (prompt_tokens / prompt_tps if prompt_tps else 0.0)
    kwh = power.watts * seconds / 3600 / 1000
    api = [
        {"model_id": model.id, "name": model.name,
         "usd_per_month": round(prompt_tokens / 1e6 * model.input_usd_per_mtok
                                + generated / 1e6 * model.output_usd_per_mtok, 2),
         "price_source": model.price_source}
        for model in closed if model.input_usd_per_mtok or model.output_usd_per_mtok
    ]
    return {
        "tokens_per_month": tokens_per_month,
        "hours_per_month": round(seconds / 3600, 1),
        "energy_kwh": round(kwh, 1),
        "local_usd_per_month": round(kwh * usd_per_kwh, 2),
        "usd_per_kwh": usd_per_kwh,
        "power_watts": power.watts,
        "power_source": power.source,
        "closed_api": api,
        "assumptions": (f"{int(PROMPT_SHARE * 100)} % prompt / {100 - int(PROMPT_SHARE * 100)} % "
                        "generated tokens; electricity only (no hardware, no idle power); "
                        f"{seconds / 3600 / 730 * 100:.0f} % of the month busy"),
    }

"""Monthly cost of N tokens: running locally (electricity plus the GPUs' purchase spread over
AMORTISED_MONTHS), renting the same GPUs by the hour, and closed models' API list prices,
side by side, with the source document's claim beside them.

Local: the time the tokens take (half of them read as prompt at the prompt speed, half
generated at the generation speed) x the power drawn while running x the electricity
price. Power: the GPU's power limit from NVML when the probe read one (an upper
bound: generation is memory-bound and rarely draws the full limit), else a board
power figure for the device with its source, else an assumed figure, labelled. With
several cards, layers run one card at a time, so one card counts at full power and the
others at an assumed idle draw.
Idle power is not counted. Hardware: the cards' purchase price where a dated source gives
one (`gpu_prices`), spread over AMORTISED_MONTHS with no resale value; the CPU, RAM and the
rest of the machine are not counted. Rental: the same GPUs at a cited per-hour price, for
the busy hours only (a serverless-like best case) and always on (730 hours, what holding
an instance costs). API: the same split of input and output tokens at each closed model's
list price from the catalog, with its source and the date it was read. The source
document's example (10M tokens a month: 2x A100 spot ~$400-600, GPT-4o $2,000-4,000) is
recomputed from the same cited prices and the difference said.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from picker.catalog.types import ClosedModel, Source
from picker.hardware.model import HardwareSnapshot
from picker.rank.gpu_prices import RENTAL, SEED_RENTAL_GPU, canonical, purchase_for, rental_for
from picker.speed.gpu_table import lookup_gpu

# US average residential electricity price, 2024: about 16-17 cents/kWh (U.S. EIA,
# Electric Power Monthly, table 5.6.A). Override with --electricity-price.
DEFAULT_USD_PER_KWH = 0.17
PROMPT_SHARE = 0.5
AMORTISED_MONTHS = 36  # a GPU bought for this, written off over three years
HOURS_PER_MONTH = 730
# The source document (shared/seed): "At 10M tokens/month, self-hosting Llama 3.3 70B on a 2x
# A100 spot instance costs ~$400-600/month. The equivalent GPT-4o usage costs $2,000-4,000/month."
class _SeedClaim(NamedTuple):
    tokens_per_month: int = 10_000_000
    gpus: int = 2
    local_usd_per_month: tuple[float, float] = (400.0, 600.0)
    api_model_id: str = "gpt-4o"
    api_usd_per_month: tuple[float, float] = (2000.0, 4000.0)


SEED_CLAIM = _SeedClaim()

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


def _hardware(gpu_names: tuple[str, ...]) -> dict[str, object] | None:
    """The cards' purchase spread over AMORTISED_MONTHS; None when a card has no cited price."""
    if not gpu_names:
        return None
    rows: dict[str, dict[str, Any]] = {}
    for name in gpu_names:
        price = purchase_for(name)
        if price is None:
            return {"usd_per_month": None, "note": f"no cited purchase price for {name}: "
                    "hardware not counted"}
        key = canonical(name) or name
        row = rows.setdefault(key, {"gpu": key, "count": 0, "usd_each": price.usd,
                                    "source": price.url, "read": price.read, "what": price.what})
        row["count"] += 1
    total = sum(row["usd_each"] * row["count"] for row in rows.values())
    return {"gpus": list(rows.values()), "usd_total": total, "amortised_months": AMORTISED_MONTHS,
            "usd_per_month": round(total / AMORTISED_MONTHS, 2)}


def _rental(gpu_names: tuple[str, ...], busy_hours: float) -> dict[str, object] | None:
    """Renting the same GPUs: the spot rate (else on-demand) for the busy hours and always on."""
    if not gpu_names:
        return None
    found = {name: rental_for(name) for name in gpu_names}
    prices = [price for price in found.values() if price is not None]
    if len(prices) < len(found):
        missing = sorted(name for name, price in found.items() if price is None)
        return {"note": f"no cited rental price for {', '.join(missing)}"}
    prices = [rental_for(name) or prices[0] for name in gpu_names]  # one per card
    rates = [price.spot_usd_per_hour or price.on_demand_usd_per_hour or 0.0 for price in prices]
    on_demand = [price.on_demand_usd_per_hour for price in prices]
    first = prices[0]
    return {"gpus": [canonical(name) or name for name in gpu_names],
            "usd_per_hour": round(sum(rates), 4),
            "tier": "spot" if first.spot_usd_per_hour else "on-demand",
            "on_demand_usd_per_hour": (round(sum(rate or 0.0 for rate in on_demand), 4)
                                       if all(on_demand) else None),
            "busy_hours_usd_per_month": round(sum(rates) * busy_hours, 2),
            "always_on_usd_per_month": round(sum(rates) * HOURS_PER_MONTH, 2),
            "source": first.url, "read": first.read, "what": first.what}


def _api_rows(tokens_per_month: int, closed: tuple[ClosedModel, ...],
              sources: dict[str, Source]) -> list[dict[str, object]]:
    prompt_tokens = tokens_per_month * PROMPT_SHARE
    generated = tokens_per_month - prompt_tokens
    rows = []
    for model in closed:
        if not (model.input_usd_per_mtok or model.output_usd_per_mtok):
            continue
        source = sources.get(model.price_source)
        rows.append({"model_id": model.id, "name": model.name,
                     "usd_per_month": round(prompt_tokens / 1e6 * model.input_usd_per_mtok
                                            + generated / 1e6 * model.output_usd_per_mtok, 2),
                     "input_usd_per_mtok": model.input_usd_per_mtok,
                     "output_usd_per_mtok": model.output_usd_per_mtok,
                     "price_source": model.price_source,
                     "price_source_title": source.title if source else None,
                     "price_source_url": source.url if source else None,
                     "seed_row": model.notes.startswith("Seed row")})
    return rows


def seed_comparison(closed: tuple[ClosedModel, ...]) -> dict[str, object]:
    """The source document's cost claim next to the same case from the cited prices."""
    tokens = SEED_CLAIM.tokens_per_month
    rental = RENTAL[SEED_RENTAL_GPU]
    rate = rental.spot_usd_per_hour or 0.0
    local = round(SEED_CLAIM.gpus * rate * HOURS_PER_MONTH, 2)
    low, high = SEED_CLAIM.local_usd_per_month
    api_model = next((m for m in closed if m.id == SEED_CLAIM.api_model_id), None)
    api = None
    if api_model is not None:
        half = tokens * PROMPT_SHARE / 1e6
        api = round(half * api_model.input_usd_per_mtok + half * api_model.output_usd_per_mtok, 2)
    api_low, api_high = SEED_CLAIM.api_usd_per_month
    differs = [f"2x A100 80GB spot always on: ${local:,.0f}/month at ${rate:g}/GPU-hour "
               f"({rental.what}, {rental.read}) vs the claim's ${low:,.0f}-{high:,.0f}"
               + ("" if low <= local <= high else f" ({local / high:.1f}x its top)"
                  if local > high else f" ({low / local:.1f}x below its bottom)")]
    if api is not None:
        differs.append(f"GPT-4o at its list price: ${api:,.2f}/month for {tokens:,} tokens "
                       f"(half prompt) vs the claim's ${api_low:,.0f}-{api_high:,.0f}"
                       + ("" if api_low <= api <= api_high
                          else f" ({api_low / api:.0f}x below its bottom)" if api < api_low
                          else f" ({api / api_high:.1f}x its top)"))
    return {"claim": "At 10M tokens/month, self-hosting Llama 3.3 70B on a 2x A100 spot instance "
                     "costs ~$400-600/month; the equivalent GPT-4o usage costs $2,000-4,000/month "
                     "(source document)",
            "recomputed": {"rental_usd_per_month": local, "api_usd_per_month": api,
                           "rental_source": rental.url, "rental_read": rental.read},
            "differs": "; ".join(differs)}


def monthly_cost(tokens_per_month: int, generation_tps: float, prompt_tps: float | None,
                 power: PowerDraw, usd_per_kwh: float,
                 closed: tuple[ClosedModel, ...], gpu_names: tuple[str, ...] = (),
                 sources: dict[str, Source] | None = None) -> dict[str, object]:
    """The cost document for one recommendation; `gpu_names` are the GPUs its plan uses."""
    prompt_tokens = tokens_per_month * PROMPT_SHARE
    generated = tokens_per_month - prompt_tokens
    seconds = generated / generation_tps + (prompt_tokens / prompt_tps if prompt_tps else 0.0)
    kwh = power.watts * seconds / 3600 / 1000
    electricity = round(kwh * usd_per_kwh, 2)
    hardware = _hardware(gpu_names)
    per_month = hardware.get("usd_per_month") if hardware else None
    amortised = per_month if isinstance(per_month, int | float) else None
    busy_share = seconds / 3600 / HOURS_PER_MONTH
    return {
        "tokens_per_month": tokens_per_month,
        "hours_per_month": round(seconds / 3600, 1),
        "energy_kwh": round(kwh, 1),
        "electricity_usd_per_month": electricity,
        "hardware": hardware,
        "local_usd_per_month": round(electricity + (amortised or 0.0), 2),
        "usd_per_kwh": usd_per_kwh,
        "power_watts": power.watts,
        "power_source": power.source,
        "rental": _rental(gpu_names, seconds / 3600),
        "closed_api": _api_rows(tokens_per_month, closed, sources or {}),
        "seed_claim": seed_comparison(closed),
        "assumptions": (f"{int(PROMPT_SHARE * 100)} % prompt / {100 - int(PROMPT_SHARE * 100)} % "
                        "generated tokens, one request at a time; local = electricity while busy"
                        + (f" + the GPUs' purchase over {AMORTISED_MONTHS} months" if amortised
                           else " (no cited GPU purchase price: hardware not counted)")
                        + f"; no idle power; {busy_share * 100:.0f} % of the month busy"
                        + (" (more than the month: one machine cannot serve it)"
                           if busy_share > 1 else "")),
    }


def cost_words(cost: dict[str, Any]) -> str:
    """One line for people: local, rental and API per month, cheapest API first."""
    parts = [f"~${cost['local_usd_per_month']:,.2f}/month locally (electricity "
             f"${cost['electricity_usd_per_month']:,.2f}"]
    hardware = cost.get("hardware") or {}
    if hardware.get("usd_per_month") is not None:
        parts[0] += (f" + GPUs ${hardware['usd_per_month']:,.2f} = ${hardware['usd_total']:,.0f} "
                     f"over {hardware['amortised_months']} months")
    parts[0] += ")"
    rental = cost.get("rental") or {}
    if rental.get("usd_per_hour") is not None:
        parts.append(f"renting the same GPUs ${rental['busy_hours_usd_per_month']:,.2f} busy hours only, "
                     f"${rental['always_on_usd_per_month']:,.0f} always on "
                     f"(${rental['usd_per_hour']:g}/hour {rental['tier']}, read {rental['read']})")
    api = sorted(cost["closed_api"], key=lambda row: row["usd_per_month"])
    if api:
        parts.append("APIs " + ", ".join(f"{row['name']} ${row['usd_per_month']:,.2f}"
                                          + (" (seed row)" if row["seed_row"] else "")
                                          for row in api))
    return "; ".join(parts)

"""What the GPUs cost: rental per GPU-hour and purchase, each with where and when it was read.

Prices move; every row names its page and the date the page gives for its figures. Rows
are keyed by the GPU table's canonical names (`picker.speed.gpu_table.lookup_gpu`).
A GPU without a row gets no rental or purchase figure (said, never guessed).
"""

from __future__ import annotations

from typing import NamedTuple

from picker.speed.gpu_table import lookup_gpu

_RUNPOD = ("https://deploybase.ai/articles/runpod-gpu-pricing",
           "2026-03-10", "RunPod's rates as tabled by Deploybase (typical March 2026 rates)")
_GPU_INDEX = ("https://gpumarkets.dev/series/a100-sxm-spot/2026-04-18", "2026-04-18",
              "GPU Markets daily fixing of A100 SXM spot rates across 11 venues")
_USED_3090 = ("https://bestllmfor.com/best/dual-rtx-3090-budget-rig/", "2026-05-16",
              "used RTX 3090s from Reddit hardware swap and eBay sold listings, ~$750 each")
_5090_MSRP = ("https://craftrigs.pages.dev/guides/3000-dual-gpu-llm-rig", "2026",
              "RTX 5090 at its $1,999 MSRP (page undated, 2026)")
_4090_NEW = ("https://local-llm.net/blog/rtx-3090-best-value-2026", "2026",
             "RTX 4090 test card bought new for $1,700 (page undated, 2026)")


class Rental(NamedTuple):
    spot_usd_per_hour: float | None
    on_demand_usd_per_hour: float | None
    url: str
    read: str  # the date the page gives for its figures
    what: str


class Purchase(NamedTuple):
    usd: float
    url: str
    read: str
    what: str


RENTAL: dict[str, Rental] = {
    "GeForce RTX 3090": Rental(0.22, 0.39, *_RUNPOD),
    "GeForce RTX 4090": Rental(0.34, 0.60, *_RUNPOD),
    "GeForce RTX 5090": Rental(0.69, 1.22, *_RUNPOD),
    "L40S": Rental(0.79, 1.40, *_RUNPOD),
    "A100 80GB PCIe": Rental(1.19, 2.10, *_RUNPOD),
    "A100 80GB SXM": Rental(1.1284, None, *_GPU_INDEX),
    "H100 PCIe": Rental(1.99, 3.51, *_RUNPOD),
    "H100 SXM": Rental(2.69, 4.76, *_RUNPOD),
    "H200": Rental(3.59, 6.35, *_RUNPOD),
}
PURCHASE: dict[str, Purchase] = {
    "GeForce RTX 3090": Purchase(750.0, *_USED_3090),
    "GeForce RTX 4090": Purchase(1700.0, *_4090_NEW),
    "GeForce RTX 5090": Purchase(1999.0, *_5090_MSRP),
}
# The source document's example: 2x A100 (SXM, 80 GB) spot for Llama 3.3 70B.
SEED_RENTAL_GPU = "A100 80GB SXM"


def canonical(name: str | None) -> str | None:
    spec = lookup_gpu(name)
    return spec.name if spec else None


def rental_for(name: str | None) -> Rental | None:
    key = canonical(name)
    return RENTAL.get(key) if key else None


def purchase_for(name: str | None) -> Purchase | None:
    key = canonical(name)
    return PURCHASE.get(key) if key else None

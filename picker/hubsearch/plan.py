"""Each quantization of a searched repository planned on one machine (this one or a what-if).

The quantization whose header was read is planned exactly (weights per layer from its
tensor infos); the others of the same repository share its architecture and are planned
with its weights scaled to their file size, marked as such. A repository is also matched
to the catalog (its GGUF repo, or the base model it quantizes): scores come from there
or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from picker.catalog.types import Catalog, Model
from picker.errors import PickerError

if TYPE_CHECKING:
    from picker.hardware.model import HardwareSnapshot
    from picker.memory.machine import Machine
    from picker.memory.shape import ModelShape
    from picker.speed.cpu_bandwidth import CpuBandwidth


def _items(value: object) -> list[object]:
    """A list in a fetched document, or nothing (its shape was checked when it was kept)."""
    return value if isinstance(value, list) else []


def catalog_match(repo: dict[str, object], catalog: Catalog) -> tuple[Model | None, str]:
    """The catalog model this repository is a GGUF of, and how that is known."""
    repo_id = str(repo.get("repo_id", "")).lower()
    bases = {str(base).lower() for base in _items(repo.get("base_models"))}
    for model in catalog.models:
        if model.gguf is not None and model.gguf.repo.lower() == repo_id:
            return model, "the catalog's own GGUF source of it"
    for model in catalog.models:
        if model.hf_repo and model.hf_repo.lower() in bases:
            return model, f"quantizes {model.hf_repo} (its base_model tag)"
    return None, ""


def _score_summary(model: Model | None, how: str) -> dict[str, object]:
    if model is None:
        return {"catalog_model": None, "scores": None,
                "scores_note": "not in the catalog: no benchmark scores (picker shows none rather "
                               "than guess)"}
    names = sorted({score.benchmark for score in model.benchmarks})
    scores = (f"cited scores on {', '.join(names)} (`picker catalog show {model.id}`)" if names
              else "no benchmark scores listed yet")
    return {"catalog_model": model.id, "scores": names or None,
            "scores_note": f"catalog model {model.id} ({how}): {scores}"}


def plan_quant(shape: ModelShape, quant: str, snapshot: HardwareSnapshot, machine: Machine,
               n_ctx: int | None, bandwidth: CpuBandwidth) -> dict[str, object]:
    """Placement, context and speed of one quantization (its shape given) on `machine`."""
    from picker.llama_settings import LlamaSettings
    from picker.memory.solver import fit
    from picker.rank.usecases import planned_context
    from picker.speed.plan_speed import plan_speed

    context = planned_context(shape.n_ctx_train) if n_ctx is None else n_ctx
    result = fit(shape, LlamaSettings(n_ctx=context, n_gpu_layers=None), machine)  # auto, as recommend
    plan = result.plan
    row: dict[str, Any] = {
        "placement": plan.placement, "fits": plan.fits, "n_gpu_layers": plan.gpu_layers,
        "context": plan.effective.n_ctx, "max_context": result.max_context,
        "memory_bytes": plan.total_bytes, "shortfall_bytes": plan.shortfall_bytes,
        "tokens_per_second": None,
    }
    if plan.fits:
        speed = plan_speed(snapshot, shape, plan, quant, bandwidth)
        row["tokens_per_second"] = speed.to_dict()
    return row


def plan_repo(repo: dict[str, object], snapshot: HardwareSnapshot, machine: Machine,
              n_ctx: int | None, bandwidth: CpuBandwidth, catalog: Catalog) -> dict[str, object]:
    """`repo` (a fetched document) with `plans`, one per quantization, and its catalog match."""
    from picker.hubsearch.shapes import scaled_shape, shape_from_json

    model, how = catalog_match(repo, catalog)
    plans: list[dict[str, object]] = []
    planned = {**repo, **_score_summary(model, how), "catalog_match": how or None, "plans": plans}
    headers = {h.get("quant"): h for h in _items(repo.get("headers")) if isinstance(h, dict)}
    shapes = {quant: shape for quant, h in headers.items()
              if (shape := shape_from_json(h.get("shape"))) is not None}
    if not shapes:
        if headers and not planned.get("problem"):
            planned["problem"] = "its GGUF header describes no model picker can plan (no layers)"
        return planned
    reference_quant, reference = next(iter(shapes.items()))
    for quant in _items(repo.get("quantizations")):
        if not isinstance(quant, dict):
            continue
        name, size = quant.get("quant"), quant.get("size_bytes")
        if not isinstance(name, str) or type(size) is not int or size <= 0:
            continue
        exact = shapes.get(name)
        shape = exact if exact is not None else scaled_shape(reference, size, str(reference_quant))
        basis = ("header" if exact is not None
                 else f"scaled from the {reference_quant} header by file size")
        try:
            row = plan_quant(shape, name, snapshot, machine, n_ctx, bandwidth)
        except (PickerError, ArithmeticError, ValueError, IndexError) as error:
            # A header someone published can hold shapes no real model has: say so, go on.
            planned["problem"] = f"{name}: cannot plan from its header ({type(error).__name__})"
            continue
        plans.append({"quant": name, "size_bytes": size, "basis": basis, **row})
    return planned


def plan_results(repos: Sequence[dict[str, object]], snapshot: HardwareSnapshot, n_ctx: int | None,
                 catalog: Catalog) -> list[dict[str, object]]:
    from picker.memory.machine import machine_from_snapshot
    from picker.speed.cpu_bandwidth import cpu_bandwidth

    machine = machine_from_snapshot(snapshot)
    bandwidth = cpu_bandwidth()
    return [plan_repo(repo, snapshot, machine, n_ctx, bandwidth, catalog) for repo in repos]

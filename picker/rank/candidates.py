"""Which quantizations of a model fit this machine at the target context, and their plans.

The fit engine (`picker.memory`) decides fits: each candidate is planned with
n_gpu_layers chosen by the solver, against free memory. Candidates come largest
first; the ranking stops asking for smaller ones once even a perfect speed, fit and
context could not lift their quality-reduced score to the best one already found.
"""

from collections.abc import Callable, Iterator

from picker.catalog.hooks import shape_from_catalog
from picker.catalog.types import Model, Quantization
from picker.hardware.model import HardwareSnapshot
from picker.llama_settings import LlamaSettings
from picker.memory.machine import Machine
from picker.memory.placement import CPU
from picker.memory.plan import MemoryPlan, plan_memory
from picker.memory.shape import ModelShape
from picker.memory.solver import choose_gpu_layers
from picker.namedrecord import NamedRecord
from picker.rank.score import COMFORTABLE_HEADROOM
from picker.speed.estimate import DeviceLoad

PLACEMENT_RANK = {"gpu": 2, "partial": 1, "cpu": 0}


class Candidate(NamedRecord):
    quant: Quantization
    shape: ModelShape
    plan: MemoryPlan
    context: int


def shape_for(model: Model, quant: Quantization) -> ModelShape:
    """The fit engine's shape from the catalog's facts, up to the documented (RoPE-scaled)
    maximum context, which the ranking offers."""
    facts = model.architecture
    shape: ModelShape = shape_from_catalog(
        model, quant, n_ctx_train=facts.trained_context)
    return shape


def _plan(shape: ModelShape, quant: Quantization, context: int, machine: Machine,
          gpu_layers: int | None) -> Candidate:
    """Plan one quant: `gpu_layers` None lets the solver search, a number plans exactly that."""
    settings = LlamaSettings(n_ctx=context, n_gpu_layers=gpu_layers)
    plan = choose_gpu_layers(shape, settings, machine) if gpu_layers is None else \
        plan_memory(shape, settings, machine)
    return Candidate(quant, shape, plan, context)


def _less_free(machine: Machine, spare: float) -> Machine:
    gpus = tuple(gpu._replace(free_bytes=None if gpu.free_bytes is None
                              else int(gpu.free_bytes * (1 - spare))) for gpu in machine.gpus)
    return machine._replace(gpus=gpus)


def _plan_experts_on_cpu(shape: ModelShape, quant: Quantization, context: int,
                         machine: Machine) -> list[Candidate]:
    """A mixture of experts that the GPUs cannot hold whole: every layer on the GPUs but the
    routed experts of the fewest blocks that make the rest fit (`--n-cpu-moe auto`'s solver,
    which drops layers as usual when even every block's experts do not free enough), and
    the fewest that leave the score's comfortable headroom on each GPU (one block more
    costs a little speed, and buys the fit and context terms). Several GPUs get their
    blocks re-split. Only plans that fit and move experts."""
    # Imported here: only machines with discrete GPUs plan experts on the CPU.
    from picker.memory.expert_split import choose_cpu_moe_resplit, pinned_split, plan_shares

    settings = LlamaSettings(n_ctx=context, n_gpu_layers=None, n_cpu_moe=None)
    found: list[Candidate] = []
    guesses: list[int] = []  # the last split, where the next search starts
    needed = 0  # the tighter search's count: the roomier one needs at least as many
    for spare in (0.0, COMFORTABLE_HEADROOM):
        budget = _less_free(machine, spare)
        plan = choose_cpu_moe_resplit(shape, settings, budget, guesses, needed)
        needed = plan.settings.n_cpu_moe or 0
        if spare:  # the same placement against the real free memory
            plan = plan_memory(shape, plan.settings, pinned_split(machine, plan))
        if plan.fits and plan.settings.n_cpu_moe and all(
                (plan.settings, plan_shares(plan)) != (other.plan.settings,
                                                       plan_shares(other.plan))
                for other in found):
            found.append(Candidate(quant, shape, plan, context))
    return found


def whole_on_gpus(model: Model, quant: Quantization, context: int,
                  machine: Machine) -> Candidate | None:
    """The quant with every layer on the GPUs (llama.cpp's split by free memory), where that
    fits; None otherwise."""
    if not machine.gpus:
        return None
    shape = shape_for(model, quant)
    candidate = _plan(shape, quant, context, machine, shape.n_layer + 1)
    return candidate if candidate.plan.fits and candidate.plan.placement == "gpu" else None


def experts_on_cpu(plan: MemoryPlan) -> int:
    """Blocks whose routed experts the plan keeps on the CPU (llama.cpp's --n-cpu-moe)."""
    return plan.settings.n_cpu_moe or 0


def on_gpu_order(plan: MemoryPlan) -> tuple[int, int, int]:
    """How much of the model a plan keeps on the GPUs, to compare placements: the placement
    (gpu > partial > cpu), then the layers on the GPUs, then the fewer blocks whose experts
    stay on the CPU (all layers on the GPUs but some experts is short of entirely there)."""
    return PLACEMENT_RANK[plan.placement], plan.gpu_layers, -experts_on_cpu(plan)


def placement_label(plan: MemoryPlan) -> str:
    """The placement for the table and --json: gpu, partial or cpu, and the experts on the CPU."""
    moved = experts_on_cpu(plan)
    return plan.placement + (f" + experts of {moved} layers on CPU" if moved else "")


def read_bytes_lower_bound(model: Model, quant: Quantization) -> float:
    """The fewest bytes a token can read: the file less its token embeddings (unless tied,
    when the output matmul reads them), active experts only. Needs no plan."""
    facts = model.architecture
    params = model.parameters or 1
    embedding_share = facts.vocab_size * facts.hidden_size / params
    embedding = 0.0 if facts.tied_embeddings else quant.size_bytes * embedding_share
    return (quant.size_bytes - embedding) * (model.active_parameters / params)


def iter_candidates(model: Model, context: int, machine: Machine,
                    max_download_bytes: int | None = None,
                    max_read_bytes: float | None = None,
                    skip_settled: Callable[[Quantization], bool] | None = None,
                    cpu_bound: Callable[[Quantization, ModelShape], float | None] | None = None,
                    ) -> Iterator[Candidate]:
    """The quants of `model` that fit, each with its plan: largest first, or, on a machine
    without GPUs when `cpu_bound` is given, in order of that bound (highest first).

    Skipped without planning: downloads over the limit, files larger than all free
    memory, and quants that would read more than `max_read_bytes` per token (they cannot
    reach the minimum speed even on the fastest device). Once one quant fits entirely on
    the GPU(s), every smaller one does too, so those are planned once at that placement
    instead of searched, and `skip_settled` may rule one out before it is planned. Until
    then a mixture of experts is also planned with all layers on the GPUs and the experts of
    the fewest blocks on the CPU (`--n-cpu-moe`), yielded right after the same quant's
    layer split (or alone where that does not fit): the ranking keeps the better of the two. On a
    machine without GPUs everything runs on the CPU, so `cpu_bound` can judge each quant
    from its shape alone (None: skip it).
    """
    quants = sorted((q for q in model.quantizations if q.size_bytes > 0
                     and (max_download_bytes is None or q.size_bytes <= max_download_bytes)
                     and (max_read_bytes is None or read_bytes_lower_bound(model, q) <= max_read_bytes)),
                    key=lambda q: q.size_bytes, reverse=True)
    total_free = (machine.cpu_free_bytes or 0) + sum(
        gpu.free_bytes or 0 for gpu in machine.gpus if not gpu.unified)
    quants = [quant for quant in quants if quant.size_bytes < total_free]
    if not machine.gpus and cpu_bound is not None:
        bounded = []
        for quant in quants:
            shape = shape_for(model, quant)
            bound = cpu_bound(quant, shape)
            if bound is not None:
                bounded.append((bound, quant, shape))
        bounded.sort(key=lambda item: item[0], reverse=True)
        for _, quant, shape in bounded:
            candidate = _plan(shape, quant, context, machine, 0)
            if candidate.plan.fits:
                yield candidate
        return
    settled: int | None = None  # n_gpu_layers every smaller quant gets
    # On unified memory the experts would stay in the same memory, read by the slower CPU.
    discrete = not any(gpu.unified for gpu in machine.gpus)
    for quant in quants:
        if settled is not None and skip_settled is not None and skip_settled(quant):
            continue
        shape = shape_for(model, quant)
        candidate = _plan(shape, quant, context, machine, settled)
        if candidate.plan.fits and settled is None and candidate.plan.placement == "gpu":
            settled = candidate.plan.gpu_layers
        if candidate.plan.fits:
            yield candidate
        if settled is None and shape.n_expert and discrete:  # right after it: the same quant
            yield from _plan_experts_on_cpu(shape, quant, context, machine)


def cpu_only_load(shape: ModelShape, active_fraction: float, kv_bytes_per_token: float) -> DeviceLoad:
    """What a token reads when everything is on the CPU (no plan needed): the layers (active
    experts only), the output matrix (the embeddings when tied), and the KV cache."""
    read = sum(shape.layer_weight_bytes) * active_fraction + shape.output_weight_bytes
    if shape.tied_embeddings:
        read += shape.input_weight_bytes
    return DeviceLoad("cpu", int(read), kv_bytes_per_token)


def kv_bytes_per_token(shape: ModelShape) -> float:
    """The f16 KV cache bytes of one token over all layers (the same for every quant)."""
    return float(sum(size for size, _ in shape.kv_bytes_per_cell("f16", "f16", True)))


def device_loads(candidate: Candidate, active_fraction: float,
                 device_ids: dict[str, str]) -> list[DeviceLoad]:
    """Bytes read per generated token on each device, from the candidate's plan."""
    return plan_loads(candidate.shape, candidate.plan, active_fraction, device_ids)


def plan_loads(shape: ModelShape, plan: MemoryPlan, active_fraction: float,
               device_ids: dict[str, str]) -> list[DeviceLoad]:
    """Bytes read per generated token on each device, from a plan.

    Token embeddings stay on the CPU and only one row is read per token, unless the
    embeddings are tied and the output matrix is on the CPU too. Mixture-of-experts
    layers read only their active experts: layer bytes scale by active/total parameters.
    """
    loads = []
    for device in plan.devices:
        io_bytes = accounted = 0
        if device.device == plan.output_device:
            io_bytes = accounted = shape.output_weight_bytes
            if shape.tied_embeddings:
                io_bytes += shape.input_weight_bytes  # the output matmul reads the whole matrix
                if device.device != CPU:
                    accounted += shape.tied_copy_bytes
        if device.device == CPU:
            accounted += shape.input_weight_bytes
        layer_bytes = device.weights_bytes - accounted
        experts = dict(plan.expert_bytes_by_device).get(device.device)
        if experts is None:
            read = int(max(0, layer_bytes) * active_fraction) + io_bytes
        else:  # experts on the CPU: the rest of each block is read whole, the experts in part
            expert_read = experts * shape.n_expert_used // shape.n_expert
            read = max(0, layer_bytes - experts) + expert_read + io_bytes
        cells = max(1, plan.effective.n_ctx)
        loads.append(DeviceLoad(device_ids.get(device.device, device.device.lower()), read,
                                device.kv_cache_bytes / cells))
    return [load for load in loads if load.weight_bytes > 0 or load.kv_bytes_per_token > 0]


def plan_device_ids(snapshot: HardwareSnapshot) -> dict[str, str]:
    """The fit plan's device names (CPU, GPU0...) -> the speed estimate's (cpu, gpu<index>)."""
    ids = {CPU: "cpu"}
    usable = [gpu for gpu in snapshot.gpus if gpu.memory_kind != "shared"]
    for position, gpu in enumerate(usable):
        ids[f"GPU{position}"] = f"gpu{gpu.index}"
    return ids


def with_context(candidate: Candidate, machine: Machine) -> int:
    """The largest context that fits with the candidate's placement (the solver's answer)."""
    from picker.memory.solver import max_context

    return max_context(candidate.shape, candidate.plan.settings, machine)

"""The speed of exactly one memory plan, for `picker fit`: the loads the plan puts on each
device, the machine's bandwidths, and the estimate with its basis.

The ranking estimates from catalog facts; a GGUF header gives the same shape, and its
active share of the layer weights (mixture of experts) is worked out from the widths.
"""

from picker.hardware.model import HardwareSnapshot
from picker.memory.plan import MemoryPlan
from picker.memory.shape import ModelShape
from picker.speed.cpu_bandwidth import CpuBandwidth
from picker.speed.estimate import SpeedEstimate, estimate_speed, machine_bandwidths


def active_weight_fraction(shape: ModelShape) -> float:
    """Share of the layer weights a token reads: 1 for a dense model; for a mixture of experts
    attention, shared experts and the routed experts it uses, over all of them (parameter
    counts from the widths; every tensor taken at the same bits per weight)."""
    if not shape.n_expert or not shape.n_expert_used:
        return 1.0
    width = shape.n_embd
    attention = _attention_parameters(shape)
    shared = 3 * width * shape.n_ff_shared
    expert = 3 * width * _expert_width(shape)
    moe_layers = max(0, shape.n_layer - shape.n_layer_dense_lead)
    dense_ffn = 3 * width * max(shape.n_ff, default=0)
    read = (shape.n_layer * (attention + shared) + moe_layers * expert * shape.n_expert_used
            + shape.n_layer_dense_lead * dense_ffn)
    total = (shape.n_layer * (attention + shared) + moe_layers * expert * shape.n_expert
             + shape.n_layer_dense_lead * dense_ffn)
    return min(1.0, read / total) if total > 0 else 1.0


def expert_parameter_share(shape: ModelShape) -> float:
    """Share of a mixture-of-experts block's parameters in its routed experts (0 for a dense
    model), from the widths: what a header-less shape's experts weigh."""
    if not shape.n_expert:
        return 0.0
    attention = _attention_parameters(shape)
    experts = 3 * shape.n_embd * _expert_width(shape) * shape.n_expert
    rest = attention + 3 * shape.n_embd * shape.n_ff_shared
    return experts / (experts + rest) if experts + rest > 0 else 0.0


def plan_speed(snapshot: HardwareSnapshot, shape: ModelShape, plan: MemoryPlan, weight_type: str,
               cpu_measured: CpuBandwidth | None) -> SpeedEstimate:
    """Generation and prompt speed for this plan's placement and context."""
    from picker.rank.candidates import plan_device_ids, plan_loads

    fraction = active_weight_fraction(shape)
    loads = plan_loads(shape, plan, fraction, plan_device_ids(snapshot))
    bandwidths = machine_bandwidths(snapshot, cpu_measured)
    active = _active_parameters(shape)
    total = int(active / fraction) if fraction < 1.0 else None  # marks a mixture of experts
    return estimate_speed(loads, bandwidths, active, plan.effective.n_ctx, weight_type, total)


def _active_parameters(shape: ModelShape) -> int:
    """Parameters a prompt token multiplies by: the layers' active share plus the output
    matrix, from the widths (no header says the count)."""
    width = shape.n_embd
    attention = _attention_parameters(shape)
    if shape.n_expert:
        layer = attention + 3 * width * (shape.n_ff_shared + _expert_width(shape) * shape.n_expert_used)
    else:
        layer = attention + 3 * width * max(shape.n_ff, default=0)
    return int(shape.n_layer * layer + width * shape.n_vocab)


def _attention_parameters(shape: ModelShape) -> int:
    """Q, K, V and output projections of one layer (the widest layer's head counts)."""
    heads = max(shape.n_head, default=0)
    kv_heads = max(shape.n_head_kv, default=0)
    return shape.n_embd * (heads + kv_heads) * (shape.key_length + shape.value_length)


def _expert_width(shape: ModelShape) -> int:
    """One routed expert's FFN width: the header's expert width, else n_ff (which MoE GGUFs
    give per expert)."""
    return shape.n_ff_expert or max(shape.n_ff, default=0)

"""Pipeline parallelism: the compute-buffer cost of splitting a model over several devices.

(Where `ggml_graph` can build the model, each GPU's buffer comes from `split_replay`, which
places the copies themselves; this closed form sizes the host's, and the GPUs' otherwise.)

llama.cpp turns it on (llama_context: "pipeline parallelism enabled") when more than
one device holds the model, every layer is offloaded (n_gpu_layers > n_layer), the
split is by layer, the KV cache is offloaded and no tensor is overridden. The
scheduler then keeps GGML_SCHED_MAX_COPIES (4) copies of every tensor a device
receives from another one (its split inputs: the residual stream, positions, the
KV index and mask tensors of each cache its layers read, the output ids on the
last device) and of every graph input on the host, all flagged input and output so
the allocator never frees or reuses them (ggml-backend.cpp, ggml_backend_sched_split_graph).

Measured on llama.cpp's RPC devices (benchmarks/bench_rpc.py, Gemma 3 270M across two
servers): the last device's buffer grows by exactly 4 x its inputs; a device holding
only layers by 4 x its inputs less the one set of index and mask tensors already live
at its peak without the copies; the host's buffer becomes 4 x the graph inputs plus the
embeddings it looks up.
"""

from __future__ import annotations

from collections.abc import Sequence

from picker.memory.compute import AttentionCaches
from picker.memory.shape import ModelShape

SCHED_COPIES = 4  # GGML_SCHED_MAX_COPIES, ggml's default build
_FLOAT = 4
_INDEX = 8  # k_idxs / v_idxs are int64
_TOKEN = 4  # token ids, positions, output ids: int32
_HALF = 2


def pipeline_parallel(n_devices: int, n_gpu_layers: int, n_layer: int, offload_kqv: bool,
                      tensor_overrides: bool = False) -> bool:
    """Whether llama.cpp runs this split as a pipeline (llama_context's conditions; any tensor
    override, --n-cpu-moe's included, turns it off: `!model.has_tensor_overrides()`)."""
    return n_devices > 1 and n_gpu_layers > n_layer and offload_kqv and not tensor_overrides


def attention_input_bytes(shape: ModelShape, caches: AttentionCaches, flash_attn: bool,
                          n_ubatch: int, layers: Sequence[int]) -> int:
    """K/V index tensors and the KQ mask of each cache (full, sliding) these layers read."""
    kinds = {shape.is_swa(il) for il in layers if shape.n_head_kv[il] > 0}
    if not kinds:
        return 0
    if flash_attn or shape.is_mla:
        v_index = n_ubatch * _INDEX
    else:  # V is stored transposed: one index per token and V element
        widest_v = max(n_head_kv * value_length
                       for _, n_head_kv, _, value_length, _ in shape.attention_layers)
        v_index = n_ubatch * widest_v * _INDEX
    mask = _HALF if flash_attn else _FLOAT  # llama.cpp builds the mask in f16 for flash attention
    total = 0
    for sliding in kinds:
        cells = caches.swa_cells if sliding else caches.base_cells
        total += n_ubatch * _INDEX + v_index + cells * n_ubatch * mask
    return total


def host_graph_input_bytes(shape: ModelShape, caches: AttentionCaches, flash_attn: bool,
                           n_ubatch: int) -> int:
    """The graph's inputs, all set on the host (tokens, the embeddings input, positions, every
    cache's indices and masks, output ids): the scheduler keeps them for the whole graph."""
    residual = shape.n_embd * n_ubatch * _FLOAT
    return (n_ubatch * _TOKEN + residual + n_ubatch * _TOKEN + n_ubatch * _TOKEN
            + attention_input_bytes(shape, caches, flash_attn, n_ubatch, range(shape.n_layer)))


def pipeline_compute_bytes(compute_bytes: int, shape: ModelShape, caches: AttentionCaches,
                           flash_attn: bool, n_ubatch: int, layers: Sequence[int],
                           holds_output: bool, is_host: bool) -> int:
    """A device's compute buffer with the pipeline's copies, from the one without them."""
    attention = attention_input_bytes(shape, caches, flash_attn, n_ubatch, layers)
    residual = shape.n_embd * n_ubatch * _FLOAT
    positions = n_ubatch * _TOKEN
    if is_host:  # the graph inputs, copied, plus the looked-up rows
        return (SCHED_COPIES * host_graph_input_bytes(shape, caches, flash_attn, n_ubatch)
                + residual)
    inputs = residual + (positions + attention if layers else 0)
    if holds_output:
        return compute_bytes + SCHED_COPIES * (inputs + n_ubatch * _TOKEN)
    return compute_bytes + SCHED_COPIES * inputs - attention

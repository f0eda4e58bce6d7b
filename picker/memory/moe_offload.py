"""Mixture-of-experts weights kept in host memory (llama-server's `--n-cpu-moe N` / `--cpu-moe`).

llama.cpp's common/common.h names the routed-expert tensors with LLM_FFN_EXPS_REGEX,
`\\.ffn_(up|down|gate|gate_up)_(ch|)exps`, searched anywhere in a tensor's name (so a
layer's `.weight`, `.bias` and `.scale` all match); `--n-cpu-moe N` adds one buffer-type
override `blk\\.i\\.<that>` -> CPU for each i < N, and `--cpu-moe` the bare pattern (every
layer). Shared experts (`_shexp`) and dense FFNs do not match and stay with their layer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from picker.memory.shape import ModelShape, TensorLike

EXPERT_PATTERN = r"\.ffn_(up|down|gate|gate_up)_(ch|)exps"
BLOCK_PATTERN = r"blk\.(\d+)\."  # compiled where used (re keeps both), not at import
# ggml-cuda's offload_op: a weight in host memory is copied to the GPU for a matmul when the
# batch is at least this many tokens (GGML_OP_OFFLOAD_MIN_BATCH's default).
OFFLOAD_MIN_BATCH = 32


def block_pattern(layer: int) -> str:
    """The override llama.cpp adds for one layer under --n-cpu-moe (llm_ffn_exps_block_regex)."""
    return rf"blk\.{layer}{EXPERT_PATTERN}"


def moved_tensor_names(names: Iterable[str], n_cpu_moe: int) -> list[str]:
    """The tensors --n-cpu-moe N keeps on the CPU, by llama.cpp's own patterns (re.search,
    as std::regex_search)."""
    patterns = [re.compile(block_pattern(layer)) for layer in range(n_cpu_moe)]
    return [name for name in names if any(pattern.search(name) for pattern in patterns)]


def expert_bytes_by_layer(tensors: Sequence[TensorLike], n_layer: int) -> tuple[int, ...]:
    """Bytes of each block's routed-expert tensors, read from a GGUF's tensor infos."""
    layers = [0] * n_layer
    match_block, search_expert = re.compile(BLOCK_PATTERN).match, re.compile(EXPERT_PATTERN).search
    for tensor in tensors:
        block = match_block(tensor.name)
        if block is not None and int(block.group(1)) < n_layer and search_expert(tensor.name):
            layers[int(block.group(1))] += tensor.n_bytes
    return tuple(layers)


def layer_expert_bytes(shape: ModelShape) -> tuple[int, ...]:
    """Routed-expert bytes per block: the header's, else estimated from the widths (every
    tensor at the layer's average bits per weight)."""
    if shape.layer_expert_bytes:
        return shape.layer_expert_bytes
    if not shape.n_expert or not shape.layer_weight_bytes:
        return (0,) * shape.n_layer
    from picker.speed.plan_speed import expert_parameter_share

    share = expert_parameter_share(shape)
    return tuple(int(size * share) if il >= shape.n_layer_dense_lead else 0
                 for il, size in enumerate(shape.layer_weight_bytes))


def expert_split_bytes(shape: ModelShape, n_ubatch: int) -> int:
    """The CPU's compute buffer for the routed experts it runs (ggml's allocator, replayed
    by hand on the CPU split llama.cpp's scheduler cuts out of each block whose experts
    stay on the CPU: gate and up (or one fused gate_up), the activation, down; biases and
    scales are added in place).

    gate and up are each g = n_ff_expert x n_expert_used x n_ubatch floats; the activation
    (a GLU, never in place) takes g more at the end; gate and up are then freed, and down
    (d = n_embd x n_expert_used x n_ubatch floats) fits in their 2g hole when d <= 2g, else
    goes to the end. The split's inputs (the normed activations and the chosen experts'
    ids) land in the host buffer's holes. Above the graph's inputs, which stay on the host
    for the whole graph, llama.cpp's RPC devices logged 68.25 MiB for Qwen3-30B-A3B's widths
    (this gives 68) and 67.50 for gpt-oss-20b's (67.50), n_ubatch 512, flash attention off
    and on (benchmarks/cpu_moe_figures.md). The same for every block: each split frees what
    the previous one used."""
    used = max(shape.n_expert_used, 1)
    n_ff = shape.n_ff_expert or shape.max_ff  # Mixtral's GGUFs give the expert width as n_ff
    gate = n_ff * used * n_ubatch * 4
    down = shape.n_embd * used * n_ubatch * 4
    return 3 * gate + (down if down > 2 * gate else 0)


def resolve_n_cpu_moe(n_cpu_moe: int, n_layer: int) -> int:
    """-1 (--cpu-moe) means every layer; more layers than the model has are all of them."""
    return n_layer if n_cpu_moe < 0 else min(n_cpu_moe, n_layer)


def note(shape: ModelShape, n_cpu_moe: int, moved_bytes: int, copy_bytes: int) -> str:
    """What the plan assumed about experts on the CPU, for the plan's notes."""
    if not moved_bytes:
        return (f"experts on the CPU: --n-cpu-moe {n_cpu_moe} moves nothing here, the first "
                f"{n_cpu_moe} layers are on the CPU already")
    source = "from the header" if shape.layer_expert_bytes else "estimated from the widths"
    copy = (f"; the GPU's compute buffer holds a copy of one layer's experts "
            f"({copy_bytes / 2**20:,.0f} MiB, ggml-cuda copies host weights for batches of "
            f"{OFFLOAD_MIN_BATCH}+ tokens), an estimate llama.cpp's dry run could not check here"
            if copy_bytes else "")
    return (f"experts on the CPU: the ffn_*_exps tensors of the first {n_cpu_moe} layers "
            f"({moved_bytes / 2**30:,.2f} GiB, {source}) stay in host memory, as llama-server's "
            f"--n-cpu-moe {n_cpu_moe} places them{copy}; {REPACK_NOTE}")


# cpu_repack.py has the rules; which buffer the experts land in depends on the GPU backend
# (llama-model.cpp's make_cpu_buft_list puts a GPU's host buffer before the CPU's extra ones)
REPACK_NOTE = ("where the GPU backend has no host buffer (Metal, RPC) or with --no-host, "
               "llama.cpp repacks Q4_0/Q4_K/IQ4_NL/MXFP4 experts into a CPU_REPACK buffer on "
               "AVX2 CPUs (ARM: with dot-product kernels), the same bytes in anonymous RAM "
               "instead of the mapped file; CUDA and Vulkan builds keep them as they are (mapped, or "
               "in pinned host memory without mmap)")

"""The compute buffer: scratch memory for one micro-batch through the graph.

llama.cpp sizes it by building the worst-case graph (n_ubatch tokens against a
full KV cache) and letting ggml's allocator pack the intermediate tensors. For
a device that runs the layers and the output layer of a model whose graph
`ggml_graph` can build (llama/Mistral, Mixtral-style MoE, Qwen2/3, Qwen3 MoE, Gemma
2/3; the gated-delta-net hybrids Qwen3.5 / Qwen3.5 MoE / Qwen3-Next in
`ggml_graph_deltanet`; GLM-4.5+ in `ggml_graph_moe`; DeepSeek V2/V3's latent attention in
`ggml_graph_mla`; gpt-oss in `ggml_graph_oss`; Gemma 4 in `ggml_graph_gemma4`), which covers
a CPU-only or fully offloaded load, `compute_graph` replays that allocator over that graph:
best-fit packing leaves holes (below the logits,
around the residual stream), so the buffer is bigger than any sum of tensors
alive at one moment, by up to 14 % on the shapes we measured, and only a replay
gets it right (to the byte on graphs dumped from llama.cpp; within the 0.01 MiB
its log shows on every case benchmarks/bench_memory.py measures).

With MoE experts on the CPU (--n-cpu-moe), or a model pipelined over several GPUs,
each GPU's buffer comes from `split_replay`, the same allocator over ggml's scheduler
splits (one arena per backend, copies between them). Everything else (a device holding
only some layers, other architectures, per-layer widths) uses a closed form: the
high-water mark of one of three moments, each a sum of the tensors alive at that point
(float32 unless said), per token of the micro-batch:

- attention, flash attention off: the KQ scores (n_kv x n_head) plus one mask
  per KV cache (n_kv each, f32), the residual stream and the Q/K/V projections
  (4 x n_embd + n_head x key_length) and the V-cache row indices (int64, one per
  V element when V is stored transposed);
- feed-forward: gate, up and activation (3 x n_ff, times the experts used per
  token), the residual stream (4 x n_embd) and the masks (f16 with flash
  attention);
- logits: n_vocab for every token of the micro-batch plus the final norm and
  residual (2 x n_embd).

Its coefficients were read off llama.cpp's own figures (no-alloc dry runs of
llama-cpp-python 0.3.36 on generated models of real shapes); it misses the holes,
by up to 14 % of the compute buffer.
"""

from typing import NamedTuple

from picker.memory.shape import BLOCK_SPARSE_ARCHITECTURES, MSA_ARCHITECTURES, ModelShape

FLOAT_BYTES = 4


class AttentionCaches(NamedTuple):
    """KV cells of each cache the graph attends to (the SWA cache can be smaller)."""

    base_cells: int  # 0 when every attention layer slides
    swa_cells: int  # 0 without sliding-window layers


def _dsv4_phase_floats(shape: ModelShape, caches: AttentionCaches, flash_attn: bool) -> int:
    """DeepSeek V4 (deepseek4): its busiest block is a ratio-4 one, whose attention reads the
    sliding window and the compressed cache concatenated (A cells: keys, mask, top-k mask)
    after the lightning indexer scored the compressed cells (C); without flash attention the
    KQ scores of every head over A dominate. `base_cells` is the context per sequence."""
    heads, q_width, _ = shape.attention_widths
    compressed = -(-caches.base_cells // 4)
    compressed += -compressed % 256
    attended = caches.swa_cells + compressed
    floats = 7 * q_width // 2 + shape.n_embd + 3 * attended // 2 + compressed
    return floats if flash_attn else floats + heads * attended


def _qsa_phase_floats(shape: ModelShape, caches: AttentionCaches, flash_attn: bool) -> int:
    """qwen4exp (Qwen Sparse Attention): its busiest moment is an attention block's, where
    the indexer's block scores are expanded to every cell and summed with the mask (about
    three n_kv rows and the n_kv / 4 block scores alive per token), beside the hyper-
    connection streams (four n_embd rows each for the residual, its norm and the mixers)
    and the experts; without flash attention every head's KQ scores come on top. Fitted to
    llama.cpp's dry run on Qwen3.8-Flash-Next's shape (benchmarks/memory_archs_figures.md)."""
    n_kv = caches.base_cells
    floats = 3 * shape.ffn_width + 20 * shape.n_embd + 768 + 13 * n_kv // 4
    if not flash_attn:
        floats += shape.attention_widths[0] * n_kv + n_kv // 2
    return floats


def layer_phase_floats(shape: ModelShape, caches: AttentionCaches, flash_attn: bool,
                       layers: range, rotated: bool = False, experts_on_cpu: bool = False) -> int:
    """Floats per token at the busiest moment inside the layers in `layers` (their widths
    are taken as the model's widest: llama.cpp reserves every device for the worst case).

    `experts_on_cpu`: every one of these layers runs its routed experts on the CPU
    (--n-cpu-moe); the device then holds the experts' summed-up input from the CPU (one
    n_embd row per chosen expert) instead of their activations (llama.cpp's RPC devices,
    Qwen3-30B-A3B widths, flash attention on: 52.01 MiB logged, 52.00 planned)."""
    if not layers:
        return 0
    if shape.compress_ratios:
        return _dsv4_phase_floats(shape, caches, flash_attn)
    if shape.architecture in BLOCK_SPARSE_ARCHITECTURES:
        return _qsa_phase_floats(shape, caches, flash_attn)
    n_embd = shape.n_embd
    heads, q_width, v_width = shape.attention_widths
    masks = [cells for cells in (caches.base_cells, caches.swa_cells) if cells]
    n_kv = max(masks, default=0)
    ffn = 3 * shape.ffn_width
    if shape.architecture == "nemotron_h_moe" and shape.n_expert:
        # ungated squared-ReLU experts (up, activation, down): fitted to llama.cpp's dry run
        # on Nemotron 3 Super's shape, one and a half rows per routed width, two per shared
        ffn = 3 * shape.n_ff_expert * max(shape.n_expert_used, 1) // 2 + 2 * shape.n_ff_shared
    if experts_on_cpu and shape.n_expert:
        used = max(shape.n_expert_used, 1)
        routed = (shape.n_ff_expert or shape.max_ff) * used
        ffn = 3 * max(shape.ffn_width - routed, 0) + n_embd * used
    # DSA (glm-dsa): the lightning indexer's scores over the cache (f32) and the top-k mask
    # built from them beside the cache's own, n_kv each per token; and every attention
    # block's zero-filled top-k row (blocks that reuse another's top-k too), a graph leaf
    # that ggml-alloc places before the first block
    sparse = 0
    if shape.indexer_layers and shape.architecture in MSA_ARCHITECTURES:
        # MiniMax Sparse Attention: with flash attention the busiest moment is the indexer's
        # (its heads' scores over the cache, their block maxima and the expanded block mask
        # beside the cache's own: about 9.5 n_kv per token and 7 n_embd rows, fitted to
        # llama.cpp's dry run on MiniMax M3's shape); without it the KQ scores dominate
        if flash_attn:
            return max(19 * n_kv // 2 + 7 * n_embd, ffn + 4 * n_embd + sum(masks) // 2)
    elif shape.indexer_layers:
        blocks = sum(1 for il in layers if shape.n_head_kv[il])
        sparse = 2 * n_kv + shape.indexer[2] * blocks
    if flash_attn:
        mask_floats = sum(masks) // 2  # f16 masks
        # With a rotated (quantized) cache, once the mask outgrows an n_embd row the
        # allocator reuses its hole for one of the rows (Mistral 7B and MoE shapes).
        reused = n_embd if rotated and n_kv // 2 >= n_embd else 0
        return ffn + 4 * n_embd + mask_floats - reused + sparse
    # the KQ scores of the busiest layer: each kind of layer over its own cache
    full_heads, sliding_heads = shape.heads_by_cache
    scores = max(full_heads * caches.base_cells, sliding_heads * caches.swa_cells) or n_kv * heads
    attention = (scores + sum(masks) + 4 * n_embd + q_width + 2 * v_width * len(masks)
                 + sparse)
    feed_forward = ffn + 4 * n_embd + sum(masks)
    return max(attention, feed_forward)


def logits_phase_floats(shape: ModelShape, rotated_cache: bool = False,
                        caches: AttentionCaches | None = None) -> int:
    """The output layer's moment. With a rotated (quantized) cache, once the f16 mask
    outgrows an n_embd row, llama.cpp's allocator leaves one more row below the logits
    (measured on Llama 3 8B/70B, Qwen3 8B and Qwen2.5 0.5B shapes)."""
    floats = shape.n_vocab + 2 * shape.n_embd
    if shape.architecture in BLOCK_SPARSE_ARCHITECTURES:  # the final mixer's four streams
        floats += 4 * shape.n_embd + 320
    mask_floats = max(caches.base_cells, caches.swa_cells) // 2 if caches else 0
    if rotated_cache and mask_floats >= shape.n_embd:
        floats += shape.n_embd
    return floats


def rotated_cache(shape: ModelShape, type_k: str, type_v: str, flash_attn: bool) -> bool:
    """llama.cpp's attn_rot: Hadamard rotations around attention for a quantized cache
    when every layer has the same head size and it is a multiple of 64."""
    from picker.llama_settings import QUANTIZED_CACHE_TYPES

    if not flash_attn:
        return False
    keys, values = shape.head_lengths
    rotate_k = type_k in QUANTIZED_CACHE_TYPES and len(keys) == 1 and keys[0] % 64 == 0
    rotate_v = type_v in QUANTIZED_CACHE_TYPES and len(values) == 1 and values[0] % 64 == 0
    return rotate_k or rotate_v


def compute_bytes(shape: ModelShape, caches: AttentionCaches, flash_attn: bool, n_ubatch: int,
                  layers: range, with_output: bool, phase_floats: int | None = None,
                  rotated: bool = False, graph_bytes: int | None = None) -> int:
    """Compute buffer of one device running `layers` (and the output layer if asked).

    `phase_floats`: the layer phase if already known (it is the same for every
    device holding layers of a uniform model), to keep the solver fast.
    `graph_bytes`: the allocator replay's figure (`compute_graph`) for a device that
    runs layers and the output layer; None where there is none.
    """
    if layers and with_output and graph_bytes is not None:
        return graph_bytes
    floats = 0
    if layers:
        floats = (phase_floats if phase_floats is not None
                  else layer_phase_floats(shape, caches, flash_attn, layers))
    if with_output:
        floats = max(floats, logits_phase_floats(shape, rotated, caches))
    return floats * n_ubatch * FLOAT_BYTES


# The closed form on architectures the replay does not build (qwen35, qwen35moe, qwen3next,
# glm4moe, gpt-oss, deepseek2, mistral4 and gemma4 only fall back to it for layouts the replay lacks,
# e.g. a legacy ssm_in Qwen3-Next file, a catalog entry without MLA's per-head sizes, experts
# chosen by group or a fused gate_up expert tensor), against llama.cpp's dry run
# on real-shaped files (benchmarks/bench_memory.py --archs: 8k and 32k, flash attention off
# and on, f16 and q8_0 caches, n_ubatch 512): the range of errors seen, in % of llama.cpp's
# compute buffer, rounded outwards. Negative: the plan is short (allocator holes, a gated
# delta net's chunk buffers, per-layer embeddings and MLA's latent tensors it does not model;
# deepseek2's -37 % is DeepSeek-V3's 128 heads with flash attention, -14 % V2-Lite's;
# mistral4's -16 % is Mistral Small 4's (32 heads) planned from catalog facts, flash
# attention on; with a header both replay exactly; glm-dsa's -11 % to +7 % is GLM-5's shape
# with its DSA terms (4k-128k), for layouts whose blocks share an indexer (GLM-5.2);
# GLM-5 / 5.1 files replay exactly; deepseek32's -36 % to +1 % is DeepSeek-V3.2's shape
# planned from catalog facts (4k-128k, n_ubatch 256 and 512; with a header it replays exactly);
# never replayed: granitehybrid, Granite 4.0 H Micro's Mamba-2 blocks, up to 2 % over;
# llama4 where the replay lacks its layout (Maverick, unchunked files): Scout's shape on
# the closed form was up to 9 % short).
CLOSED_FORM_ERROR_PERCENT: dict[str, tuple[int, int]] = {
    "qwen35": (-4, 0), "qwen35moe": (-3, 0), "qwen3next": (-11, 0), "gemma4": (-13, 0),
    "deepseek2": (-37, 0), "glm4moe": (-5, 0), "gpt-oss": (-4, 0), "granitehybrid": (0, 2),
    "llama4": (-9, 0), "mistral4": (-16, 0), "glm-dsa": (-11, 7),
    # step35 (Step 3.5 Flash) and mimo2 (MiMo-V2-Flash), both replayed from a header; their
    # catalog rows (no routing, one head count; no QKV layout or value scale) keep the
    # closed form, measured from catalog facts at 4k-128k, flash attention off and on,
    # f16 / q8_0, swa_full on and off: step35 -33 % (the full layers' 64 query heads stated,
    # not the sliding layers' 96), mimo2 -4.1 % to +2.6 %
    "step35": (-33, 0), "mimo2": (-5, 3), "deepseek32": (-36, 1),
    # kimi-linear (Kimi Linear 48B-A3B: MLA and Kimi Delta Attention blocks, never
    # replayed): 1k-1M, flash attention off and on, n_ubatch 256-2048, with a header or
    # from catalog facts; the allocator's holes, up to 22 % short at 96k-128k with flash
    # attention on, 9 % off
    "kimi-linear": (-22, 0),
    # cohere2 (Command R7B / A, Tiny Aya: parallel blocks, never replayed): Command R7B's and
    # a Tiny-Aya-sized shape, 4k-128k, n_ubatch 256 and 512, flash attention off and on,
    # f16 / q8_0, swa_full on and off: -1.53 % to +1.55 %
    "cohere2": (-2, 2),
    # laguna (Laguna XS.2: 48 / 64 query heads on its full / sliding blocks, never replayed):
    # 4k-128k, n_ubatch 256 and 512, flash attention off and on, f16 / q8_0, swa_full on
    # and off: -3.77 % to -0.06 % with a header; from catalog facts (one query-head count,
    # the config's 48, for every block) -25.35 % to -0.10 %, the low end with swa_full on
    # and flash attention off (the sliding blocks' 64-head scores over a full-size cache)
    "laguna": (-26, 0),
    # bailingmoe3 (Ling 3.0 Tiny's shape: Kimi Delta Attention blocks with an MLA block in
    # every four, never replayed): 1k-128k, n_ubatch 256-2048, flash attention off and on,
    # f16 / q8_0, with and without query compression: -7.1 % to -0.9 %
    "bailingmoe3": (-8, 0),
    # glm5-next (GLM-5.3-Flash's shape: Kimi Delta Attention with nope MLA and a k-pooled
    # DSA indexer every fourth block, never replayed; DSA's terms as for glm-dsa): 2k-256k,
    # flash attention off and on, n_ubatch 256-2048, f16 / q8_0, one and two sequences:
    # off -2.3 % to +1.9 %; on 0 % to +47 % (the indexer scores pools of 4 cells, which the
    # DSA terms count cell by cell; a fit to that was up to 30 % short at n_ubatch 256 and
    # with two sequences, so the plan keeps the over-estimate)
    "glm5-next": (-3, 48),
    # nemotron_h_moe (Nemotron 3 Super 120B-A12B's latent MoE and Nemotron 3 Nano 30B-A3B's
    # shapes, never replayed; ungated experts as fitted above): 2k-256k, flash attention off
    # and on, n_ubatch 256-2048, f16 / q8_0, one and two sequences: Super -7.2 % to +2.7 %
    # off, -9.7 % to +9.0 % on; Nano -5.5 % to 0 % off, -9.0 % to -1.9 % on (before the
    # experts' fit: Super up to +71 % over)
    "nemotron_h_moe": (-10, 10),
    # hy_v3 (Tencent Hy3's shape, not replayed): 2k-266k every 6k, flash attention off and
    # on, f16 and q8_0: within 3 % without flash attention; with it the allocator's holes
    # leave the plan up to 34 % short (about 160k)
    "hy_v3": (-34, 0),
    # minimax-m3 (MiniMax M3's shape, its MSA indexer's terms fitted above): 1k-1M, flash
    # attention off and on, f16 and q8_0, n_ubatch 256-2048: within 3 % from 20k on; at 2k-16k
    # up to 17 % short (a plateau at the logits' moment the closed form does not hold)
    "minimax-m3": (-17, 3),
    # qwen4exp (Qwen3.8-Flash-Next's QSA, hyper-connections and n-gram embedding, never
    # replayed; its own phase above): 2k-256k, flash attention off and on, n_ubatch
    # 256-2048, f16 / q8_0, one or two sequences: -0.1 % to +3.5 % off, -2.3 % to +5.2 % on
    "qwen4exp": (-3, 6),
    # deepseek4 (never replayed): DeepSeek-V4-Flash's shape at 4k-256k, n_ubatch 256 and
    # 512, swa_full on and off, f16 / q8_0; flash attention off -6 % to +2 %, on -19 % to
    # +21 % (a few hundred MiB)
    "deepseek4": (-20, 21),
}
# Dense shapes before the replay (Llama, Mistral Nemo, Gemma, Qwen2): up to 14 % short.
_UNMEASURED_ERROR_PERCENT = (-14, 0)


def closed_form_note(architecture: str) -> str:
    """What a plan says when its compute buffer comes from the closed form."""
    low, high = CLOSED_FORM_ERROR_PERCENT.get(architecture, _UNMEASURED_ERROR_PERCENT)
    measured = ("measured" if architecture in CLOSED_FORM_ERROR_PERCENT
                else "not measured on this architecture; on others")
    return (f"compute buffer estimated (a closed form; llama.cpp's allocator is not replayed "
            f"for {architecture or 'this model'}): {measured} {low:+d}% to {high:+d}% of "
            "llama.cpp's figure")


def host_input_bytes(shape: ModelShape, n_ubatch: int) -> int:
    """CPU-side ("CUDA_Host") compute buffer when every layer runs on a GPU: the token
    embeddings looked up on the CPU and their staging for the copy. Not measurable
    here (no GPU); three rows of n_embd floats per token matches the CUDA logs people
    publish (12.01 MiB for Llama 3.2 1B, 24.01 MiB for Llama 3 8B at n_ubatch 512)."""
    return 3 * shape.n_embd * n_ubatch * FLOAT_BYTES

"""The compute buffer from a replay of ggml's allocator over llama.cpp's graph.

`graph_compute_bytes` answers with the high-water mark of ggml-alloc placing the
worst-case graph (`ggml_graph.LayerGraph`), exactly as llama.cpp sizes the buffer.
To stay cheap enough for the solver and the ranking:

- Blocks come in few kinds: a plain block of each attention kind (full or
  sliding window), the last block to read each cache's inputs, the last block.
  Each kind's decisions (`ggml_alloc.Program`) are recorded once per model and
  settings, whatever the context, and replayed per context at its sizes.
- Blocks repeat, and so does the allocator: once the free blocks and the residual
  stream's address after a block equal those after an earlier block at the same
  point of the sliding-window pattern, in the same run of plain blocks, every
  block until the next different one would replay the same placements, so they
  are skipped. A plan replays a handful of blocks, whatever the depth.
- Answers are remembered (the solver asks the same question for every layer split).

`reference_bytes` places every node of every block, nothing skipped or recorded:
the tests hold `graph_compute_bytes` to it. Returns None for what the replay does
not model (other architectures, per-layer head counts or widths, MLA without its
per-head sizes, experts chosen by group, recurrent layers other than gated delta
nets); `compute.py` then falls back to its closed form.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from picker.memory.ggml_alloc import Arena, Node, Program, Recorder, execute, pad, run
from picker.memory.ggml_graph import RECURRENT, SUPPORTED, GraphShape, LayerGraph
from picker.memory.ggml_graph_afmoe import AfmoeGraph
from picker.memory.ggml_graph_apertus import ApertusGraph
from picker.memory.ggml_graph_bailing import FusedQKVGraph
from picker.memory.ggml_graph_deltanet import (
    DELTA_NET_ARCHITECTURES,
    DeltaNetGraph,
    delta_net_extra,
)
from picker.memory.ggml_graph_dsa import SparseLatentAttentionGraph, sparse_attention_extra
from picker.memory.ggml_graph_gemma4 import Gemma4Graph, gemma4_extra
from picker.memory.ggml_graph_llama4 import Llama4Graph
from picker.memory.ggml_graph_mimo2 import Mimo2Graph, mimo2_extra
from picker.memory.ggml_graph_mla import LATENT_ATTENTION_ARCHITECTURES, LatentAttentionGraph
from picker.memory.ggml_graph_moe import (
    SHARED_EXPERT_ARCHITECTURES,
    SharedExpertGraph,
    shared_expert_extra,
)
from picker.memory.ggml_graph_olmo import Olmo2Graph
from picker.memory.ggml_graph_oss import OpenAIMoEGraph
from picker.memory.ggml_graph_step35 import Step35Graph, step35_extra
from picker.memory.shape import SPARSE_ATTENTION_ARCHITECTURES, ModelShape

_FAR = 1 << 40  # consumers still to come in blocks not built yet
_MEMO: dict[tuple[object, ...], int] = {}
_MEMO_LIMIT = 4096


class _Facts:
    """What the replay reads from a shape, worked out once per shape."""

    __slots__ = ("extra", "key_length", "n_head_kv", "swa", "value_length")

    def __init__(self, n_head_kv: int, key_length: int, value_length: int,
                 swa: tuple[int, ...], extra: tuple[int, ...] = ()) -> None:
        self.n_head_kv = n_head_kv
        self.key_length = key_length
        self.value_length = value_length
        self.swa = swa  # each block's kind: 0 full attention, 1 sliding window, RECURRENT
        self.extra = extra


def _facts(shape: ModelShape) -> _Facts | None:
    cached = shape.__dict__.get("_graph_facts", False)
    if cached is not False:
        return cached  # type: ignore[no-any-return]
    facts = None
    layers = shape.attention_layers
    arch = shape.architecture
    delta_net = arch in DELTA_NET_ARCHITECTURES and bool(shape.delta_net)
    shared_experts = (arch in SHARED_EXPERT_ARCHITECTURES and len(shape.moe_routing) == 4
                      and shape.n_expert_used > 0)
    n_main = shape.n_layer_main
    recurrent = shape.recurrent_layers[:n_main] if delta_net else ()
    # deepseek2 / mistral4: MLA, absorbed, with its MoE feed-forward (older non-MLA files:
    # closed form); their experts' gate and up may be one fused tensor
    mla_family = arch in LATENT_ATTENTION_ARCHITECTURES
    # glm-dsa / deepseek32: the same with DeepSeek's sparse attention, where every block
    # runs its own indexer (GLM-5, 5.1, DeepSeek-V3.2; not GLM-5.2's blocks that reuse
    # another's top-k)
    sparse = (arch in SPARSE_ATTENTION_ARCHITECTURES and len(shape.indexer) == 3
              and all(shape.indexer_layers[:n_main]))
    latent = ((mla_family or sparse) and shape.is_mla and len(shape.mla) == 3
              and shared_experts)
    if arch == "gemma4":
        facts = _gemma4_facts(shape)
    elif arch == "step35":
        facts = _step35_facts(shape)
    elif arch == "mimo2":
        facts = _mimo2_facts(shape)
    elif (arch in SUPPORTED and (latent or not shape.is_mla) and (latent or not mla_family)
            and (delta_net or not any(shape.recurrent_layers))
            and (not shape.n_expert or shared_experts
                 or arch in ("llama", "qwen3moe", "qwen35moe", "qwen3next", "gpt-oss", "llama4"))
            and (not shape.n_ff_shared or shared_experts or arch in ("qwen35moe", "qwen3next"))
            and (not shape.n_layer_dense_lead or shared_experts)
            and (shape.n_expert_groups <= 1 or shared_experts)
            and (not shape.fused_gate_up or latent)
            and not shape.expert_down_scale
            and (not shape.n_layer_nextn or delta_net or shared_experts)
            # llama4: Scout's layout (16 experts: Q/K norms, every block MoE, chunked);
            # not Maverick's (128: no norms, dense blocks between) nor unchunked files
            and (arch != "llama4" or (any(shape.swa_layers) and shape.n_expert == 16))
            and layers and len(layers) + sum(recurrent) == n_main
            and len({layer[1:4] for layer in layers}) == 1
            and len(set(shape.n_head)) == 1 and len(set(shape.n_ff)) == 1):
        _, n_head_kv, key_length, value_length, _ = layers[0]
        extra: tuple[int, ...] = ()
        if delta_net:
            kinds: tuple[int, ...] = tuple(RECURRENT if flag else 0 for flag in recurrent)
            extra = delta_net_extra(shape.delta_net, shape.n_ff_shared, arch)
        elif shared_experts:
            # (afmoe's blocks slide, three of every four: two caches)
            kinds = tuple(int(shape.is_swa(il)) + (VARIANT if il < shape.n_layer_dense_lead else 0)
                          for il in range(n_main))
            if sparse:  # every block its own (see SparseLatentAttentionGraph)
                kinds = tuple(VARIANT * (il + 1) for il in range(n_main))
            groups = ((shape.n_expert_groups, shape.n_expert_groups_used)
                      if shape.n_expert_groups > 1 else (0, 0))
            extra = shared_expert_extra(shape.n_layer_dense_lead, shape.max_ff,
                                        shape.n_ff_shared, shape.moe_routing, groups,
                                        shape.fused_gate_up)
            if latent:
                if sparse:
                    extra += sparse_attention_extra(shape.indexer, n_main)
                extra += (*shape.mla, shape.n_rot)
        else:
            kinds = shape.swa_layers or (False,) * shape.n_layer
        facts = _Facts(n_head_kv, key_length, value_length, kinds, extra)
    shape.__dict__["_graph_facts"] = facts
    return facts


def _step35_facts(shape: ModelShape) -> _Facts | None:
    """step35: query heads by kind of block (full, sliding), 8 KV heads in both; dense lead
    blocks, then routed experts and a shared one. From a header only: a catalog row states
    no routing (and one head count)."""
    layers = shape.attention_layers
    n_main = shape.n_layer_main
    heads = shape.heads_by_cache
    if (len(shape.moe_routing) != 4 or not shape.n_expert_used or shape.n_expert_groups > 1
            or shape.fused_gate_up or not shape.n_ff_shared or len(layers) != n_main
            or len({layer[1:4] for layer in layers}) != 1
            or any(shape.n_head[il] != heads[int(sliding)] for il, *_, sliding in layers)):
        return None
    _, n_head_kv, key_length, value_length, _ = layers[0]
    kinds = tuple(int(shape.is_swa(il)) + (VARIANT if il < shape.n_layer_dense_lead else 0)
                  for il in range(n_main))
    extra = step35_extra(shared_expert_extra(shape.n_layer_dense_lead, shape.max_ff,
                                             shape.n_ff_shared, shape.moe_routing, (0, 0)),
                         heads)
    return _Facts(n_head_kv, key_length, value_length, kinds, extra)


def _mimo2_facts(shape: ModelShape) -> _Facts | None:
    """mimo2: KV heads by kind of block (full, sliding), keys wider than values; a dense
    lead block, then routed experts. From a header only: its QKV layout (split or fused)
    and value scale are read there, not stated by a catalog row."""
    layers = shape.attention_layers
    n_main = shape.n_layer_main
    if (shape.estimated or len(shape.moe_routing) != 4 or not shape.n_expert_used
            or shape.n_expert_groups > 1 or shape.fused_gate_up or shape.n_ff_shared
            or len(layers) != n_main or len(set(shape.n_head[:n_main])) != 1):
        return None
    by_kind: dict[int, tuple[int, int, int]] = {}  # kind -> (KV heads, key, value)
    for _, n_head_kv, key_length, value_length, sliding in layers:
        if by_kind.setdefault(int(sliding), (n_head_kv, key_length, value_length)) != (
                n_head_kv, key_length, value_length):
            return None
    full = by_kind.get(0, next(iter(by_kind.values())))
    swa = by_kind.get(1, full)
    if full[1:] != swa[1:]:
        return None
    kinds = tuple(int(shape.is_swa(il)) + (VARIANT if il < shape.n_layer_dense_lead else 0)
                  for il in range(n_main))
    extra = mimo2_extra((full[0], swa[0]), shape.n_layer_dense_lead, shape.max_ff,
                        bool(shape.moe_routing[3]), shape.attn_value_scale, shape.fused_qkv)
    # the inputs' V row indices are sized for the widest block (n_embd_v_gqa_max)
    return _Facts(max(full[0], swa[0]), full[1], full[2], kinds, extra)


def _gemma4_facts(shape: ModelShape) -> _Facts | None:
    """Gemma 4: per-kind heads, KV-sharing blocks, per-layer embeddings, dense or MoE."""
    n_layer = shape.n_layer
    if (shape.n_layer_nextn or any(shape.recurrent_layers) or len(set(shape.n_head)) != 1
            or shape.n_expert_groups > 1 or shape.fused_gate_up):
        return None
    kv_from = next((il for il in range(n_layer) if not shape.n_head_kv[il]), n_layer)
    if len(set(shape.n_ff[:kv_from])) != 1 or len(set(shape.n_ff[kv_from:])) > 1:
        return None  # (KV-sharing blocks may be twice as wide: use_double_wide_mlp)
    by_kind: dict[int, tuple[int, int, int]] = {}  # kind -> (KV heads, key, value)
    for il, n_head_kv, key_length, value_length, sliding in shape.attention_layers:
        if il >= kv_from or by_kind.setdefault(int(sliding), (n_head_kv, key_length,
                                                             value_length)) != (
                n_head_kv, key_length, value_length) or key_length != value_length:
            return None  # a KV block among the sharing ones, or heads varying within a kind
    if not by_kind or kv_from == 0:
        return None
    full = by_kind.get(0, next(iter(by_kind.values())))
    swa = by_kind.get(1, full)
    swa_flags = tuple(shape.is_swa(il) for il in range(n_layer))
    last_store = tuple(max((il for il in range(kv_from) if swa_flags[il] == bool(kind)),
                           default=-1) for kind in (0, 1))
    kinds = []
    for il in range(n_layer):
        variant = (1 if il >= kv_from else 3 if il in last_store
                   else 2 if il == 0 and shape.n_embd_per_layer else 0)
        kinds.append(int(swa_flags[il]) + VARIANT * variant)
    widest = max((full, swa), key=lambda heads: heads[0] * heads[2])
    extra = gemma4_extra((full[1], swa[1]), (full[0], swa[0]), shape.n_embd_per_layer,
                         n_layer, (shape.n_ff[0], shape.n_ff[-1]), kv_from,
                         (last_store[0], last_store[1]), shape.expert_down_scale)
    return _Facts(*widest, tuple(kinds), extra)


def graph_shape(shape: ModelShape, n_ubatch: int, flash_attn: bool, type_k: str,
                type_v: str) -> GraphShape | None:
    """The replay's view of `shape`, or None when the model is not one it can build."""
    from picker.llama_settings import QUANTIZED_CACHE_TYPES

    facts = _facts(shape)
    if facts is None:
        return None
    rotate_k = rotate_v = 0  # an MLA (K-only) cache is never rotated
    if shape.is_mla:
        pass
    elif type_k in QUANTIZED_CACHE_TYPES and facts.key_length % 64 == 0:
        rotate_k = facts.key_length & -facts.key_length  # largest power of two dividing it
    if type_v in QUANTIZED_CACHE_TYPES and facts.value_length % 64 == 0 and not shape.is_mla:
        rotate_v = 64
    return GraphShape(
        architecture=shape.architecture, n_embd=shape.n_embd, n_vocab=shape.n_vocab,
        n_ubatch=n_ubatch, n_head=shape.n_head[0], n_head_kv=facts.n_head_kv,
        key_length=facts.key_length, value_length=facts.value_length,
        n_ff=shape.n_ff_expert or shape.n_ff[0],
        n_expert=shape.n_expert, n_expert_used=shape.n_expert_used, flash_attn=flash_attn,
        rotate_k=rotate_k, rotate_v=rotate_v, extra=facts.extra,
    )


def forget() -> None:
    """Drop remembered answers and recordings, on disk too (benchmarks time a first plan)."""
    _MEMO.clear()
    _SAVED.update(loaded=True, added=False)
    compile_blocks.cache_clear()
    block_layout.cache_clear()


# Answers also outlive the process: `picker --json` asks the same few dozen questions every
# run (the catalog's models at the use case's context), and replaying them costs about a
# fifth of its ranking. They are kept in the cache dir, under a name that changes with the
# code that computes them; a file that cannot be read is ignored.
_SAVED = {"loaded": False, "added": False}
_CODE_FILES = ("compute_graph.py", "ggml_alloc.py", "ggml_graph.py", "ggml_graph_deltanet.py",
               "ggml_graph_apertus.py", "ggml_graph_bailing.py",
               "ggml_graph_moe.py", "ggml_graph_oss.py", "ggml_graph_mla.py", "ggml_graph_dsa.py",
               "ggml_graph_gemma4.py", "ggml_graph_afmoe.py", "split_replay.py")


def _memo_path() -> Path | None:
    from picker import __version__
    from picker.cachefiles import checksum, identity
    from picker.paths import picker_paths

    here = Path(__file__).parent
    try:
        code = checksum([__version__, *(identity(here / name) for name in _CODE_FILES)])
    except OSError:
        return None
    return picker_paths().cache_dir / f"compute-replays-{code}.json"


_KEY_TYPES = frozenset({str, int, bool})


def _plain_key(raw: object) -> tuple[object, ...] | None:
    """A saved key as the tuple it was ((graph key), cells, cells, (swa flags)), or None when
    it holds anything but text, integers and flags."""
    if type(raw) is not list:
        return None
    parts: list[object] = []
    for item in raw:
        if type(item) is list:
            # One set of types per list, made in C: a key holds a flag per layer, and a
            # check per item cost ~1 ms per `picker --json` once what-ifs filled the file.
            if not _KEY_TYPES.issuperset(map(type, item)):
                return None
            parts.append(tuple(item))
        elif type(item) in (str, int, bool):
            parts.append(item)
        else:
            return None
    return tuple(parts)


def _load_saved() -> None:
    """Read the answers back: JSON (reading it runs nothing), each entry checked, any damage
    ignored entry by entry."""
    from picker.cachefiles import read_json

    _SAVED["loaded"] = True
    path = _memo_path()
    saved = read_json(path) if path is not None else None
    if type(saved) is not list:
        return
    for entry in saved[:_MEMO_LIMIT]:
        if type(entry) is list and len(entry) == 2 and type(entry[1]) is int and entry[1] >= 0:
            key = _plain_key(entry[0])
            if key is not None:
                _MEMO[key] = entry[1]


def save_remembered() -> None:
    """Keep this process's new answers for the next one (nothing to do if none were added)."""
    import json

    from picker.cachefiles import drop_older_copies, write_whole

    path = _memo_path() if _SAVED["added"] else None
    if path is None:
        return
    _SAVED["added"] = False
    data = json.dumps([[key, value] for key, value in _MEMO.items()], separators=(",", ":"))
    if write_whole(path, data.encode()):  # a read-only cache dir: worked out again
        drop_older_copies(path, "compute-replays-*.json", keep=4)
        for legacy in path.parent.glob("compute-replays-*.marshal"):  # the format it replaced
            try:
                legacy.unlink(missing_ok=True)
            except OSError:
                continue


def recall(key: tuple[object, ...]) -> int | None:
    """Another replay's remembered answer (split_replay's: keys that start with its name),
    kept in the same memory and file."""
    if not _SAVED["loaded"]:
        _load_saved()
    return _MEMO.get(key)


def remember(key: tuple[object, ...], value: int) -> None:
    if len(_MEMO) >= _MEMO_LIMIT:
        _MEMO.clear()
    _MEMO[key] = value
    _SAVED["added"] = True


def graph_compute_bytes(shape: ModelShape, base_cells: int, swa_cells: int, n_ubatch: int,
                        flash_attn: bool, type_k: str, type_v: str) -> int | None:
    """llama.cpp's compute buffer for the whole model on one device, or None (not modelled)."""
    graph = graph_shape(shape, n_ubatch, flash_attn, type_k, type_v)
    if graph is None or (shape.indexer and base_cells < shape.indexer[2]):
        return None  # (a DSA cache shorter than the indexer's top-k: fewer cells chosen)
    if not _SAVED["loaded"]:
        _load_saved()
    swa = shape.__dict__["_graph_facts"].swa
    key = (graph.key, base_cells, swa_cells, swa)
    found = _MEMO.get(key)
    if found is None:
        found = replay(graph, swa, base_cells, swa_cells)
        if len(_MEMO) >= _MEMO_LIMIT:
            _MEMO.clear()
        _MEMO[key] = found
        _SAVED["added"] = True
    return found


# Architectures whose blocks differ from `LayerGraph`'s, and their builders.
_BUILDERS: dict[str, type[LayerGraph]] = {
    **dict.fromkeys(DELTA_NET_ARCHITECTURES, DeltaNetGraph),
    **dict.fromkeys(SHARED_EXPERT_ARCHITECTURES, SharedExpertGraph),
    "gpt-oss": OpenAIMoEGraph,
    **dict.fromkeys(LATENT_ATTENTION_ARCHITECTURES, LatentAttentionGraph),
    **dict.fromkeys(SPARSE_ATTENTION_ARCHITECTURES, SparseLatentAttentionGraph),
    "gemma4": Gemma4Graph,
    "olmo2": Olmo2Graph,
    "llama4": Llama4Graph,
    "afmoe": AfmoeGraph,
    "step35": Step35Graph,
    "mimo2": Mimo2Graph,
    "apertus": ApertusGraph,
    "bailingmoe2": FusedQKVGraph,  # (its feed-forward: SharedExpertGraph's)
}


# (cache, last block, caches it ends, variant: 0 for a plain block)
BlockType = tuple[int, bool, tuple[int, ...], int]
# A multiple of VARIANT added to a block's kind marks a block unlike the plain ones of its
# cache (an MoE model's leading dense-FFN block; Gemma 4's blocks that share another's KV,
# compute the per-layer inputs or store their cache's last rows): recorded on its own,
# never skipped.
VARIANT = 4


class Layout:
    """How the blocks of one pattern of kinds relate."""

    __slots__ = ("kinds", "last_use", "order", "period", "special", "types")

    def __init__(self, order: tuple[int, ...], kinds: tuple[int, ...],
                 last_use: tuple[int, ...], types: tuple[BlockType, ...],
                 special: tuple[int, ...], period: int) -> None:
        self.order = order  # the caches (block kinds) in the order block 0 meets them
        self.kinds = kinds  # each block's cache, as an index into `order`
        self.last_use = last_use  # per cache: the last block that reads its inputs
        self.types = types
        self.special = special  # blocks that are not plain repeats
        self.period = period  # of the pattern of kinds


@lru_cache(maxsize=256)
def block_layout(swa: tuple[int, ...]) -> Layout:
    """`swa`: each block's kind (0 full attention, 1 sliding window, RECURRENT; plus a
    multiple of VARIANT for a block of another variant)."""
    n_layer = len(swa)
    variants = tuple(int(kind) // VARIANT for kind in swa)
    caches = tuple(int(kind) % VARIANT for kind in swa)
    if len(set(caches)) == 1 and not any(variants):  # one cache: alike but the last
        plain: BlockType = (0, False, (), 0)
        return Layout((caches[0],), (0,) * n_layer, (n_layer - 1,),
                      (plain,) * (n_layer - 1) + ((0, True, (0,), 0),), (n_layer - 1,), 1)
    order = tuple(dict.fromkeys(caches))  # the caches, in the order block 0 on meets them
    kinds = tuple(order.index(kind) for kind in caches)
    last_use = tuple(max(il for il, kind in enumerate(kinds) if kind == index)
                     for index in range(len(order)))
    types = tuple(
        (kind, il == n_layer - 1, tuple(index for index, last in enumerate(last_use) if last == il),
         variants[il])
        for il, kind in enumerate(kinds)
    )
    # A block of another variant than the one before it starts a new run (runs of dense
    # lead blocks, of KV-sharing blocks are skipped through like runs of plain ones).
    special = tuple(sorted({n_layer - 1, *last_use,
                            *(il for il in range(1, n_layer) if variants[il] != variants[il - 1]),
                            *(il for il in range(n_layer) if variants[il] > 1)}))
    run = []  # per block: which run of repeats between special blocks it is in (-1: special)
    for il in range(n_layer):
        run.append(-1 if il in special else sum(1 for s in special if s < il))
    period = next(p for p in range(1, n_layer + 1)  # of the kinds within every run
                  if all(swa[i] == swa[i - p] for i in range(p, n_layer)
                         if run[i] >= 0 and run[i] == run[i - p]))
    return Layout(order, kinds, last_use, types, special, period)


class Compiled:
    """Recorded decisions for one model and settings: replayable at any cache sizes."""

    __slots__ = ("blocks", "cache_sized", "inputs", "inputs_out", "output", "output_in",
                 "sizes")

    def __init__(self, sizes: tuple[int, ...], cache_sized: tuple[tuple[int, int, int], ...],
                 inputs: Program, inputs_out: int,
                 blocks: dict[BlockType, tuple[Program, int, int]], output: Program,
                 output_in: int) -> None:
        self.sizes = sizes  # per slot, at the recording's cache sizes
        self.cache_sized = cache_sized  # (slot, cache, bytes per cell)
        self.inputs = inputs  # the input tensors and the token embeddings
        self.inputs_out = inputs_out  # the embeddings' slot
        self.blocks = blocks  # per kind: (events, residual in slot, residual out slot)
        self.output = output
        self.output_in = output_in  # the slot the output layer reads the residual from


Placed = Callable[[int, Node, Node], None]


def _build(graph: GraphShape, layout: Layout, cells: tuple[int, ...], arena: Arena,
           block_order: list[int], placed: Placed | None = None) -> None:
    """Build and place the inputs, blocks `block_order` (each reads the residual stream
    its predecessor in that list wrote) and the output layer. `placed(block, residual in,
    residual out)` is called after each (block -1: the inputs, n_layer: the output)."""
    n_layer = len(layout.kinds)
    builder = _BUILDERS.get(graph.architecture, LayerGraph)(graph)
    leaves, tokens, positions, out_ids, caches = builder.inputs(cells, layout.order)
    shared = [c.shared() for c in caches]
    run(arena, leaves)
    # the positions live to the last block, unless a cache whose blocks alone read them
    # lists them among its inputs (llama4: the last chunked block)
    held = [] if any(positions in nodes for nodes in shared) else [positions]
    for node in [*held, *(node for nodes in shared for node in nodes)]:
        node.children += _FAR  # read by every block: alive until the last reader
    nodes: list[Node] = []
    residual = builder.embeddings(nodes, tokens)
    run(arena, nodes)  # block 0 is then like any other block
    nodes = []
    if placed:
        placed(-1, residual, residual)
    for il in block_order:
        ending = list(held) if il == n_layer - 1 else []
        for index, last in enumerate(layout.last_use):
            if last == il:
                ending += shared[index]
        for node in ending:
            node.children -= _FAR
        kind = layout.kinds[il]
        builder.block = il
        before = residual
        residual = builder.layer(nodes, residual, positions, caches[kind], cells[kind],
                                 out_ids if il == n_layer - 1 else None)
        run(arena, nodes)
        nodes = []
        if placed:
            placed(il, before, residual)
    builder.output(nodes, residual)
    run(arena, nodes)
    if placed:
        placed(n_layer, residual, residual)


@lru_cache(maxsize=64)
def compile_blocks(graph: GraphShape, swa: tuple[int, ...]) -> Compiled:
    """Record each kind of block once, in the order the model first meets them."""
    layout = block_layout(swa)
    first_of: dict[BlockType, int] = {}
    for il, block_type in enumerate(layout.types):
        first_of.setdefault(block_type, il)
    recorder = Recorder()
    programs: dict[int, tuple[Program, int, int]] = {}

    def keep(il: int, before: Node, after: Node) -> None:
        programs[il] = (recorder.take(), before.addr, after.addr)

    cells = tuple(1024 for _ in layout.order)  # any size: decisions do not depend on it
    _build(graph, layout, cells, recorder, sorted(first_of.values()), keep)
    output, output_in, _ = programs[len(swa)]
    return Compiled(
        sizes=tuple(recorder.sizes), cache_sized=tuple(recorder.cache_sized),
        inputs=programs[-1][0], inputs_out=programs[-1][2],
        blocks={block_type: programs[il] for block_type, il in first_of.items()},
        output=output, output_in=output_in,
    )


def replay(graph: GraphShape, swa: tuple[int, ...], base_cells: int, swa_cells: int) -> int:
    """The arena's high-water mark for `graph` with these sliding-window layers and cache
    sizes, from the recorded blocks, skipping repeats."""
    layout = block_layout(swa)
    compiled = compile_blocks(graph, swa)
    cells = {0: base_cells, 1: swa_cells, RECURRENT: 0}
    n_kv = [cells[kind] for kind in layout.order]
    sizes = list(compiled.sizes)
    for slot, cache, per_cell in compiled.cache_sized:
        sizes[slot] = pad(per_cell * n_kv[cache])
    addrs = [0] * len(sizes)
    arena = Arena()
    execute(arena, compiled.inputs, addrs, sizes)
    n_layer = len(swa)
    residual = addrs[compiled.inputs_out]
    seen: dict[tuple[int, int, tuple[int, ...]], int] = {}
    after: dict[int, tuple[int, tuple[int, ...]]] = {}  # block -> (residual, free blocks)
    il = 0
    while il < n_layer:
        program, slot_in, slot_out = compiled.blocks[layout.types[il]]
        addrs[slot_in] = residual
        execute(arena, program, addrs, sizes)
        residual = addrs[slot_out]
        following = next((s for s in layout.special if s > il), n_layer)
        if il + 1 < following:  # the next block is a plain repeat
            free = arena.state()
            key = (il % layout.period, residual, free)
            earlier = seen.get(key)
            if earlier is None:
                seen[key] = il
                after[il] = (residual, free)
            else:  # from `earlier` on the blocks cycle: jump to the one before `following`
                target = following - 1
                residual, free = after[earlier + (target - earlier) % (il - earlier)]
                arena.restore(free)
                il = target
        else:  # a different block comes next: cycles are only sought within a run of repeats
            seen.clear()
            after.clear()
        il += 1
    addrs[compiled.output_in] = residual
    execute(arena, compiled.output, addrs, sizes)
    return arena.high


def reference_bytes(graph: GraphShape, swa: tuple[int, ...], base_cells: int,
                    swa_cells: int) -> int:
    """Every node of every block placed in order: slow, and the tests' reference."""
    layout = block_layout(swa)
    cells = {0: base_cells, 1: swa_cells, RECURRENT: 0}
    arena = Arena()
    _build(graph, layout, tuple(cells[kind] for kind in layout.order), arena,
           list(range(len(swa))))
    return arena.high

"""A sparse GGUF of Qwen3.8-Flash-Next (llama.cpp's qwen4exp), as its loader asks for it.

qwen4exp is Qwen3.5's gated delta net hybrid with three additions, each read off
llama-cpp-python 0.3.36's vendored src/models/qwen4exp.cpp: four hyper-connection streams
instead of every layer norm (low-rank mixers per block, no output_norm: a final mixer is
the norm), Qwen Sparse Attention on the full-attention blocks (a lightning indexer whose
keys llama_memory_hybrid_idx caches per cell) and an n-gram hash embedding (PLE) feeding
one delta-net block, whose depthwise convolution keeps its own recurrent row. The table
is a 51B-parameter input tensor, kept with the token embeddings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from picker.memory.synthetic_archs import Tensor, Uint64Array, sparse_writer, write_sparse_tensors


@dataclass(frozen=True)
class Qwen4ExpModel:
    """The facts of one qwen4exp model (config.json's text_config names in comments)."""

    name: str
    n_layer: int = 48  # num_hidden_layers (the converter drops the MTP block)
    n_embd: int = 2560  # hidden_size
    n_head: int = 24
    n_head_kv: int = 2
    head_dim: int = 256
    n_vocab: int = 248320
    n_ctx_train: int = 262144
    full_attention_interval: int = 4
    ssm_conv_kernel: int = 4  # linear_conv_kernel_dim
    ssm_key_heads: int = 16  # linear_num_key_heads
    ssm_value_heads: int = 48  # linear_num_value_heads
    ssm_head_dim: int = 128  # linear_key_head_dim = linear_value_head_dim
    n_expert: int = 512
    n_expert_used: int = 10
    n_ff_expert: int = 640  # moe_intermediate_size
    n_ff_shared: int = 640  # shared_expert_intermediate_size
    hc_count: int = 4
    hc_low_rank: int = 320  # hc_lowrank
    indexer_heads: int = 4
    indexer_key_length: int = 128
    indexer_top_k: int = 2048  # indexer_budget
    compress_ratio: int = 4  # indexer_compress_ratio
    ple_layer: int = 1  # ple_layer_ids [2] is 1-based
    ple_ngram_size: int = 3
    ple_heads_per_ngram: int = 8
    ple_conv_kernel: int = 4
    ple_head_dim: int = 160  # the table's row: ple_embed_dim / heads
    ple_head_rows: int = 20000000  # ngram_vocab_size_base
    ple_table_rows: int = 320001536  # as the published GGUFs' table has it
    weight_type: str = "Q4_K"
    embedding_type: str = "Q6_K"
    table_type: str = "Q4_0"

    @property
    def ple_heads(self) -> int:
        return (self.ple_ngram_size - 1) * self.ple_heads_per_ngram

    def is_recurrent(self, il: int) -> bool:
        return (il + 1) % self.full_attention_interval != 0


QWEN38_FLASH_NEXT = Qwen4ExpModel("qwen3.8-flash-next")


def _hyper_connection(m: Qwen4ExpModel, p: str, w: str) -> Iterator[Tensor]:
    hc_dim = m.hc_count * m.n_embd
    yield p + "_norm.weight", (hc_dim,), "F32"
    yield p + "_down.weight", (hc_dim, m.hc_low_rank), w
    yield p + "_up.weight", (m.hc_low_rank, hc_dim), w


def _block(m: Qwen4ExpModel, il: int) -> Iterator[Tensor]:
    p, w, hd = f"blk.{il}.", m.weight_type, m.head_dim
    hc_dim = m.hc_count * m.n_embd
    for mixer in ("hc_attn", "hc_ffn"):
        yield from _hyper_connection(m, p + mixer, w)
        yield p + mixer + "_inject.weight", (hc_dim, m.hc_count), "Q8_0"
    if not m.is_recurrent(il):
        yield p + "attn_q.weight", (m.n_embd, m.n_head * hd * 2), w  # queries and their gate
        yield p + "attn_k.weight", (m.n_embd, m.n_head_kv * hd), w
        yield p + "attn_v.weight", (m.n_embd, m.n_head_kv * hd), w
        yield p + "attn_output.weight", (m.n_head * hd, m.n_embd), w
        yield p + "attn_q_norm.weight", (hd,), "F32"
        yield p + "attn_k_norm.weight", (hd,), "F32"
        yield p + "indexer.q_proj.weight", (m.n_embd, m.indexer_heads * m.indexer_key_length), w
        yield p + "indexer.k_proj.weight", (m.n_embd, m.indexer_key_length), w
        yield p + "indexer.q_norm.weight", (m.indexer_key_length,), "F32"
        yield p + "indexer.k_norm.weight", (m.indexer_key_length,), "F32"
    else:
        key_dim, value_dim = m.ssm_head_dim * m.ssm_key_heads, m.ssm_head_dim * m.ssm_value_heads
        yield p + "attn_qkv.weight", (m.n_embd, 2 * key_dim + value_dim), w
        yield p + "attn_gate.weight", (m.n_embd, value_dim), w
        yield p + "ssm_conv1d.weight", (m.ssm_conv_kernel, 2 * key_dim + value_dim), "F32"
        yield p + "ssm_dt.bias", (m.ssm_value_heads,), "F32"
        yield p + "ssm_a", (m.ssm_value_heads,), "F32"
        yield p + "ssm_beta.weight", (m.n_embd, m.ssm_value_heads), w
        yield p + "ssm_alpha.weight", (m.n_embd, m.ssm_value_heads), w
        yield p + "ssm_norm.weight", (m.ssm_head_dim,), "F32"
        yield p + "ssm_out.weight", (value_dim, m.n_embd), w
    if il == m.ple_layer:
        yield p + "ple_key.weight", (m.n_embd, hc_dim), "Q8_0"
        yield p + "ple_value.weight", (m.n_embd, m.n_embd), "Q8_0"
        for norm in ("key", "query", "conv"):
            yield p + f"ple_norm_{norm}.weight", (hc_dim,), "F32"
        yield p + "ple_conv1d.weight", (m.ple_conv_kernel, hc_dim), "F32"
    yield p + "ffn_gate_inp.weight", (m.n_embd, m.n_expert), "F32"
    yield p + "ffn_gate_exps.weight", (m.n_embd, m.n_ff_expert, m.n_expert), w
    yield p + "ffn_up_exps.weight", (m.n_embd, m.n_ff_expert, m.n_expert), w
    yield p + "ffn_down_exps.weight", (m.n_ff_expert, m.n_embd, m.n_expert), w
    yield p + "ffn_gate_inp_shexp.weight", (m.n_embd,), "F32"
    yield p + "ffn_gate_shexp.weight", (m.n_embd, m.n_ff_shared), w
    yield p + "ffn_up_shexp.weight", (m.n_embd, m.n_ff_shared), w
    yield p + "ffn_down_shexp.weight", (m.n_ff_shared, m.n_embd), w


def _keys(m: Qwen4ExpModel) -> dict[str, object]:
    ratios = [0 if m.is_recurrent(il) else m.compress_ratio for il in range(m.n_layer)]
    return {
        "block_count": m.n_layer, "context_length": m.n_ctx_train, "embedding_length": m.n_embd,
        "feed_forward_length": 0, "attention.head_count": m.n_head,
        "attention.head_count_kv": m.n_head_kv, "attention.key_length": m.head_dim,
        "attention.value_length": m.head_dim, "rope.dimension_count": 64,
        "rope.dimension_sections": [11, 11, 10, 0], "attention.layer_norm_rms_epsilon": 1e-6,
        "full_attention_interval": m.full_attention_interval,
        "ssm.conv_kernel": m.ssm_conv_kernel, "ssm.state_size": m.ssm_head_dim,
        "ssm.group_count": m.ssm_key_heads, "ssm.time_step_rank": m.ssm_value_heads,
        "ssm.inner_size": m.ssm_head_dim * m.ssm_value_heads,
        "expert_count": m.n_expert, "expert_used_count": m.n_expert_used,
        "expert_feed_forward_length": m.n_ff_expert,
        "expert_shared_feed_forward_length": m.n_ff_shared,
        "hyper_connection.count": m.hc_count, "hyper_connection.low_rank": m.hc_low_rank,
        "attention.indexer.head_count": m.indexer_heads,
        "attention.indexer.key_length": m.indexer_key_length,
        "attention.indexer.top_k": m.indexer_top_k, "attention.compress_ratios": ratios,
        "ple.layers": [m.ple_layer], "ple.ngram_size": m.ple_ngram_size,
        "ple.heads_per_ngram": m.ple_heads_per_ngram, "ple.conv_kernel": m.ple_conv_kernel,
        "ple.eos_token_id": 2, "embedding_length_per_layer_input": m.ple_head_dim,
        "ple.layer_multipliers": Uint64Array((3, 5, 7)),
        "ple.head_offsets": Uint64Array(h * m.ple_head_rows for h in range(m.ple_heads)),
        "ple.head_vocab_sizes": Uint64Array((m.ple_head_rows,) * m.ple_heads),
    }


def write_qwen4exp_model(m: Qwen4ExpModel, path: Path) -> Path:
    """Write `m` as a sparse GGUF (header only, a hole up to the full size)."""
    writer = sparse_writer(path, "qwen4exp", _keys(m), m.n_vocab)
    hc_dim = m.hc_count * m.n_embd
    tensors: list[Tensor] = [
        ("token_embd.weight", (m.n_embd, m.n_vocab), m.embedding_type),
        ("per_layer_token_embd.weight", (m.ple_head_dim, m.ple_table_rows), m.table_type),
        ("output_hc_norm.weight", (hc_dim,), "F32"),
        ("output_hc_down.weight", (hc_dim, m.hc_low_rank), m.weight_type),
        ("output_hc_up.weight", (m.hc_low_rank, hc_dim), m.weight_type),
        ("output.weight", (m.n_embd, m.n_vocab), m.embedding_type),
    ]
    for il in range(m.n_layer):
        tensors += _block(m, il)
    return write_sparse_tensors(writer, tensors)

"""A sparse GGUF of GLM-5.3-Flash (llama.cpp's glm5-next), as its loader asks for it.

glm5-next, read off llama-cpp-python 0.3.36's vendored src/models/glm5-next.cpp: Kimi Delta
Attention blocks (a recurrent state: three short convolutions and one head_dim^2 state per
head) and, every fourth block, MLA without rope (a K-only latent cache of kv_lora_rank)
whose DSA indexer pools its keys by `kpool` (its cache keeps key, gate and pooled values,
three key widths per cell); four mHC residual streams (Sinkhorn mixers per block);
DeepSeek-style MoE with dense lead blocks; one MTP block after the main ones, skipped
unless MTP loads. The widths are GLM-5.3-Flash's config.json.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from picker.memory.synthetic_archs import Tensor, sparse_writer, write_sparse_tensors


@dataclass(frozen=True)
class Glm5NextModel:
    """The facts of one glm5-next model (config.json's text_config names in comments)."""

    name: str
    n_layer: int = 45  # num_hidden_layers (+ num_nextn_predict_layers below)
    n_nextn: int = 1
    n_embd: int = 4096
    n_head: int = 64  # num_attention_heads = linear_attn_config num_heads
    n_vocab: int = 154880
    n_ctx_train: int = 1048576
    q_lora_rank: int = 1536
    kv_lora_rank: int = 512
    head_dim_mla: int = 256  # qk_nope_head_dim (qk_rope_head_dim 0) = v_head_dim
    kda_head_dim: int = 128
    conv_kernel: int = 4
    full_attention_every: int = 4  # full_attn_layers 3, 7, ..., 43
    n_ff: int = 12288  # intermediate_size (the dense lead blocks)
    n_dense_lead: int = 3  # first_k_dense_replace
    n_expert: int = 288
    n_expert_used: int = 8
    n_ff_expert: int = 2048
    indexer_heads: int = 32
    indexer_key_length: int = 128
    indexer_top_k: int = 2048
    indexer_kpool: int = 4
    hc_count: int = 4
    weight_type: str = "Q4_K"
    embedding_type: str = "Q6_K"

    def is_recurrent(self, il: int) -> bool:
        return il < self.n_layer and (il + 1) % self.full_attention_every != 0


GLM53_FLASH = Glm5NextModel("glm-5.3-flash")


def _block(m: Glm5NextModel, il: int) -> Iterator[Tensor]:
    p, w = f"blk.{il}.", m.weight_type
    hc_mix = (2 + m.hc_count) * m.hc_count
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    yield p + "ffn_norm.weight", (m.n_embd,), "F32"
    if il < m.n_layer:
        for mixer in ("hc_attn", "hc_ffn"):
            yield p + f"{mixer}_fn.weight", (m.hc_count * m.n_embd, hc_mix), "F32"
            yield p + f"{mixer}_base.weight", (hc_mix,), "F32"
            yield p + f"{mixer}_scale.weight", (3,), "F32"
    if m.is_recurrent(il):
        head, d_inner = m.kda_head_dim, m.kda_head_dim * m.n_head
        for part in "qkv":
            yield p + f"ssm_conv1d_{part}.weight", (m.conv_kernel, 1, d_inner), "F32"
        for part in "qkv":
            yield p + f"attn_{part}.weight", (m.n_embd, d_inner), w
        yield p + "ssm_f_a.weight", (m.n_embd, head), w
        yield p + "ssm_f_b.weight", (head, d_inner), w
        yield p + "ssm_beta.weight", (m.n_embd, m.n_head), w
        yield p + "ssm_a", (m.n_head,), "F32"
        yield p + "ssm_dt.bias", (d_inner,), "F32"
        yield p + "ssm_g_a.weight", (m.n_embd, head), w
        yield p + "ssm_g_b.weight", (head, d_inner), w
        yield p + "ssm_norm.weight", (head,), "F32"
        yield p + "attn_output.weight", (d_inner, m.n_embd), w
    else:
        rank, hd = m.kv_lora_rank, m.head_dim_mla
        yield p + "attn_q_a_norm.weight", (m.q_lora_rank,), "F32"
        yield p + "attn_kv_a_norm.weight", (rank,), "F32"
        yield p + "attn_q_a.weight", (m.n_embd, m.q_lora_rank), w
        yield p + "attn_q_b.weight", (m.q_lora_rank, m.n_head * hd), w
        yield p + "attn_kv_a_mqa.weight", (m.n_embd, rank), w
        yield p + "attn_k_b.weight", (hd, rank, m.n_head), "Q8_0"
        yield p + "attn_v_b.weight", (rank, hd, m.n_head), "Q8_0"
        yield p + "attn_output.weight", (m.n_head * hd, m.n_embd), w
        head = m.indexer_key_length
        yield p + "indexer.k_norm.weight", (head,), "F32"
        yield p + "indexer.k_norm.bias", (head,), "F32"
        yield p + "indexer.proj.weight", (m.n_embd, m.indexer_heads), "F32"
        yield p + "indexer.attn_k.weight", (m.n_embd, head), w
        yield p + "indexer.attn_q_b.weight", (m.q_lora_rank, m.indexer_heads * head), w
        yield p + "indexer_compressor_gate.weight", (m.n_embd, head), w
        yield p + "indexer_compressor_ape.weight", (head, m.indexer_kpool), "F32"
    if il < m.n_dense_lead:
        for part in ("gate", "up"):
            yield p + f"ffn_{part}.weight", (m.n_embd, m.n_ff), w
        yield p + "ffn_down.weight", (m.n_ff, m.n_embd), w
    else:
        yield p + "ffn_gate_inp.weight", (m.n_embd, m.n_expert), "F32"
        yield p + "exp_probs_b.bias", (m.n_expert,), "F32"
        for part in ("gate", "up"):
            yield p + f"ffn_{part}_exps.weight", (m.n_embd, m.n_ff_expert, m.n_expert), w
        yield p + "ffn_down_exps.weight", (m.n_ff_expert, m.n_embd, m.n_expert), w
        for part in ("gate", "up"):
            yield p + f"ffn_{part}_shexp.weight", (m.n_embd, m.n_ff_expert), w
        yield p + "ffn_down_shexp.weight", (m.n_ff_expert, m.n_embd), w
    if il >= m.n_layer:
        yield p + "nextn.eh_proj.weight", (2 * m.n_embd, m.n_embd), w
        yield p + "nextn.enorm.weight", (m.n_embd,), "F32"
        yield p + "nextn.hnorm.weight", (m.n_embd,), "F32"
        yield p + "nextn.shared_head_norm.weight", (m.n_embd,), "F32"


def _keys(m: Glm5NextModel) -> dict[str, object]:
    n_all = m.n_layer + m.n_nextn
    return {
        "block_count": n_all, "context_length": m.n_ctx_train, "embedding_length": m.n_embd,
        "feed_forward_length": m.n_ff, "attention.head_count": m.n_head,
        "attention.head_count_kv": [0 if m.is_recurrent(il) else 1 for il in range(n_all)],
        "attention.key_length": m.kv_lora_rank, "attention.value_length": m.kv_lora_rank,
        "attention.key_length_mla": m.head_dim_mla, "attention.value_length_mla": m.head_dim_mla,
        "attention.q_lora_rank": m.q_lora_rank, "attention.kv_lora_rank": m.kv_lora_rank,
        "rope.dimension_count": 0, "attention.layer_norm_rms_epsilon": 1e-5,
        "attention.layer_norm_epsilon": 1e-6, "vocab_size": m.n_vocab,
        "nextn_predict_layers": m.n_nextn, "ssm.conv_kernel": m.conv_kernel,
        "kda.head_dim": m.kda_head_dim, "kda.gate_lower_bound": -5.0,
        "leading_dense_block_count": m.n_dense_lead, "expert_count": m.n_expert,
        "expert_used_count": m.n_expert_used, "expert_feed_forward_length": m.n_ff_expert,
        "expert_shared_count": 1, "expert_weights_scale": 2.5, "expert_weights_norm": True,
        "expert_gating_func": 2, "swiglu_clamp_exp": [10.0] * n_all,
        "swiglu_clamp_shexp": [10.0] * n_all,
        "attention.indexer.head_count": m.indexer_heads,
        "attention.indexer.key_length": m.indexer_key_length,
        "attention.indexer.top_k": m.indexer_top_k, "attention.indexer.kpool": m.indexer_kpool,
        "attention.indexer.kpool_select_tail": True,
        "hyper_connection.count": m.hc_count, "hyper_connection.sinkhorn_iterations": 20,
        "hyper_connection.epsilon": 1e-6,
    }


def write_glm5next_model(m: Glm5NextModel, path: Path) -> Path:
    """Write `m` as a sparse GGUF (header only, a hole up to the full size)."""
    writer = sparse_writer(path, "glm5-next", _keys(m), m.n_vocab)
    tensors: list[Tensor] = [("token_embd.weight", (m.n_embd, m.n_vocab), m.embedding_type),
                             ("output_norm.weight", (m.n_embd,), "F32"),
                             ("output.weight", (m.n_embd, m.n_vocab), m.embedding_type)]
    for il in range(m.n_layer + m.n_nextn):
        tensors += _block(m, il)
    return write_sparse_tensors(writer, tensors)

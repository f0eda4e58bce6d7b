"""A sparse GGUF of Ling 3.0 (llama.cpp's bailingmoe3), laid out as its loader asks.

Ling 3.0 interleaves Kimi Delta Attention blocks (no KV heads: Q/K/V with short
convolutions, full-width forget and output gates, a per-head state) with multi-head latent
attention blocks (query compression, a K-only latent cache, a per-head output gate) on the
last block of every group and after the last whole group; its feed-forward is Ling 2.0's
(a dense lead block, routed experts with a selection bias, one shared expert). Read off
llama_model_bailingmoe3::load_arch_tensors and conversion/bailingmoe3.py of the llama.cpp
that llama-cpp-python 0.3.36 vendors; tests/test_memory_bailing3.py holds plans of it to
that llama.cpp's dry run.
"""

from __future__ import annotations

from collections.abc import Iterator

from picker.memory.synthetic_archs import (
    LAYER_TENSORS,
    ArchModel,
    Tensor,
    _moe_with_dense_lead,
    _qkv,
)


def full_attention_layers(n_layer: int, group: int) -> list[int]:
    """The converter's MLA blocks: the last of every group of `group`, and every block after
    the last whole group (is_full_attention)."""
    return [il for il in range(n_layer)
            if (il + 1) % group == 0 or il >= n_layer // group * group]


def _bailingmoe3(m: ArchModel, il: int) -> Iterator[Tensor]:
    p, w = f"blk.{il}.", m.weight_type
    kv = m.n_head_kv if isinstance(m.n_head_kv, int) else m.n_head_kv[il]
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    if kv == 0:
        head, d_conv = m.key("kda.head_dim"), m.key("ssm.conv_kernel")
        d_inner = head * m.n_head
        for part in "qkv":
            yield p + f"ssm_conv1d_{part}.weight", (d_conv, 1, d_inner), "F32"
        yield from _qkv(m, p, d_inner, d_inner)
        yield p + "ssm_f_a.weight", (m.n_embd, d_inner), w
        yield p + "ssm_beta.weight", (m.n_embd, m.n_head), w
        yield p + "ssm_a", (1, m.n_head), "F32"
        yield p + "ssm_dt.bias", (d_inner,), "F32"
        yield p + "ssm_g_a.weight", (m.n_embd, d_inner), w
        yield p + "ssm_norm.weight", (head,), "F32"
        yield p + "attn_output.weight", (d_inner, m.n_embd), w
    else:
        rank, q_rank = m.key("attention.kv_lora_rank"), m.key("attention.q_lora_rank")
        rope = m.key("rope.dimension_count")
        k_mla, v_mla = m.key("attention.key_length_mla"), m.key("attention.value_length_mla")
        if q_rank:
            yield p + "attn_q_a.weight", (m.n_embd, q_rank), w
            yield p + "attn_q_a_norm.weight", (q_rank,), "F32"
            yield p + "attn_q_b.weight", (q_rank, m.n_head * k_mla), w
        else:  # (Ling-3.0-flash: no query compression)
            yield p + "attn_q.weight", (m.n_embd, m.n_head * k_mla), w
        yield p + "attn_kv_a_mqa.weight", (m.n_embd, rank + rope), w
        yield p + "attn_kv_a_norm.weight", (rank,), "F32"
        yield p + "attn_k_b.weight", (k_mla - rope, rank, m.n_head), "Q8_0"
        yield p + "attn_v_b.weight", (rank, v_mla, m.n_head), "Q8_0"
        yield p + "attn_gate.weight", (m.n_embd, m.n_head), w
        yield p + "attn_output.weight", (m.n_head * v_mla, m.n_embd), w
    yield from _moe_with_dense_lead(m, p, il)


LAYER_TENSORS.setdefault("bailingmoe3", _bailingmoe3)

_TINY_MLA = full_attention_layers(24, 4)
# Ling-3.0-tiny as its published config gives it: 24 blocks 1536 wide, 16 heads, KDA heads
# of 128 with short convolutions of 4, MLA (q_lora_rank 256, kv_lora_rank 512, 128 + 64
# query/key, value 128) in blocks 3, 7, ..., 23, one dense lead block (4608), 128 experts of
# 512 (8 used in 8 groups of which 4, sigmoid router with a bias, weights normalised and
# scaled by 2.5) + 1 shared expert of 512, vocabulary 157184, 131072 positions, untied
LING_3_TINY = ArchModel(
    "ling-3.0-tiny", "bailingmoe3", 24, 1536, 16,
    [1 if il in _TINY_MLA else 0 for il in range(24)], 576, 4608, 157184,
    n_ctx_train=131072,
    keys={"attention.value_length": 128, "attention.kv_lora_rank": 512,
          "attention.q_lora_rank": 256, "attention.key_length_mla": 192,
          "attention.value_length_mla": 128, "rope.dimension_count": 64,
          "ssm.conv_kernel": 4, "kda.head_dim": 128, "kda.safe_gate": True,
          "kda.gate_lower_bound": -5.0, "leading_dense_block_count": 1,
          "expert_count": 128, "expert_used_count": 8, "expert_feed_forward_length": 512,
          "expert_shared_feed_forward_length": 512, "expert_shared_count": 1,
          "expert_weights_scale": 2.5, "expert_weights_norm": True, "expert_gating_func": 2,
          "expert_group_count": 8, "expert_group_used_count": 4})


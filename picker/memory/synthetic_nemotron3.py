"""A sparse GGUF of Nemotron 3 Super 120B-A12B (llama.cpp's nemotron_h_moe), as its loader asks.

Nemotron-H blocks are one of three kinds, which llama.cpp tells apart by the per-block head
count and FFN width (src/models/nemotron-h.cpp in llama-cpp-python 0.3.36): Mamba-2 (no KV
heads, no FFN), attention (KV heads, no FFN) and MoE (an FFN width). Super's MoE is
"latent": each block projects the residual down to `moe_latent_size` before its routed
experts (ffn_latent_down / ffn_latent_up) while the shared expert works at full width; one
MTP block after the main ones folds attention and a MoE, skipped unless MTP loads. The
widths are its config.json's; the block order is a stand-in with the config's counts (40
Mamba-2, 40 MoE, 8 attention), which is all the caches depend on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from picker.memory.synthetic_archs import Tensor, sparse_writer, write_sparse_tensors

# eight repeats of Mamba / MoE pairs with one attention block: 40 M, 40 E, 8 *
_PATTERN = "MEMEM*EMEME" * 8


@dataclass(frozen=True)
class NemotronHMoeModel:
    """The facts of one nemotron_h_moe model (config.json's names in comments)."""

    name: str
    pattern: str = _PATTERN  # hybrid_override_pattern (M: Mamba-2, E: MoE, *: attention)
    n_nextn: int = 1  # num_nextn_predict_layers
    n_embd: int = 4096
    n_head: int = 32
    n_head_kv: int = 2
    head_dim: int = 128
    n_vocab: int = 131072
    n_ctx_train: int = 262144
    ssm_heads: int = 128  # mamba_num_heads (x mamba_head_dim 64 = d_inner 8192)
    ssm_d_inner: int = 8192
    ssm_state: int = 128
    ssm_groups: int = 8
    ssm_conv: int = 4
    n_expert: int = 512
    n_expert_used: int = 22
    n_ff_expert: int = 2688  # moe_intermediate_size
    n_ff_shared: int = 5376  # moe_shared_expert_intermediate_size
    moe_latent: int = 1024  # moe_latent_size; 0: none
    weight_type: str = "Q4_K"
    embedding_type: str = "Q6_K"

    @property
    def n_layer(self) -> int:
        return len(self.pattern)


NEMOTRON_3_SUPER = NemotronHMoeModel("nemotron-3-super-120b-a12b")
# Nemotron 3 Nano 30B-A3B's widths (its catalog row): 52 blocks, 23 Mamba-2 of 64 heads, 23
# MoE, 6 attention; 128 experts of 1856 (6 used) + a shared one of 3712, no latent
NEMOTRON_3_NANO = NemotronHMoeModel(
    "nemotron-3-nano-30b-a3b", pattern="".join(
        "*" if il in (5, 12, 19, 26, 33, 42) else "ME"[il % 2] for il in range(52)), n_nextn=0, n_embd=2688,
    ssm_heads=64, ssm_d_inner=4096, n_expert=128, n_expert_used=6, n_ff_expert=1856,
    n_ff_shared=3712, moe_latent=0)


def _attention(m: NemotronHMoeModel, p: str) -> Iterator[Tensor]:
    w, hd = m.weight_type, m.head_dim
    yield p + "attn_q.weight", (m.n_embd, m.n_head * hd), w
    yield p + "attn_k.weight", (m.n_embd, m.n_head_kv * hd), w
    yield p + "attn_v.weight", (m.n_embd, m.n_head_kv * hd), w
    yield p + "attn_output.weight", (m.n_head * hd, m.n_embd), w


def _moe(m: NemotronHMoeModel, p: str) -> Iterator[Tensor]:
    w = m.weight_type
    yield p + "ffn_gate_inp.weight", (m.n_embd, m.n_expert), "F32"
    yield p + "exp_probs_b.bias", (m.n_expert,), "F32"
    width = m.moe_latent or m.n_embd  # (Nemotron 3 Nano: no latent projection)
    if m.moe_latent:
        yield p + "ffn_latent_down.weight", (m.n_embd, m.moe_latent), w
        yield p + "ffn_latent_up.weight", (m.moe_latent, m.n_embd), w
    yield p + "ffn_down_exps.weight", (m.n_ff_expert, width, m.n_expert), w
    yield p + "ffn_up_exps.weight", (width, m.n_ff_expert, m.n_expert), w
    yield p + "ffn_down_shexp.weight", (m.n_ff_shared, m.n_embd), w
    yield p + "ffn_up_shexp.weight", (m.n_embd, m.n_ff_shared), w


def _block(m: NemotronHMoeModel, il: int) -> Iterator[Tensor]:
    p, w = f"blk.{il}.", m.weight_type
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    if il >= m.n_layer:  # the MTP block: NextN fusion, attention and a MoE
        yield p + "nextn.enorm.weight", (m.n_embd,), "F32"
        yield p + "nextn.hnorm.weight", (m.n_embd,), "F32"
        yield p + "nextn.eh_proj.weight", (2 * m.n_embd, m.n_embd), w
        yield p + "nextn.shared_head_norm.weight", (m.n_embd,), "F32"
        yield from _attention(m, p)
        yield p + "post_attention_norm.weight", (m.n_embd,), "F32"
        yield from _moe(m, p)
        return
    kind = m.pattern[il]
    if kind == "M":
        conv = m.ssm_d_inner + 2 * m.ssm_groups * m.ssm_state
        yield p + "ssm_in.weight", (m.n_embd, conv + m.ssm_d_inner + m.ssm_heads), w
        yield p + "ssm_conv1d.weight", (m.ssm_conv, conv), "F32"
        yield p + "ssm_conv1d.bias", (conv,), "F32"
        yield p + "ssm_dt.bias", (m.ssm_heads,), "F32"
        yield p + "ssm_a", (1, m.ssm_heads), "F32"
        yield p + "ssm_d", (1, m.ssm_heads), "F32"
        yield p + "ssm_norm.weight", (m.ssm_d_inner // m.ssm_groups, m.ssm_groups), "F32"
        yield p + "ssm_out.weight", (m.ssm_d_inner, m.n_embd), w
    elif kind == "*":
        yield from _attention(m, p)
    else:
        yield from _moe(m, p)


def _keys(m: NemotronHMoeModel) -> dict[str, object]:
    n_all = m.n_layer + m.n_nextn
    kinds = m.pattern + "*" * m.n_nextn
    return {
        "block_count": n_all, "context_length": m.n_ctx_train, "embedding_length": m.n_embd,
        "feed_forward_length": [m.n_ff_expert if k == "E" or il >= m.n_layer else 0
                                for il, k in enumerate(kinds)],
        "attention.head_count": m.n_head,
        "attention.head_count_kv": [m.n_head_kv if k == "*" else 0 for k in kinds],
        "attention.key_length": m.head_dim, "attention.value_length": m.head_dim,
        "rope.dimension_count": m.head_dim, "attention.layer_norm_epsilon": 1e-5,
        "attention.layer_norm_rms_epsilon": 1e-5, "nextn_predict_layers": m.n_nextn,
        "ssm.conv_kernel": m.ssm_conv, "ssm.inner_size": m.ssm_d_inner,
        "ssm.state_size": m.ssm_state, "ssm.time_step_rank": m.ssm_heads,
        "ssm.group_count": m.ssm_groups, "expert_count": m.n_expert,
        "expert_used_count": m.n_expert_used, "expert_feed_forward_length": m.n_ff_expert,
        "expert_shared_feed_forward_length": m.n_ff_shared, "expert_shared_count": 1,
        "expert_weights_norm": True, "expert_weights_scale": 5.0,
        **({"moe_latent_size": m.moe_latent} if m.moe_latent else {}),
    }


def write_nemotron_h_moe_model(m: NemotronHMoeModel, path: Path) -> Path:
    """Write `m` as a sparse GGUF (header only, a hole up to the full size)."""
    writer = sparse_writer(path, "nemotron_h_moe", _keys(m), m.n_vocab)
    tensors: list[Tensor] = [("token_embd.weight", (m.n_embd, m.n_vocab), m.embedding_type),
                             ("output_norm.weight", (m.n_embd,), "F32"),
                             ("output.weight", (m.n_embd, m.n_vocab), m.embedding_type)]
    for il in range(m.n_layer + m.n_nextn):
        tensors += _block(m, il)
    return write_sparse_tensors(writer, tensors)

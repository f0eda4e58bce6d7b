"""Sparse GGUFs of the 2026 architectures, laid out as llama.cpp's loaders ask for them.

`synthetic.write_model` covers the plain transformer stack; the models people run
locally in 2026 are mixtures of experts (qwen3moe, glm4moe, gpt-oss), compressed
attention (deepseek2's MLA), hybrids of gated delta nets and attention (qwen35,
qwen35moe, qwen3next) and Gemma 4 with per-layer embeddings and layers that share
another layer's KV cache. Each `ArchModel` here names its metadata keys and lists its
tensors, read off `load_arch_hparams` / `load_arch_tensors` in llama-cpp-python
0.3.36's vendored llama.cpp (src/models/<arch>.cpp). Only header bytes are written
(the file is a hole up to its full size): enough for llama.cpp's no-alloc dry run,
which the accuracy tests and benchmarks/bench_memory.py compare plans against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gguf import GGUFWriter

from picker.memory.synthetic import _matrix, _vector, add_stand_in_vocabulary

Tensor = tuple[str, tuple[int, ...], str]  # name, ggml shape (ne0 first), type


@dataclass(frozen=True)
class ArchModel:
    """One model shape: common facts, the architecture's own keys, and its tensors."""

    name: str
    architecture: str
    n_layer: int  # block_count, MTP/nextn blocks included
    n_embd: int
    n_head: int
    n_head_kv: int | list[int]
    head_dim: int
    n_ff: int
    n_vocab: int
    keys: dict[str, Any] = field(default_factory=dict)  # without the "<arch>." prefix
    n_ctx_train: int = 262144
    tied_embeddings: bool = False
    weight_type: str = "Q4_K"
    embedding_type: str = "Q6_K"
    fused_gate_up: bool = False  # the experts' gate and up as one ffn_gate_up_exps tensor
    fused_qkv: bool = False  # Q, K and V as one attn_qkv tensor (mimo2: MiMo-V2.5's files)

    def key(self, name: str, default: Any = 0) -> Any:
        return self.keys.get(name, default)


def _qkv(m: ArchModel, p: str, q_width: int, kv_width: int) -> Iterator[Tensor]:
    w = m.weight_type
    yield p + "attn_q.weight", (m.n_embd, q_width), w
    yield p + "attn_k.weight", (m.n_embd, kv_width), w
    yield p + "attn_v.weight", (m.n_embd, kv_width), w


def _qkv_biases(p: str, q_width: int, kv_width: int) -> Iterator[Tensor]:
    yield p + "attn_q.bias", (q_width,), "F32"
    yield p + "attn_k.bias", (kv_width,), "F32"
    yield p + "attn_v.bias", (kv_width,), "F32"


def _experts(m: ArchModel, p: str, n_ff_exp: int) -> Iterator[Tensor]:
    w, n_expert = m.weight_type, m.key("expert_count")
    yield p + "ffn_gate_inp.weight", (m.n_embd, n_expert), "F32"
    if m.fused_gate_up:
        yield p + "ffn_gate_up_exps.weight", (m.n_embd, 2 * n_ff_exp, n_expert), w
    else:
        yield p + "ffn_gate_exps.weight", (m.n_embd, n_ff_exp, n_expert), w
        yield p + "ffn_up_exps.weight", (m.n_embd, n_ff_exp, n_expert), w
    yield p + "ffn_down_exps.weight", (n_ff_exp, m.n_embd, n_expert), w


def _dense_ffn(m: ArchModel, p: str, n_ff: int, suffix: str = "") -> Iterator[Tensor]:
    w = m.weight_type
    yield p + f"ffn_gate{suffix}.weight", (m.n_embd, n_ff), w
    yield p + f"ffn_up{suffix}.weight", (m.n_embd, n_ff), w
    yield p + f"ffn_down{suffix}.weight", (n_ff, m.n_embd), w


def _nextn(m: ArchModel, p: str) -> Iterator[Tensor]:
    yield p + "nextn.eh_proj.weight", (2 * m.n_embd, m.n_embd), m.weight_type
    yield p + "nextn.enorm.weight", (m.n_embd,), "F32"
    yield p + "nextn.hnorm.weight", (m.n_embd,), "F32"
    yield p + "nextn.shared_head_norm.weight", (m.n_embd,), "F32"


def _qwen3moe(m: ArchModel, il: int) -> Iterator[Tensor]:
    p, hd = f"blk.{il}.", m.head_dim
    kv = m.n_head_kv if isinstance(m.n_head_kv, int) else m.n_head_kv[il]
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    yield from _qkv(m, p, m.n_head * hd, kv * hd)
    yield p + "attn_output.weight", (m.n_head * hd, m.n_embd), m.weight_type
    yield p + "attn_q_norm.weight", (hd,), "F32"
    yield p + "attn_k_norm.weight", (hd,), "F32"
    yield p + "ffn_norm.weight", (m.n_embd,), "F32"
    yield from _experts(m, p, m.key("expert_feed_forward_length"))


def _is_recurrent(m: ArchModel, il: int) -> bool:
    n_layer = m.n_layer - int(m.key("nextn_predict_layers"))
    return il < n_layer and (il + 1) % int(m.key("full_attention_interval", 4)) != 0


def _delta_net_hybrid(m: ArchModel, il: int) -> Iterator[Tensor]:
    """qwen35 / qwen35moe / qwen3next blocks: gated delta net or gated attention."""
    p, hd, w = f"blk.{il}.", m.head_dim, m.weight_type
    d_state, n_group = m.key("ssm.state_size"), m.key("ssm.group_count")
    n_v_heads = m.key("ssm.time_step_rank")
    key_dim, value_dim = d_state * n_group, d_state * n_v_heads
    mtp = il >= m.n_layer - m.key("nextn_predict_layers")
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    yield p + "post_attention_norm.weight", (m.n_embd,), "F32"
    if not _is_recurrent(m, il):
        kv = m.n_head_kv if isinstance(m.n_head_kv, int) else m.n_head_kv[il]
        yield from _qkv(m, p, m.n_head * hd * 2, kv * hd)  # Q and its output gate
        yield p + "attn_output.weight", (m.n_head * hd, m.n_embd), w
        yield p + "attn_q_norm.weight", (hd,), "F32"
        yield p + "attn_k_norm.weight", (hd,), "F32"
    else:
        yield p + "attn_qkv.weight", (m.n_embd, 2 * key_dim + value_dim), w
        yield p + "attn_gate.weight", (m.n_embd, value_dim), w
        yield p + "ssm_conv1d.weight", (m.key("ssm.conv_kernel"), 2 * key_dim + value_dim), "F32"
        yield p + "ssm_dt.bias", (n_v_heads,), "F32"
        yield p + "ssm_a", (n_v_heads,), "F32"
        if m.architecture == "qwen3next":
            yield p + "ssm_ba.weight", (m.n_embd, 2 * n_v_heads), w
        else:
            yield p + "ssm_beta.weight", (m.n_embd, n_v_heads), w
            yield p + "ssm_alpha.weight", (m.n_embd, n_v_heads), w
        yield p + "ssm_norm.weight", (d_state,), "F32"
        yield p + "ssm_out.weight", (value_dim, m.n_embd), w
    if m.architecture == "qwen35":
        yield from _dense_ffn(m, p, m.n_ff)
    else:
        yield from _experts(m, p, m.key("expert_feed_forward_length"))
        n_ff_shexp = m.key("expert_shared_feed_forward_length")
        yield p + "ffn_gate_inp_shexp.weight", (m.n_embd,), "F32"
        yield from _dense_ffn(m, p, n_ff_shexp, "_shexp")
    if mtp:
        yield from _nextn(m, p)


def _gemma4(m: ArchModel, il: int) -> Iterator[Tensor]:
    p, w = f"blk.{il}.", m.weight_type
    swa = m.key("attention.sliding_window_pattern")[il]
    hd = m.key("attention.key_length_swa") if swa else m.head_dim
    kv = m.n_head_kv if isinstance(m.n_head_kv, int) else m.n_head_kv[il]
    has_kv = il < m.n_layer - m.key("attention.shared_kv_layers")
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    yield p + "attn_q.weight", (m.n_embd, m.n_head * hd), w
    if has_kv:
        yield p + "attn_k.weight", (m.n_embd, kv * hd), w
        yield p + "attn_v.weight", (m.n_embd, kv * hd), w
        yield p + "attn_k_norm.weight", (hd,), "F32"
    yield p + "attn_output.weight", (m.n_head * hd, m.n_embd), w
    yield p + "attn_q_norm.weight", (hd,), "F32"
    yield p + "post_attention_norm.weight", (m.n_embd,), "F32"
    yield p + "ffn_norm.weight", (m.n_embd,), "F32"
    yield from _dense_ffn(m, p, m.n_ff)
    yield p + "post_ffw_norm.weight", (m.n_embd,), "F32"
    if m.key("expert_count"):
        yield p + "ffn_gate_inp.scale", (m.n_embd,), "F32"
        yield p + "pre_ffw_norm_2.weight", (m.n_embd,), "F32"
        yield p + "post_ffw_norm_1.weight", (m.n_embd,), "F32"
        yield p + "post_ffw_norm_2.weight", (m.n_embd,), "F32"
        yield from _experts(m, p, m.key("expert_feed_forward_length"))
        # the router's per-expert scale, converted to a scale on each expert's output
        yield p + "ffn_down_exps.scale", (m.key("expert_count"),), "F32"
    per_layer = m.key("embedding_length_per_layer_input")
    if per_layer:
        yield p + "inp_gate.weight", (m.n_embd, per_layer), w
        yield p + "proj.weight", (per_layer, m.n_embd), w
        yield p + "post_norm.weight", (m.n_embd,), "F32"


def _gemma4_globals(m: ArchModel) -> Iterator[Tensor]:
    full_head = m.head_dim
    yield "rope_freqs.weight", (full_head // 2,), "F32"
    per_layer = m.key("embedding_length_per_layer_input")
    if per_layer:
        yield "per_layer_token_embd.weight", (per_layer * m.n_layer, m.n_vocab), m.embedding_type
        yield "per_layer_model_proj.weight", (m.n_embd, per_layer * m.n_layer), "BF16"
        yield "per_layer_proj_norm.weight", (per_layer,), "F32"


def _deepseek2(m: ArchModel, il: int) -> Iterator[Tensor]:
    p, w = f"blk.{il}.", m.weight_type
    rank, q_rank = m.key("attention.kv_lora_rank"), m.key("attention.q_lora_rank")
    k_mla, v_mla = m.key("attention.key_length_mla"), m.key("attention.value_length_mla")
    rope = m.key("rope.dimension_count")
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    yield p + "attn_kv_a_norm.weight", (rank,), "F32"
    if q_rank:
        yield p + "attn_q_a_norm.weight", (q_rank,), "F32"
        yield p + "attn_q_a.weight", (m.n_embd, q_rank), w
        yield p + "attn_q_b.weight", (q_rank, m.n_head * k_mla), w
    else:
        yield p + "attn_q.weight", (m.n_embd, m.n_head * k_mla), w
    yield p + "attn_kv_a_mqa.weight", (m.n_embd, rank + rope), w
    yield p + "attn_k_b.weight", (k_mla - rope, rank, m.n_head), "Q8_0"
    yield p + "attn_v_b.weight", (rank, v_mla, m.n_head), "Q8_0"
    yield p + "attn_output.weight", (m.n_head * v_mla, m.n_embd), w
    yield from _moe_with_dense_lead(m, p, il)


def _glm_dsa(m: ArchModel, il: int) -> Iterator[Tensor]:
    """glm-dsa (GLM-5): deepseek2's MLA block with the DSA lightning indexer's projections
    (its keys get a cache of their own); an MTP block after the main ones."""
    p, w = f"blk.{il}.", m.weight_type
    yield from _deepseek2(m, il)
    heads, head = m.key("attention.indexer.head_count"), m.key("attention.indexer.key_length")
    yield p + "indexer.k_norm.weight", (head,), "F32"
    yield p + "indexer.k_norm.bias", (head,), "F32"
    yield p + "indexer.proj.weight", (m.n_embd, heads), "F32"
    yield p + "indexer.attn_k.weight", (m.n_embd, head), w
    yield p + "indexer.attn_q_b.weight", (m.key("attention.q_lora_rank"), heads * head), w
    if il >= m.n_layer - m.key("nextn_predict_layers"):
        yield from _nextn(m, p)


def _deepseek4(m: ArchModel, il: int) -> Iterator[Tensor]:
    """deepseek4 (DeepSeek V4): one shared K=V head of `head_dim` with a low-rank query and
    a grouped low-rank output, attention sinks, hyper-connection mixers around attention and
    the FFN; per block a compression ratio (0: the sliding window only; 4: a compressor and
    the lightning indexer's own; 128: a compressor); hash-routed experts in the first
    blocks (a token-to-expert table), biased routing after; MXFP4 experts as converted."""
    p, w, hd = f"blk.{il}.", m.weight_type, m.head_dim
    q_rank, groups = m.key("attention.q_lora_rank"), m.key("attention.output_group_count")
    o_rank, hc = m.key("attention.output_lora_rank"), m.key("hyper_connection.count")
    mix = (2 + hc) * hc
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    yield p + "attn_sinks.weight", (m.n_head,), "F32"
    yield p + "attn_q_a.weight", (m.n_embd, q_rank), w
    yield p + "attn_q_a_norm.weight", (q_rank,), "F32"
    yield p + "attn_q_b.weight", (q_rank, m.n_head * hd), w
    yield p + "attn_kv.weight", (m.n_embd, hd), w
    yield p + "attn_kv_a_norm.weight", (hd,), "F32"
    yield p + "attn_output_a.weight", (m.n_head * hd // groups, o_rank * groups), w
    yield p + "attn_output_b.weight", (groups * o_rank, m.n_embd), w
    for part in ("attn", "ffn"):
        yield p + f"hc_{part}_fn.weight", (hc * m.n_embd, mix), "F32"
        yield p + f"hc_{part}_base.weight", (mix,), "F32"
        yield p + f"hc_{part}_scale.weight", (3,), "F32"
    ratio = m.key("attention.compress_ratios")[il]
    if ratio:
        width = (2 if ratio == 4 else 1) * hd
        yield p + "attn_compressor_kv.weight", (m.n_embd, width), w
        yield p + "attn_compressor_gate.weight", (m.n_embd, width), w
        yield p + "attn_compressor_ape.weight", (width, ratio), "F32"
        yield p + "attn_compressor_norm.weight", (hd,), "F32"
    if ratio == 4:
        heads, head = m.key("attention.indexer.head_count"), m.key("attention.indexer.key_length")
        yield p + "indexer.proj.weight", (m.n_embd, heads), "BF16"
        yield p + "indexer.attn_q_b.weight", (q_rank, heads * head), w
        yield p + "indexer_compressor_kv.weight", (m.n_embd, 2 * head), w
        yield p + "indexer_compressor_gate.weight", (m.n_embd, 2 * head), w
        yield p + "indexer_compressor_ape.weight", (2 * head, ratio), "F32"
        yield p + "indexer_compressor_norm.weight", (head,), "F32"
    n_expert, n_ff_exp = m.key("expert_count"), m.key("expert_feed_forward_length")
    yield p + "ffn_gate_inp.weight", (m.n_embd, n_expert), "BF16"
    if il < m.key("hash_layer_count"):
        yield p + "ffn_gate_tid2eid.weight", (m.key("expert_used_count"), m.n_vocab), "I32"
    else:
        yield p + "exp_probs_b.bias", (n_expert,), "F32"
    yield p + "ffn_norm.weight", (m.n_embd,), "F32"
    yield p + "ffn_gate_exps.weight", (m.n_embd, n_ff_exp, n_expert), "MXFP4"
    yield p + "ffn_up_exps.weight", (m.n_embd, n_ff_exp, n_expert), "MXFP4"
    yield p + "ffn_down_exps.weight", (n_ff_exp, m.n_embd, n_expert), "MXFP4"
    yield from _dense_ffn(m, p, n_ff_exp * m.key("expert_shared_count"), "_shexp")


def _deepseek4_globals(m: ArchModel) -> Iterator[Tensor]:
    """The hyper-connection head that folds the residual streams before the output norm."""
    hc = m.key("hyper_connection.count")
    yield "output_hc_fn.weight", (hc * m.n_embd, hc), "F32"
    yield "output_hc_base.weight", (hc,), "F32"
    yield "output_hc_scale.weight", (1,), "F32"


def _moe_with_dense_lead(m: ArchModel, p: str, il: int) -> Iterator[Tensor]:
    """deepseek2 / mistral4 / glm4moe feed-forward: dense lead blocks, then routed + shared
    experts (glm4moe's FFN norm is its post-attention norm)."""
    if m.architecture != "glm4moe":
        yield p + "ffn_norm.weight", (m.n_embd,), "F32"
    if il < m.key("leading_dense_block_count"):
        yield from _dense_ffn(m, p, m.n_ff)
        return
    n_ff_exp = m.key("expert_feed_forward_length")
    yield from _experts(m, p, n_ff_exp)
    yield p + "exp_probs_b.bias", (m.key("expert_count"),), "F32"
    yield from _dense_ffn(m, p, n_ff_exp * m.key("expert_shared_count"), "_shexp")


def _glm4moe(m: ArchModel, il: int) -> Iterator[Tensor]:
    p, hd, w = f"blk.{il}.", m.head_dim, m.weight_type
    kv = m.n_head_kv if isinstance(m.n_head_kv, int) else m.n_head_kv[il]
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    yield from _qkv(m, p, m.n_head * hd, kv * hd)
    yield from _qkv_biases(p, m.n_head * hd, kv * hd)
    yield p + "attn_output.weight", (m.n_head * hd, m.n_embd), w
    yield p + "post_attention_norm.weight", (m.n_embd,), "F32"
    yield from _moe_with_dense_lead(m, p, il)
    if il >= m.n_layer - m.key("nextn_predict_layers"):
        yield from _nextn(m, p)


def _gpt_oss(m: ArchModel, il: int) -> Iterator[Tensor]:
    p, hd, w = f"blk.{il}.", m.head_dim, m.weight_type
    kv = m.n_head_kv if isinstance(m.n_head_kv, int) else m.n_head_kv[il]
    n_ff_exp, n_expert = m.key("expert_feed_forward_length"), m.key("expert_count")
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    yield p + "post_attention_norm.weight", (m.n_embd,), "F32"
    yield from _qkv(m, p, m.n_head * hd, kv * hd)
    yield from _qkv_biases(p, m.n_head * hd, kv * hd)
    yield p + "attn_output.weight", (m.n_head * hd, m.n_embd), w
    yield p + "attn_output.bias", (m.n_embd,), "F32"
    yield p + "attn_sinks.weight", (m.n_head,), "F32"
    yield from _experts(m, p, n_ff_exp)
    yield p + "ffn_gate_inp.bias", (n_expert,), "F32"
    yield p + "ffn_gate_exps.bias", (n_ff_exp, n_expert), "F32"
    yield p + "ffn_up_exps.bias", (n_ff_exp, n_expert), "F32"
    yield p + "ffn_down_exps.bias", (m.n_embd, n_expert), "F32"


def _dense(m: ArchModel, il: int) -> Iterator[Tensor]:
    """The llama-like dense blocks: seed_oss (Q/K/V biases, its FFN norm named a
    post-attention norm), smollm3, mistral3 and olmo2 (OLMo 3: no pre-norms, Q/K norms
    over all heads, post-norms after attention and FFN)."""
    p, hd, w, arch = f"blk.{il}.", m.head_dim, m.weight_type, m.architecture
    kv = m.n_head_kv if isinstance(m.n_head_kv, int) else m.n_head_kv[il]
    if arch != "olmo2":
        yield p + "attn_norm.weight", (m.n_embd,), "F32"
    yield from _qkv(m, p, m.n_head * hd, kv * hd)
    if arch == "seed_oss":
        yield from _qkv_biases(p, m.n_head * hd, kv * hd)
    yield p + "attn_output.weight", (m.n_head * hd, m.n_embd), w
    if arch == "olmo2":
        yield p + "attn_q_norm.weight", (m.n_head * hd,), "F32"
        yield p + "attn_k_norm.weight", (kv * hd,), "F32"
    if arch in ("olmo2", "seed_oss"):
        yield p + "post_attention_norm.weight", (m.n_embd,), "F32"
    else:
        yield p + "ffn_norm.weight", (m.n_embd,), "F32"
    yield from _dense_ffn(m, p, m.n_ff)
    if arch == "olmo2":
        yield p + "post_ffw_norm.weight", (m.n_embd,), "F32"


def _granite_hybrid(m: ArchModel, il: int) -> Iterator[Tensor]:
    """granitehybrid (Granite 4.0 H): Mamba-2 blocks where a block has no KV heads,
    attention elsewhere; a dense SwiGLU feed-forward after either."""
    p, hd, w = f"blk.{il}.", m.head_dim, m.weight_type
    kv = m.n_head_kv if isinstance(m.n_head_kv, int) else m.n_head_kv[il]
    d_inner, d_state = m.key("ssm.inner_size"), m.key("ssm.state_size")
    n_group, n_ssm_head = m.key("ssm.group_count"), m.key("ssm.time_step_rank")
    conv_width = d_inner + 2 * n_group * d_state
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    if kv:
        yield from _qkv(m, p, m.n_head * hd, kv * hd)
        yield p + "attn_output.weight", (m.n_head * hd, m.n_embd), w
    else:
        yield p + "ssm_in.weight", (m.n_embd, conv_width + d_inner + n_ssm_head), w
        yield p + "ssm_conv1d.weight", (m.key("ssm.conv_kernel"), conv_width), "F32"
        yield p + "ssm_conv1d.bias", (conv_width,), "F32"
        yield p + "ssm_dt.bias", (n_ssm_head,), "F32"
        yield p + "ssm_a", (1, n_ssm_head), "F32"
        yield p + "ssm_d", (1, n_ssm_head), "F32"
        yield p + "ssm_norm.weight", (d_inner // n_group, n_group), "F32"
        yield p + "ssm_out.weight", (d_inner, m.n_embd), w
    yield p + "ffn_norm.weight", (m.n_embd,), "F32"
    yield from _dense_ffn(m, p, m.n_ff)


def _llama4(m: ArchModel, il: int) -> Iterator[Tensor]:
    """llama4: llama's attention; every `interleave_moe_layer_step`-th block routed
    experts plus one shared expert of the same width, the others a dense FFN."""
    p, hd, w = f"blk.{il}.", m.head_dim, m.weight_type
    kv = m.n_head_kv if isinstance(m.n_head_kv, int) else m.n_head_kv[il]
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    yield from _qkv(m, p, m.n_head * hd, kv * hd)
    yield p + "attn_output.weight", (m.n_head * hd, m.n_embd), w
    yield p + "ffn_norm.weight", (m.n_embd,), "F32"
    step = m.key("interleave_moe_layer_step")
    if step and (il + 1) % step == 0:
        n_ff_exp = m.key("expert_feed_forward_length")
        yield from _experts(m, p, n_ff_exp)
        yield from _dense_ffn(m, p, n_ff_exp, "_shexp")
    else:
        yield from _dense_ffn(m, p, m.n_ff)


def _kimi_mla(m: ArchModel, p: str, w: str, gated: bool) -> Iterator[Tensor]:
    """The MLA attention of Kimi Linear's and Kimi K3's full-attention blocks (K3's with an
    output gate)."""
    rank, rope = m.key("attention.kv_lora_rank"), m.key("rope.dimension_count")
    k_mla, v_mla = m.key("attention.key_length_mla"), m.key("attention.value_length_mla")
    yield p + "attn_kv_a_norm.weight", (rank,), "F32"
    yield p + "attn_q.weight", (m.n_embd, m.n_head * k_mla), w
    yield p + "attn_kv_a_mqa.weight", (m.n_embd, rank + rope), w
    yield p + "attn_k_b.weight", (k_mla - rope, rank, m.n_head), "Q8_0"
    yield p + "attn_v_b.weight", (rank, v_mla, m.n_head), "Q8_0"
    if gated:
        yield p + "attn_gate.weight", (m.n_embd, m.n_head * v_mla), w
    yield p + "attn_output.weight", (m.n_head * v_mla, m.n_embd), w


def _kimi_linear(m: ArchModel, il: int) -> Iterator[Tensor]:
    """kimi-linear (Kimi Linear): Kimi Delta Attention blocks (no KV heads: Q/K/V with
    their own short convolutions, low-rank forget and output gates) or MLA blocks without
    query compression; deepseek2's feed-forward (dense lead, experts with a bias, shared)."""
    p, w = f"blk.{il}.", m.weight_type
    kv = m.n_head_kv if isinstance(m.n_head_kv, int) else m.n_head_kv[il]
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    if kv == 0:
        head, d_conv = m.key("kda.head_dim"), m.key("ssm.conv_kernel")
        d_inner = head * m.n_head
        for part in "qkv":
            yield p + f"ssm_conv1d_{part}.weight", (d_conv, 1, d_inner), "F32"
        yield from _qkv(m, p, d_inner, d_inner)
        yield p + "ssm_f_a.weight", (m.n_embd, head), w
        yield p + "ssm_f_b.weight", (head, d_inner), w
        yield p + "ssm_beta.weight", (m.n_embd, m.n_head), w
        yield p + "ssm_a", (1, m.n_head), "F32"
        yield p + "ssm_dt.bias", (d_inner,), "F32"
        yield p + "ssm_g_a.weight", (m.n_embd, head), w
        yield p + "ssm_g_b.weight", (head, d_inner), w
        yield p + "ssm_norm.weight", (head,), "F32"
        yield p + "attn_output.weight", (d_inner, m.n_embd), w
    else:
        yield from _kimi_mla(m, p, w, gated=False)
    yield from _moe_with_dense_lead(m, p, il)


def _query_heads(m: ArchModel, il: int) -> int:
    value = m.keys.get("attention.head_count", m.n_head)
    return int(value[il]) if isinstance(value, list) else int(value)


def _swa_moe(m: ArchModel, il: int) -> Iterator[Tensor]:
    """step35 (Step 3.5 / 3.7 Flash) and mimo2 (MiMo-V2-Flash / V2.5): sliding and full
    blocks whose query and KV head counts differ by kind (per-layer head_count arrays),
    dense lead blocks, routed experts with a selection bias; step35 adds Q/K norms, a
    head-wise attention gate and a shared expert, mimo2 attention sinks. The trailing
    MTP blocks: attention and a dense FFN (skipped by llama.cpp unless MTP loads)."""
    p, hd, w = f"blk.{il}.", m.head_dim, m.weight_type
    n_head = _query_heads(m, il)
    kv = m.n_head_kv if isinstance(m.n_head_kv, int) else m.n_head_kv[il]
    value_length = m.key("attention.value_length", hd)
    mtp = il >= m.n_layer - m.key("nextn_predict_layers")
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    if m.fused_qkv:
        yield p + "attn_qkv.weight", (m.n_embd, (n_head + kv) * hd + kv * value_length), w
    else:
        yield p + "attn_q.weight", (m.n_embd, n_head * hd), w
        yield p + "attn_k.weight", (m.n_embd, kv * hd), w
        yield p + "attn_v.weight", (m.n_embd, kv * value_length), w
    yield p + "attn_output.weight", (n_head * value_length, m.n_embd), w
    if m.architecture == "step35":
        yield p + "attn_q_norm.weight", (hd,), "F32"
        yield p + "attn_k_norm.weight", (hd,), "F32"
        yield p + "attn_gate.weight", (m.n_embd, n_head), w
    elif m.key("attention.sliding_window_pattern")[il]:  # mimo2: sinks on sliding blocks
        yield p + "attn_sinks.weight", (n_head,), "F32"
    yield p + "ffn_norm.weight", (m.n_embd,), "F32"
    if il < m.key("leading_dense_block_count") or mtp:
        yield from _dense_ffn(m, p, m.n_ff)
    else:
        yield from _experts(m, p, m.key("expert_feed_forward_length"))
        yield p + "exp_probs_b.bias", (m.key("expert_count"),), "F32"
        if m.key("expert_shared_feed_forward_length"):
            yield from _dense_ffn(m, p, m.key("expert_shared_feed_forward_length"), "_shexp")
    if mtp:
        yield from _nextn(m, p)


def _ernie4_5(m: ArchModel, il: int) -> Iterator[Tensor]:
    """ernie4_5 / ernie4_5-moe (ERNIE 4.5): llama's blocks; in the MoE model every block
    from `leading_dense_block_count` on routes to experts (with the converter's selection
    bias, moe_statics) and adds a shared expert of its own width."""
    p, hd, w = f"blk.{il}.", m.head_dim, m.weight_type
    kv = m.n_head_kv if isinstance(m.n_head_kv, int) else m.n_head_kv[il]
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    yield from _qkv(m, p, m.n_head * hd, kv * hd)
    yield p + "attn_output.weight", (m.n_head * hd, m.n_embd), w
    yield p + "ffn_norm.weight", (m.n_embd,), "F32"
    if m.architecture == "ernie4_5" or il < m.key("leading_dense_block_count"):
        yield from _dense_ffn(m, p, m.n_ff)
        return
    yield from _experts(m, p, m.key("expert_feed_forward_length"))
    yield p + "exp_probs_b.bias", (m.key("expert_count"),), "F32"
    if m.key("expert_shared_feed_forward_length"):
        yield from _dense_ffn(m, p, m.key("expert_shared_feed_forward_length"), "_shexp")


def _bailingmoe2(m: ArchModel, il: int) -> Iterator[Tensor]:
    """bailingmoe2 (Ling / Ring 2.0): one fused QKV projection, Q/K norms, a dense lead
    block, then routed experts (selection bias) with a shared expert; its MTP blocks after
    the main ones (loaded as skipped)."""
    p, hd, w = f"blk.{il}.", m.head_dim, m.weight_type
    kv = m.n_head_kv if isinstance(m.n_head_kv, int) else m.n_head_kv[il]
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    yield p + "attn_qkv.weight", (m.n_embd, m.n_head * hd + 2 * kv * hd), w
    yield p + "attn_output.weight", (m.n_head * hd, m.n_embd), w
    yield p + "attn_q_norm.weight", (hd,), "F32"
    yield p + "attn_k_norm.weight", (hd,), "F32"
    yield from _moe_with_dense_lead(m, p, il)
    if il >= m.n_layer - m.key("nextn_predict_layers"):
        yield p + "nextn.eh_proj.weight", (2 * m.n_embd, m.n_embd), w
        yield p + "nextn.enorm.weight", (m.n_embd,), "F32"
        yield p + "nextn.hnorm.weight", (m.n_embd,), "F32"
        yield p + "nextn.shared_head_norm.weight", (m.n_embd,), "F32"
        yield p + "layer_output_norm.weight", (m.n_embd,), "F32"


def _apertus(m: ArchModel, il: int) -> Iterator[Tensor]:
    """apertus (Apertus): llama's attention with Q/K norms; an ungated feed-forward (up,
    xIELU, down)."""
    p, hd, w = f"blk.{il}.", m.head_dim, m.weight_type
    kv = m.n_head_kv if isinstance(m.n_head_kv, int) else m.n_head_kv[il]
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    yield from _qkv(m, p, m.n_head * hd, kv * hd)
    yield p + "attn_output.weight", (m.n_head * hd, m.n_embd), w
    yield p + "ffn_norm.weight", (m.n_embd,), "F32"
    yield p + "ffn_down.weight", (m.n_ff, m.n_embd), w
    yield p + "ffn_up.weight", (m.n_embd, m.n_ff), w
    yield p + "attn_q_norm.weight", (hd,), "F32"
    yield p + "attn_k_norm.weight", (hd,), "F32"


def _afmoe(m: ArchModel, il: int) -> Iterator[Tensor]:
    """afmoe (Arcee Trinity): pre- and post-norms around attention and FFN, Q/K norms,
    a sigmoid output gate over the heads (attn_gate); dense lead blocks, then routed
    experts with a selection bias and shared experts (llama.cpp's afmoe loader)."""
    p, hd, w = f"blk.{il}.", m.head_dim, m.weight_type
    kv = m.n_head_kv if isinstance(m.n_head_kv, int) else m.n_head_kv[il]
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    yield p + "post_attention_norm.weight", (m.n_embd,), "F32"
    yield from _qkv(m, p, m.n_head * hd, kv * hd)
    yield p + "attn_output.weight", (m.n_head * hd, m.n_embd), w
    yield p + "attn_q_norm.weight", (hd,), "F32"
    yield p + "attn_k_norm.weight", (hd,), "F32"
    yield p + "attn_gate.weight", (m.n_embd, m.n_head * hd), w
    yield p + "post_ffw_norm.weight", (m.n_embd,), "F32"
    yield from _moe_with_dense_lead(m, p, il)


def _hy_v3(m: ArchModel, il: int) -> Iterator[Tensor]:
    """hy_v3 (Tencent Hy3): Qwen3-style attention (per-head Q/K norms); block 0 a dense FFN
    (the converter writes no dense-lead count: the block just carries ffn_gate/up/down),
    the others routed experts with a selection bias named without a suffix and one shared
    expert; the MTP block(s) after the main ones."""
    p, hd, w = f"blk.{il}.", m.head_dim, m.weight_type
    kv = m.n_head_kv if isinstance(m.n_head_kv, int) else m.n_head_kv[il]
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    yield from _qkv(m, p, m.n_head * hd, kv * hd)
    yield p + "attn_output.weight", (m.n_head * hd, m.n_embd), w
    yield p + "attn_q_norm.weight", (hd,), "F32"
    yield p + "attn_k_norm.weight", (hd,), "F32"
    yield p + "ffn_norm.weight", (m.n_embd,), "F32"
    if il == 0:  # Hy3's first_k_dense_replace 1
        yield from _dense_ffn(m, p, m.n_ff)
    else:
        yield from _experts(m, p, m.key("expert_feed_forward_length"))
        yield p + "exp_probs_b", (m.key("expert_count"),), "F32"
        yield from _dense_ffn(m, p, m.key("expert_shared_feed_forward_length"), "_shexp")
    if il >= m.n_layer - m.key("nextn_predict_layers"):
        yield from _nextn(m, p)


def _minimax_m3(m: ArchModel, il: int) -> Iterator[Tensor]:
    """minimax-m3 (MiniMax M3): GQA with per-head Q/K norms; dense lead blocks, then routed
    experts with a selection bias, one shared expert and MiniMax Sparse Attention's
    lightning indexer (its projections and norms, F32 as the converter forces them)."""
    p, hd, w = f"blk.{il}.", m.head_dim, m.weight_type
    kv = m.n_head_kv if isinstance(m.n_head_kv, int) else m.n_head_kv[il]
    yield from _qkv(m, p, m.n_head * hd, kv * hd)
    yield p + "attn_output.weight", (m.n_head * hd, m.n_embd), w
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    yield p + "attn_q_norm.weight", (hd,), "F32"
    yield p + "attn_k_norm.weight", (hd,), "F32"
    yield p + "ffn_norm.weight", (m.n_embd,), "F32"
    if il < m.key("leading_dense_block_count"):
        yield from _dense_ffn(m, p, m.n_ff)
        return
    n_ff_exp = m.key("expert_feed_forward_length")
    yield from _experts(m, p, n_ff_exp)
    yield p + "exp_probs_b.bias", (m.key("expert_count"),), "F32"
    yield from _dense_ffn(m, p, n_ff_exp * m.key("expert_shared_count"), "_shexp")
    heads, head = m.key("attention.indexer.head_count"), m.key("attention.indexer.key_length")
    yield p + "indexer.q_proj.weight", (m.n_embd, heads * head), "F32"
    yield p + "indexer.k_proj.weight", (m.n_embd, head), "F32"
    yield p + "indexer.q_norm.weight", (head,), "F32"
    yield p + "indexer.k_norm.weight", (head,), "F32"


def _kimi_k3(m: ArchModel, il: int) -> Iterator[Tensor]:
    """kimi-k3 (Kimi K3): kimi-linear's KDA / MLA hybrid with a full-rank KDA output gate
    (ssm_g), an MLA output gate, cross-layer residual scores, and routed experts that run
    in a latent width (ffn_routed_down / up around them) beside full-width shared ones."""
    p, w = f"blk.{il}.", m.weight_type
    kv = m.n_head_kv if isinstance(m.n_head_kv, int) else m.n_head_kv[il]
    for name in ("attn_norm", "ffn_norm", "attn_res_score", "ffn_res_score"):
        yield p + f"{name}.weight", (m.n_embd,), "F32"
    if kv == 0:
        head, d_conv = m.key("kda.head_dim"), m.key("ssm.conv_kernel")
        d_inner = head * m.n_head
        for part in "qkv":
            yield p + f"ssm_conv1d_{part}.weight", (d_conv, 1, d_inner), "F32"
        yield from _qkv(m, p, d_inner, d_inner)
        yield p + "ssm_f_a.weight", (m.n_embd, head), w
        yield p + "ssm_f_b.weight", (head, d_inner), w
        yield p + "ssm_beta.weight", (m.n_embd, m.n_head), w
        yield p + "ssm_a", (m.n_head,), "F32"
        yield p + "ssm_dt.bias", (d_inner,), "F32"
        yield p + "ssm_g.weight", (m.n_embd, d_inner), w
        yield p + "ssm_norm.weight", (head,), "F32"
        yield p + "attn_output.weight", (d_inner, m.n_embd), w
    else:
        yield from _kimi_mla(m, p, w, gated=True)
    if il < m.key("leading_dense_block_count"):
        yield from _dense_ffn(m, p, m.n_ff)
        return
    n_ff_exp, n_expert = m.key("expert_feed_forward_length"), m.key("expert_count")
    latent = m.key("expert_latent_length")
    yield p + "ffn_gate_inp.weight", (m.n_embd, n_expert), "F32"
    yield p + "exp_probs_b.bias", (n_expert,), "F32"
    yield p + "ffn_gate_exps.weight", (latent, n_ff_exp, n_expert), w
    yield p + "ffn_up_exps.weight", (latent, n_ff_exp, n_expert), w
    yield p + "ffn_down_exps.weight", (n_ff_exp, latent, n_expert), w
    yield p + "ffn_routed_down.weight", (m.n_embd, latent), w
    yield p + "ffn_routed_up.weight", (latent, m.n_embd), w
    yield p + "ffn_routed_norm.weight", (latent,), "F32"
    yield from _dense_ffn(m, p, n_ff_exp * m.key("expert_shared_count"), "_shexp")


def _parallel_block(m: ArchModel, il: int) -> Iterator[Tensor]:
    """cohere2 (Command R7B / A, Tiny Aya): one norm feeding attention and the FFN side by
    side (no FFN norm); the output matrix is always the token embeddings."""
    p, hd, w = f"blk.{il}.", m.head_dim, m.weight_type
    kv = m.n_head_kv if isinstance(m.n_head_kv, int) else m.n_head_kv[il]
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    yield from _qkv(m, p, m.n_head * hd, kv * hd)
    yield p + "attn_output.weight", (m.n_head * hd, m.n_embd), w
    yield from _dense_ffn(m, p, m.n_ff)


def _laguna(m: ArchModel, il: int) -> Iterator[Tensor]:
    """laguna (poolside Laguna): per-layer query heads (`attention.head_count` as an
    array), Q/K norms, an output gate per head (attn_gate: one output per head); a dense
    lead block, then sigmoid-routed experts with a selection bias and a shared expert of
    its own width."""
    p, hd, w = f"blk.{il}.", m.head_dim, m.weight_type
    heads = m.key("attention.head_count")[il]
    kv = m.n_head_kv if isinstance(m.n_head_kv, int) else m.n_head_kv[il]
    yield p + "attn_norm.weight", (m.n_embd,), "F32"
    yield from _qkv(m, p, heads * hd, kv * hd)
    yield p + "attn_output.weight", (heads * hd, m.n_embd), w
    yield p + "attn_q_norm.weight", (hd,), "F32"
    yield p + "attn_k_norm.weight", (hd,), "F32"
    yield p + "attn_gate.weight", (m.n_embd, heads), w
    yield p + "ffn_norm.weight", (m.n_embd,), "F32"
    if il < m.key("leading_dense_block_count"):
        yield from _dense_ffn(m, p, m.n_ff)
        return
    yield from _experts(m, p, m.key("expert_feed_forward_length"))
    yield p + "exp_probs_b.bias", (m.key("expert_count"),), "F32"
    yield from _dense_ffn(m, p, m.key("expert_shared_feed_forward_length"), "_shexp")


LAYER_TENSORS: dict[str, Callable[[ArchModel, int], Iterator[Tensor]]] = {
    "afmoe": _afmoe,
    "nanbeige": _dense,  # llama's blocks; the GGUF holds the physical ones only
    "cohere2": _parallel_block,
    "laguna": _laguna,
    "deepseek4": _deepseek4,
    "step35": _swa_moe, "mimo2": _swa_moe,
    "llama4": _llama4,
    "granitehybrid": _granite_hybrid,
    "ernie4_5": _ernie4_5, "ernie4_5-moe": _ernie4_5, "bailingmoe2": _bailingmoe2,
    "apertus": _apertus,
    "seed_oss": _dense, "smollm3": _dense, "olmo2": _dense, "mistral3": _dense,
    "qwen3moe": _qwen3moe, "qwen35": _delta_net_hybrid, "qwen35moe": _delta_net_hybrid,
    "qwen3next": _delta_net_hybrid, "gemma4": _gemma4, "deepseek2": _deepseek2,
    "mistral4": _deepseek2,  # llama.cpp loads mistral4 with deepseek2's load_arch_tensors
    "glm-dsa": _glm_dsa, "deepseek32": _glm_dsa,  # the same tensors (DeepSeek-V3.2)
    "glm4moe": _glm4moe, "gpt-oss": _gpt_oss, "kimi-linear": _kimi_linear, "hy_v3": _hy_v3,
    "minimax-m3": _minimax_m3, "kimi-k3": _kimi_k3,
}

_DELTA_NET = {"ssm.conv_kernel": 4, "ssm.state_size": 128, "ssm.group_count": 16,
              "full_attention_interval": 4}


# MiMo-V2-Flash's full-attention blocks (its config's hybrid_layer_pattern, 0 = full)
_MIMO_FULL = frozenset({0, 5, 11, 17, 23, 29, 35, 41, 47})


def _g4_pattern(n_layer: int, period: int) -> list[bool]:
    return [il % period != period - 1 for il in range(n_layer)]


A = ArchModel
# Real shapes (all layers, real vocabularies): sizes from each model's config.json as
# published (Qwen3-30B-A3B, Qwen3-Next-80B-A3B, Qwen3.5-27B / -35B-A3B, Gemma 4 E4B /
# 26B-A4B, DeepSeek-V2-Lite, DeepSeek-V3 (its group-limited routing as converted files
# state it), Mistral Small 4, GLM-5, GLM-4.5-Air, gpt-oss-20b).
ARCH_SHAPES: dict[str, ArchModel] = {m.name: m for m in (
    A("qwen3-30b-a3b", "qwen3moe", 48, 2048, 32, 4, 128, 6144, 151936, n_ctx_train=40960,
      keys={"expert_count": 128, "expert_used_count": 8, "expert_feed_forward_length": 768}),
    A("qwen3.5-27b", "qwen35", 64, 5120, 24, 4, 256, 17408, 248320,
      keys={**_DELTA_NET, "ssm.inner_size": 6144, "ssm.time_step_rank": 48,
            "rope.dimension_sections": [11, 11, 10, 0], "rope.dimension_count": 64}),
    A("qwen3.5-35b-a3b", "qwen35moe", 40, 2048, 16, 2, 256, 512, 248320,
      keys={**_DELTA_NET, "ssm.inner_size": 4096, "ssm.time_step_rank": 32,
            "rope.dimension_sections": [11, 11, 10, 0], "rope.dimension_count": 64,
            "expert_count": 256, "expert_used_count": 8, "expert_feed_forward_length": 512,
            "expert_shared_feed_forward_length": 512}),
    A("qwen3-next-80b-a3b", "qwen3next", 48, 2048, 16, 2, 256, 512, 151936,
      keys={**_DELTA_NET, "ssm.inner_size": 4096, "ssm.time_step_rank": 32,
            "rope.dimension_count": 64, "expert_count": 512, "expert_used_count": 10,
            "expert_feed_forward_length": 512, "expert_shared_feed_forward_length": 512}),
    A("gemma4-e4b", "gemma4", 42, 2560, 8, 2, 512, 10240, 262144, tied_embeddings=True,
      keys={"attention.sliding_window": 512, "attention.key_length_swa": 256,
            "attention.value_length_swa": 256, "attention.shared_kv_layers": 18,
            "attention.sliding_window_pattern": _g4_pattern(42, 6),
            "embedding_length_per_layer_input": 256}),
    # Gemma 4 26B-A4B: 8 KV heads on the sliding layers, 2 on the global ones
    A("gemma4-26b-a4b", "gemma4", 30, 2816, 16,
      [8 if sliding else 2 for sliding in _g4_pattern(30, 6)], 512, 2112, 262144,
      tied_embeddings=True,
      keys={"attention.sliding_window": 1024, "attention.key_length_swa": 256,
            "attention.value_length_swa": 256,
            "attention.sliding_window_pattern": _g4_pattern(30, 6),
            "embedding_length_per_layer_input": 0, "expert_count": 128,
            "expert_used_count": 8, "expert_feed_forward_length": 704}),
    A("deepseek-v2-lite", "deepseek2", 27, 2048, 16, 1, 576, 10944, 102400,
      n_ctx_train=163840,
      keys={"attention.kv_lora_rank": 512, "attention.key_length": 576,
            "attention.value_length": 512, "attention.key_length_mla": 192,
            "attention.value_length_mla": 128, "rope.dimension_count": 64,
            "leading_dense_block_count": 1, "expert_count": 64, "expert_used_count": 6,
            "expert_feed_forward_length": 1408, "expert_shared_count": 2}),
    A("deepseek-v3", "deepseek2", 61, 7168, 128, 1, 576, 18432, 129280, n_ctx_train=163840,
      keys={"attention.kv_lora_rank": 512, "attention.q_lora_rank": 1536,
            "attention.key_length": 576, "attention.value_length": 512,
            "attention.key_length_mla": 192, "attention.value_length_mla": 128,
            "rope.dimension_count": 64, "leading_dense_block_count": 3, "expert_count": 256,
            "expert_used_count": 8, "expert_feed_forward_length": 2048,
            "expert_shared_count": 1, "expert_gating_func": 2, "expert_weights_norm": True,
            "expert_weights_scale": 2.5, "expert_group_count": 8,
            "expert_group_used_count": 4}),
    # Mistral Small 4 (mistral4): deepseek2's MLA (kv_lora_rank 256, q_lora_rank 1024,
    # 32 heads of 64 + 64 rope, v_head_dim 128), every block MoE (128 experts, 4 used,
    # one shared expert of 2048), its experts' gate and up stacked as one tensor, as the
    # vendored converter writes them (conversion/mistral3.py: merge_expert off)
    A("mistral-small-4", "mistral4", 36, 4096, 32, 1, 320, 12288, 131072,
      n_ctx_train=1048576, fused_gate_up=True,
      keys={"attention.kv_lora_rank": 256, "attention.q_lora_rank": 1024,
            "attention.key_length": 320, "attention.value_length": 256,
            "attention.key_length_mla": 128, "attention.value_length_mla": 128,
            "rope.dimension_count": 64, "leading_dense_block_count": 0, "expert_count": 128,
            "expert_used_count": 4, "expert_feed_forward_length": 2048,
            "expert_shared_count": 1, "expert_weights_norm": True,
            "expert_weights_scale": 1.0}),
    # GLM-5 (glm-dsa): deepseek2's MLA (kv_lora_rank 512, q_lora_rank 2048, 64 heads of
    # 192 + 64 rope, v_head_dim 256) with DSA's lightning indexer (32 heads of 128, top
    # 2048) in every block, 3 dense lead blocks, 256 experts of 2048 (8 used, sigmoid router
    # with a bias, weights normalised and scaled by 2.5) + 1 shared, 1 MTP block
    A("glm-5", "glm-dsa", 79, 6144, 64, 1, 576, 12288, 154880, n_ctx_train=202752,
      keys={"attention.kv_lora_rank": 512, "attention.q_lora_rank": 2048,
            "attention.key_length": 576, "attention.value_length": 512,
            "attention.key_length_mla": 256, "attention.value_length_mla": 256,
            "rope.dimension_count": 64, "leading_dense_block_count": 3, "expert_count": 256,
            "expert_used_count": 8, "expert_feed_forward_length": 2048,
            "expert_shared_count": 1, "expert_gating_func": 2, "expert_weights_norm": True,
            "expert_weights_scale": 2.5, "nextn_predict_layers": 1,
            "attention.indexer.head_count": 32, "attention.indexer.key_length": 128,
            "attention.indexer.top_k": 2048}),
    # DeepSeek-V3.2 (deepseek32): DeepSeek-V3's shape (MLA, q_lora_rank 1536, 256 experts
    # in 8 groups of which 4 are used) with DSA's lightning indexer (64 heads of 128, top
    # 2048) in every block and the converter's MTP block after the 61 main ones
    A("deepseek-v3.2", "deepseek32", 62, 7168, 128, 1, 576, 18432, 129280,
      n_ctx_train=163840,
      keys={"attention.kv_lora_rank": 512, "attention.q_lora_rank": 1536,
            "attention.key_length": 576, "attention.value_length": 512,
            "attention.key_length_mla": 192, "attention.value_length_mla": 128,
            "rope.dimension_count": 64, "leading_dense_block_count": 3, "expert_count": 256,
            "expert_used_count": 8, "expert_feed_forward_length": 2048,
            "expert_shared_count": 1, "expert_gating_func": 2, "expert_weights_norm": True,
            "expert_weights_scale": 2.5, "expert_group_count": 8,
            "expert_group_used_count": 4, "nextn_predict_layers": 1,
            "attention.indexer.head_count": 64, "attention.indexer.key_length": 128,
            "attention.indexer.top_k": 2048}),
    # Kimi Linear 48B-A3B (kimi-linear): 27 blocks 2304 wide, KDA (32 heads of 128, short
    # convolutions of 4) with MLA (no query compression, kv_lora_rank 512, 128 + 64 rope,
    # v 128; the converter's MQA form) in blocks 4, 8, ..., 24 and 27 (1-based); 1 dense
    # lead block, 256 experts of 1024 (8 used, sigmoid router, scale 2.446) + 1 shared
    A("kimi-linear-48b-a3b", "kimi-linear", 27, 2304, 32,
      [1 if il + 1 in (4, 8, 12, 16, 20, 24, 27) else 0 for il in range(27)], 576, 9216,
      163840, n_ctx_train=1048576,
      keys={"attention.kv_lora_rank": 512, "attention.value_length": 72,
            "attention.key_length_mla": 192, "attention.value_length_mla": 128,
            "rope.dimension_count": 64, "ssm.conv_kernel": 4, "kda.head_dim": 128,
            "leading_dense_block_count": 1, "expert_count": 256, "expert_used_count": 8,
            "expert_feed_forward_length": 1024, "expert_shared_count": 1,
            "expert_gating_func": 2, "expert_weights_scale": 2.446}),
    # Step 3.5 Flash (step35): 45 blocks 4096 wide + 3 MTP blocks; full attention in every
    # 4th block from the first (64 query heads, half the rope dims), sliding window of 512
    # elsewhere (96 query heads), 8 KV heads of 128 in both; Q/K norms, a head-wise
    # attention gate; 3 dense lead blocks of 11264, then 288 experts of 1280 (8 used,
    # sigmoid router with a bias) + a shared expert of 1280
    A("step-3.5-flash", "step35", 48, 4096, 64, 8, 128, 11264, 128896,
      keys={"attention.head_count": [64 if il % 4 == 0 else 96 for il in range(48)],
            "attention.sliding_window": 512,
            "attention.sliding_window_pattern": [il % 4 != 0 for il in range(48)],
            "leading_dense_block_count": 3, "expert_count": 288, "expert_used_count": 8,
            "expert_feed_forward_length": 1280, "expert_shared_feed_forward_length": 1280,
            "expert_weights_norm": True, "expert_weights_scale": 3.0,
            "nextn_predict_layers": 3}),
    # MiMo-V2-Flash (mimo2): 48 blocks 4096 wide + 3 MTP blocks; 64 query heads of 192
    # (value 128, rope over 64) everywhere, 4 KV heads in the 9 full-attention blocks and
    # 8 with a window of 128 (and attention sinks) in the others; 1 dense lead block of
    # 16384, then 256 experts of 2048 (8 used, sigmoid router with a bias), no shared one
    A("mimo-v2-flash", "mimo2", 51, 4096, 64,
      [4 if il in _MIMO_FULL else 8 for il in range(51)], 192, 16384, 152576,
      keys={"attention.value_length": 128, "rope.dimension_count": 64,
            "attention.sliding_window": 128,
            "attention.sliding_window_pattern": [il not in _MIMO_FULL for il in range(51)],
            "leading_dense_block_count": 1, "expert_count": 256, "expert_used_count": 8,
            "expert_feed_forward_length": 2048, "nextn_predict_layers": 3,
            "attention.value_scale": 0.707}),
    # DeepSeek-V4-Flash (deepseek4): 43 blocks, hidden 4096, 64 query heads over one K=V
    # head of 512 (64 roped), q_lora_rank 1024, output in 8 groups of rank 1024, a sliding
    # window of 128, compression ratios 0, 0, then 4 and 128 alternating, 4 last; indexer 64
    # x 128, top 512; 256 experts of 2048 (6 used, sqrt-softplus, scaled 1.5) + 1 shared,
    # the first 3 blocks hash-routed; 4 hyper-connection streams (MTP left out, as the
    # converter does by default)
    A("deepseek-v4-flash", "deepseek4", 43, 4096, 64, 1, 512, 2048, 129280,
      n_ctx_train=1048576,
      keys={"attention.q_lora_rank": 1024, "rope.dimension_count": 64,
            "attention.sliding_window": 128, "expert_count": 256, "expert_used_count": 6,
            "expert_feed_forward_length": 2048, "expert_shared_count": 1,
            "expert_weights_scale": 1.5, "expert_weights_norm": True, "expert_gating_func": 4,
            "swiglu_clamp_exp": [10.0] * 43, "swiglu_clamp_shexp": [10.0] * 43,
            "attention.indexer.head_count": 64, "attention.indexer.key_length": 128,
            "attention.indexer.top_k": 512, "attention.output_group_count": 8,
            "attention.output_lora_rank": 1024,
            "attention.compress_ratios": [0, 0] + [4, 128] * 20 + [4, 0],
            "attention.compress_rope_freq_base": 160000.0, "hyper_connection.count": 4,
            "hyper_connection.sinkhorn_iterations": 20, "hyper_connection.epsilon": 1e-6,
            "hash_layer_count": 3, "embedding_length_out": 16384, "rope.freq_base": 10000.0,
            "rope.scaling.type": "yarn", "rope.scaling.factor": 16.0,
            "rope.scaling.original_context_length": 65536}),
    # Tencent Hy3 (hy_v3, 295B-A21B): 80 blocks + 1 MTP, hidden 4096, 64 heads / 8 KV of 128,
    # block 0 dense (13312), then 192 experts of 1536 (8 used, sigmoid router with a bias,
    # weights normalised and scaled by 2.826) + 1 shared, vocabulary 120832, 256k context
    A("hy3", "hy_v3", 81, 4096, 64, 8, 128, 13312, 120832,
      keys={"expert_count": 192, "expert_used_count": 8, "expert_feed_forward_length": 1536,
            "expert_shared_feed_forward_length": 1536, "expert_gating_func": 2,
            "expert_weights_norm": True, "expert_weights_scale": 2.826,
            "nextn_predict_layers": 1}),
    # MiniMax M3 (minimax-m3, 428B-A23B): 60 blocks 6144 wide, 64 heads / 4 KV of 128 (rope
    # on 64), 3 dense lead blocks (12288), then 128 experts of 3072 (4 used, sigmoid router
    # with a bias, scale 2.0) + 1 shared and MSA's indexer (4 heads of 128, top 16 blocks of
    # 128, 1 local block), vocabulary 200064, 1M context: a public MLX port's defaults
    A("minimax-m3", "minimax-m3", 60, 6144, 64, 4, 128, 12288, 200064, n_ctx_train=1048576,
      keys={"rope.dimension_count": 64, "leading_dense_block_count": 3, "expert_count": 128,
            "expert_used_count": 4, "expert_feed_forward_length": 3072,
            "expert_shared_count": 1, "expert_gating_func": 2, "expert_weights_norm": True,
            "expert_weights_scale": 2.0, "attention.indexer.head_count": 4,
            "attention.indexer.key_length": 128, "attention.indexer.top_k": 16,
            "attention.indexer.block_size": 128, "attention.indexer.local_blocks": 1}),
    A("glm-4.5-air", "glm4moe", 47, 4096, 96, 8, 128, 10944, 151552, n_ctx_train=131072,
      keys={"leading_dense_block_count": 1, "expert_count": 128, "expert_used_count": 8,
            "expert_feed_forward_length": 1408, "expert_shared_count": 1,
            "nextn_predict_layers": 1, "rope.dimension_count": 64}),
    # dense 2025-26 shapes: Seed-OSS-36B, SmolLM3-3B (every 4th block without rope),
    # OLMo 3 7B (olmo2; sliding window of 4096 on 3 of every 4 blocks), Ministral 3 8B
    # (mistral3, with its YaRN rope and Llama-4-style attention temperature)
    A("seed-oss-36b", "seed_oss", 64, 5120, 80, 8, 128, 27648, 155136, n_ctx_train=524288),
    A("smollm3-3b", "smollm3", 36, 2048, 16, 4, 128, 11008, 128256, n_ctx_train=65536,
      tied_embeddings=True),
    A("olmo-3-7b", "olmo2", 32, 4096, 32, 32, 128, 11008, 100278, n_ctx_train=65536,
      keys={"attention.sliding_window": 4096,
            "attention.sliding_window_pattern": [il % 4 != 3 for il in range(32)]}),
    A("ministral-3-8b", "mistral3", 34, 4096, 32, 8, 128, 14336, 131072,
      keys={"attention.temperature_scale": 0.1, "rope.scaling.type": "yarn",
            "rope.scaling.factor": 16.0, "rope.scaling.original_context_length": 16384,
            "rope.scaling.yarn_log_multiplier": 1.0}),
    # Granite 4.0 H Micro: Mamba-2 (64 heads of 64, one group, state 128) with attention
    # in blocks 5, 15, 25 and 35, no rope; Granite's embedding/residual/logit scales
    A("granite-4.0-h-micro", "granitehybrid", 40, 2048, 32,
      [8 if il % 10 == 5 else 0 for il in range(40)], 64, 8192, 100352, n_ctx_train=131072,
      tied_embeddings=True,
      keys={"ssm.conv_kernel": 4, "ssm.inner_size": 4096, "ssm.state_size": 128,
            "ssm.time_step_rank": 64, "ssm.group_count": 1, "rope.scaling.finetuned": False,
            "embedding_scale": 12.0, "residual_scale": 0.22, "logit_scale": 8.0,
            "attention.scale": 0.015625}),
    # Llama 4 Scout (17B active, 16 experts): chunked attention (8192) in 3 of every 4
    # blocks, the 4th without rope; one routed expert and a shared one in every block
    A("llama-4-scout", "llama4", 48, 5120, 40, 8, 128, 16384, 202048, n_ctx_train=10485760,
      keys={"expert_count": 16, "expert_used_count": 1, "expert_feed_forward_length": 8192,
            "interleave_moe_layer_step": 1}),
    # ERNIE 4.5 0.3B (ernie4_5): llama's blocks, 18 of 1024 wide with 16 heads / 2 KV
    # heads of 128 (queries twice the width), tied embeddings
    A("ernie-4.5-0.3b", "ernie4_5", 18, 1024, 16, 2, 128, 3072, 103424, n_ctx_train=131072,
      tied_embeddings=True),
    # ERNIE 4.5 21B-A3B (ernie4_5-moe): 28 blocks 2560 wide, 20 heads / 4 KV of 128, one
    # dense lead block (12288), then 64 experts of 1536 (6 used, softmax router with the
    # moe_statics selection bias) and 2 shared experts (the converter writes their width
    # as intermediate_size / num_key_value_heads = 3072); tied embeddings
    A("ernie-4.5-21b-a3b", "ernie4_5-moe", 28, 2560, 20, 4, 128, 12288, 103424,
      n_ctx_train=131072, tied_embeddings=True,
      keys={"leading_dense_block_count": 1, "interleave_moe_layer_step": 1,
            "expert_count": 64, "expert_used_count": 6, "expert_feed_forward_length": 1536,
            "expert_shared_count": 2, "expert_shared_feed_forward_length": 3072}),
    # Ling-mini-2.0 (bailingmoe2): 20 blocks 2048 wide, fused QKV (16 heads / 4 KV of
    # 128, Q/K norms, rope on half of each head), one dense lead block (5120), 256 experts
    # of 512 in 8 groups of which 4 are used (8 per token, sigmoid router with a bias,
    # weights normalised and scaled by 2.5) + 1 shared; released without MTP blocks
    # (num_nextn_predict_layers 0)
    A("ling-mini-2.0", "bailingmoe2", 20, 2048, 16, 4, 128, 5120, 157184,
      n_ctx_train=32768,
      keys={"rope.dimension_count": 64, "leading_dense_block_count": 1,
            "expert_count": 256, "expert_used_count": 8, "expert_feed_forward_length": 512,
            "expert_shared_feed_forward_length": 512, "expert_shared_count": 1,
            "expert_weights_scale": 2.5, "expert_weights_norm": True,
            "expert_gating_func": 2, "expert_group_count": 8, "expert_group_used_count": 4}),
    # Apertus 8B (apertus): llama's shape with Q/K norms and an ungated xIELU feed-forward
    # of 21504 (its four per-block constants as arrays), llama3 rope frequency factors
    A("apertus-8b", "apertus", 32, 4096, 32, 8, 128, 21504, 131072, n_ctx_train=65536,
      keys={"xielu.alpha_n": [0.8] * 32, "xielu.alpha_p": [0.8] * 32,
            "xielu.beta": [0.5] * 32, "xielu.eps": [-1e-6] * 32}),
    # Trinity Mini (afmoe): 32 blocks 2048 wide, 32 heads / 4 KV of 128 (Q/K norms, gated
    # output), a 2048-token window on three of every four blocks (the fourth: full, no
    # rope), 2 dense lead blocks (6144), 128 experts of 1024 (8 used, sigmoid router with
    # a bias, weights normalised and scaled by 2.826) + 1 shared; the technical report's
    # table (arXiv 2602.17004), vocabulary 200192 (Trinity-Tokenizer's config)
    A("trinity-mini", "afmoe", 32, 2048, 32, 4, 128, 6144, 200192, n_ctx_train=131072,
      keys={"attention.sliding_window": 2048, "leading_dense_block_count": 2,
            "expert_count": 128, "expert_used_count": 8, "expert_feed_forward_length": 1024,
            "expert_shared_count": 1, "expert_gating_func": 2, "expert_weights_norm": True,
            "expert_weights_scale": 2.826}),
    # Nanbeige 4.2 3B (nanbeige): 22 physical llama blocks run twice (num_loops 2, as
    # llama.cpp's PR #25994 states), each pass with its own KV cache; the widths are
    # Nanbeige 4.1 3B's (2560 wide, 20 / 4 heads of 128, FFN 10496, vocabulary 166144)
    A("nanbeige-4.2-3b", "nanbeige", 22, 2560, 20, 4, 128, 10496, 166144, n_ctx_train=262144,
      keys={"num_loops": 2, "skip_loop_final_norm": False}),
    # Command R7B (cohere2): 32 parallel blocks 4096 wide, 32 / 8 heads of 128, FFN 14336,
    # a 4096 window on three of every four blocks (rope only there), vocabulary 256000,
    # tied output, logit scale 0.25 (its config as fine-tunes of it carry it)
    A("command-r7b", "cohere2", 32, 4096, 32, 8, 128, 14336, 256000, n_ctx_train=131072,
      tied_embeddings=True,
      keys={"attention.sliding_window": 4096, "logit_scale": 0.25,
            "attention.layer_norm_epsilon": 1e-5}),
    # Laguna XS.2 (laguna): 40 blocks 2048 wide, a full block then three sliding ones
    # (window 512), 48 query heads on the full blocks and 64 on the sliding ones (llama.cpp's
    # loader comment), 8 KV heads of 128, 1 dense lead block (8192), 256 experts of 512
    # (8 used) + a shared one of 512, vocabulary 100352 (its published config.json)
    A("laguna-xs.2", "laguna", 40, 2048, 64, 8, 128, 8192, 100352, n_ctx_train=131072,
      keys={"attention.head_count": [48 if il % 4 == 0 else 64 for il in range(40)],
            "attention.sliding_window": 512, "leading_dense_block_count": 1,
            "expert_count": 256, "expert_used_count": 8, "expert_feed_forward_length": 512,
            "expert_shared_feed_forward_length": 512, "expert_weights_norm": True,
            "expert_weights_scale": 2.5, "expert_gating_func": 2,
            "rope.dimension_count": 64, "rope.dimension_count_swa": 128}),
    A("gpt-oss-20b", "gpt-oss", 24, 2880, 64, 8, 64, 2880, 201088, n_ctx_train=131072,
      weight_type="MXFP4", embedding_type="Q8_0",
      keys={"attention.sliding_window": 128, "expert_count": 32, "expert_used_count": 4,
            "expert_feed_forward_length": 2880}),
)}


class Uint64Array(tuple[int, ...]):
    """An array llama.cpp reads as uint64 (Qwen3.8-Flash-Next's n-gram hash constants)."""


def _add_key(writer: GGUFWriter, key: str, value: object) -> None:
    import gguf

    if isinstance(value, Uint64Array):
        writer.add_key_value(key, list(value), gguf.GGUFValueType.ARRAY,
                             sub_type=gguf.GGUFValueType.UINT64)
    elif isinstance(value, bool):
        writer.add_bool(key, value)
    elif isinstance(value, str):
        writer.add_string(key, value)
    elif isinstance(value, int):
        writer.add_uint32(key, value)
    elif isinstance(value, float):
        writer.add_float32(key, value)
    elif isinstance(value, list) and value and isinstance(value[0], bool):
        writer.add_key_value(key, value, gguf.GGUFValueType.ARRAY, sub_type=gguf.GGUFValueType.BOOL)
    elif isinstance(value, list | tuple):
        writer.add_array(key, value)
    else:
        raise TypeError(f"{key}: no GGUF type for {value!r}")


def write_arch_model(m: ArchModel, path: Path) -> Path:
    """Write `m` as a sparse GGUF (header only, a hole up to the full size)."""
    arch = m.architecture
    common = {
        "block_count": m.n_layer, "context_length": m.n_ctx_train, "embedding_length": m.n_embd,
        "feed_forward_length": m.n_ff, "attention.head_count": m.n_head,
        "attention.head_count_kv": m.n_head_kv, "attention.key_length": m.head_dim,
        "attention.value_length": m.head_dim, "rope.dimension_count": m.head_dim,
        "attention.layer_norm_rms_epsilon": 1e-6,
    }
    writer = sparse_writer(path, arch, {**common, **m.keys}, m.n_vocab)
    tensors: list[Tensor] = [("token_embd.weight", (m.n_embd, m.n_vocab), m.embedding_type)]
    if arch == "gemma4":
        tensors += _gemma4_globals(m)
    if arch == "kimi-k3" and m.key("attn_res.block_size"):
        tensors.append(("output_res_score.weight", (m.n_embd,), "F32"))
    if arch == "deepseek4":
        tensors += _deepseek4_globals(m)
    if arch == "apertus":  # its llama3-style rope: the converter's frequency factors
        tensors.append(("rope_freqs.weight", (m.head_dim // 2,), "F32"))
    for il in range(m.n_layer):
        tensors += LAYER_TENSORS[arch](m, il)
    tensors.append(("output_norm.weight", (m.n_embd,), "F32"))
    if not m.tied_embeddings:
        tensors.append(("output.weight", (m.n_embd, m.n_vocab), m.embedding_type))
    return write_sparse_tensors(writer, tensors)


def sparse_writer(path: Path, arch: str, keys: dict[str, object], n_vocab: int) -> GGUFWriter:
    """A GGUF writer for `arch` holding `keys` (named under the architecture as llama.cpp reads
    them), Q4_K_M's file type and a stand-in vocabulary: how every real-shaped synthetic model
    begins."""
    import gguf

    writer = gguf.GGUFWriter(str(path), arch)
    for key, value in keys.items():
        # (llama.cpp names Apertus's xIELU constants without the architecture prefix)
        _add_key(writer, key if key.startswith("xielu.") else f"{arch}.{key}", value)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_K_M)
    add_stand_in_vocabulary(writer, n_vocab)
    return writer


def write_sparse_tensors(writer: GGUFWriter, tensors: list[Tensor]) -> Path:
    """Add `tensors` ((name, ne, type) with ne as ggml orders it, 1-3 dimensions) as holes
    and write the file: how every real-shaped synthetic model ends (header only, a hole up
    to the full size)."""
    for name, ne, type_name in tensors:
        if len(ne) == 1:
            _vector(writer, name, ne[0], sparse=True)
        else:
            _matrix(writer, name, ne[0], ne[1], type_name, ne[2] if len(ne) > 2 else 0,
                    sparse=True)
    return _finish_sparse(writer)


def _finish_sparse(writer: GGUFWriter) -> Path:
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    data_bytes = sum(writer.ggml_pad(info.nbytes, writer.data_alignment)
                     for shard in writer.tensors for info in shard.values())
    assert writer.fout is not None and writer.path is not None  # written above, not closed
    handle = writer.fout[0]
    header_end = writer.ggml_pad(handle.tell(), writer.data_alignment)
    handle.truncate(header_end + data_bytes)
    path = Path(writer.path)
    writer.close()
    return path

"""Write small but loadable GGUF models of chosen shapes, for measuring llama.cpp.

The accuracy tests and the memory benchmark load these with llama.cpp and compare
its logged buffers with the plan. Tensor data is all zeros (valid blocks for
every ggml type), so a file is cheap to write; only shapes and types matter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gguf import GGMLQuantizationType, GGUFWriter
    from numpy.typing import DTypeLike


@dataclass(frozen=True)
class SyntheticModel:
    """A transformer layout; per-architecture extras follow llama.cpp's tensor lists."""

    name: str
    # llama, qwen2 (attention biases), qwen3 (Q/K norms), gemma2 / gemma3 (SWA, extra
    # norms, tied) or mamba (recurrent; ssm_d_conv, ssm_d_inner = 2 x n_embd, ssm_d_state)
    architecture: str = "llama"
    n_layer: int = 4
    n_embd: int = 256
    n_head: int = 8
    n_head_kv: int | list[int] = 2
    head_dim: int = 32
    n_ff: int = 768
    n_vocab: int = 8192
    n_ctx_train: int = 32768
    n_swa: int = 0
    swa_pattern: int = 0  # every n-th layer full attention (gemma3: 6)
    tied_embeddings: bool = False
    n_expert: int = 0
    n_expert_used: int = 0
    ssm_d_conv: int = 4
    ssm_d_state: int = 16
    weight_type: str = "Q8_0"  # matrices; norms and biases stay F32
    embedding_type: str = "Q8_0"
    extra_keys: dict[str, Any] = field(default_factory=dict)

    def head_count_kv(self, layer: int) -> int:
        if isinstance(self.n_head_kv, list):
            return self.n_head_kv[layer]
        return self.n_head_kv


# Real model shapes with fewer layers (per-layer figures do not depend on the count):
# Llama 3 8B, Gemma 3 4B, Qwen2.5 0.5B and a Mixtral-style MoE. Used by the accuracy
# tests and benchmarks/bench_memory.py.
REFERENCE_SHAPES: dict[str, SyntheticModel] = {
    "llama-gqa": SyntheticModel(
        "llama-gqa", n_layer=8, n_embd=4096, n_head=32, n_head_kv=8, head_dim=128, n_ff=14336,
        n_vocab=128256, weight_type="Q4_K", embedding_type="Q6_K"),
    "gemma3-swa-tied": SyntheticModel(
        "gemma3-swa-tied", architecture="gemma3", n_layer=34, n_embd=2560, n_head=8,
        n_head_kv=4, head_dim=256, n_ff=10240, n_vocab=262208, n_swa=1024,
        tied_embeddings=True, weight_type="Q4_K", embedding_type="Q6_K"),
    "qwen2-bias-152k": SyntheticModel(
        "qwen2-bias-152k", architecture="qwen2", n_layer=8, n_embd=896, n_head=14, n_head_kv=2,
        head_dim=64, n_ff=4864, n_vocab=151936, tied_embeddings=True),
    "mixtral-moe": SyntheticModel(
        "mixtral-moe", n_layer=4, n_embd=4096, n_head=32, n_head_kv=8, head_dim=128,
        n_ff=14336, n_vocab=32000, n_expert=8, n_expert_used=2, weight_type="Q4_K",
        embedding_type="Q6_K"),
}


def _add(writer: GGUFWriter, name: str, array_shape: list[int], dtype: DTypeLike,
         raw_dtype: GGMLQuantizationType | None,
         sparse: bool) -> None:
    """One tensor: with data (zeros) or, for a sparse file, only its header entry."""
    import numpy as np

    if sparse:
        n_bytes = int(np.prod(array_shape)) * np.dtype(dtype).itemsize
        writer.add_tensor_info(name, array_shape, np.dtype(dtype), n_bytes, raw_dtype=raw_dtype)
    else:
        writer.add_tensor(name, np.zeros(array_shape, dtype=dtype), raw_dtype=raw_dtype)


def _matrix(writer: GGUFWriter, name: str, ne0: int, ne1: int, type_name: str, ne2: int = 0,
            sparse: bool = False) -> None:
    import gguf
    import numpy as np

    qtype = gguf.GGMLQuantizationType[type_name]
    block, type_size = gguf.GGML_QUANT_SIZES[qtype]
    outer = [ne2, ne1] if ne2 else [ne1]  # numpy order: ggml's reversed
    if qtype in (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16) or ne0 % block:
        dtype = np.float32 if qtype == gguf.GGMLQuantizationType.F32 else np.float16
        _add(writer, name, [*outer, ne0], dtype, None, sparse)
        return
    _add(writer, name, [*outer, ne0 // block * type_size], np.uint8, qtype, sparse)


def _vector(writer: GGUFWriter, name: str, length: int, sparse: bool = False) -> None:
    import numpy as np

    _add(writer, name, [length], np.float32, None, sparse)


def add_stand_in_vocabulary(writer: GGUFWriter, n_vocab: int) -> None:
    """A SentencePiece-style vocabulary of `n_vocab` tokens that llama.cpp loads: unique pieces,
    the 256 byte tokens, scores and types for each, and bos/eos."""
    writer.add_tokenizer_model("llama")
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(256)]
    tokens += [f"t{i}" for i in range(n_vocab - len(tokens))]
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * n_vocab)
    writer.add_token_types([3, 3, 3] + [6] * 256 + [1] * (n_vocab - 259))
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)


def _mamba_layer(mat: Callable[[str, int, int, str], None], vec: Callable[[str, int], None],
                 spec: SyntheticModel, prefix: str) -> None:
    """The tensors llama.cpp's mamba loader asks for (models/mamba.cpp)."""
    d_inner, d_state, dt_rank = 2 * spec.n_embd, spec.ssm_d_state, spec.n_embd // 16
    vec(prefix + "attn_norm.weight", spec.n_embd)
    mat(prefix + "ssm_in.weight", spec.n_embd, 2 * d_inner, spec.weight_type)
    mat(prefix + "ssm_conv1d.weight", spec.ssm_d_conv, d_inner, "F32")
    vec(prefix + "ssm_conv1d.bias", d_inner)
    mat(prefix + "ssm_x.weight", d_inner, dt_rank + 2 * d_state, spec.weight_type)
    mat(prefix + "ssm_dt.weight", dt_rank, d_inner, "F32")
    vec(prefix + "ssm_dt.bias", d_inner)
    mat(prefix + "ssm_a", d_state, d_inner, "F32")
    vec(prefix + "ssm_d", d_inner)
    mat(prefix + "ssm_out.weight", d_inner, spec.n_embd, spec.weight_type)


def write_model(spec: SyntheticModel, path: Path, sparse: bool = False) -> Path:
    """Write `spec` as a GGUF file llama.cpp can load; returns `path`.

    `sparse`: write only the header and extend the file to its full size without
    data (a sparse file), enough for a no-alloc dry run of a model of any size.
    """
    import gguf

    arch = spec.architecture
    writer = gguf.GGUFWriter(str(path), arch)
    writer.add_block_count(spec.n_layer)
    writer.add_context_length(spec.n_ctx_train)
    writer.add_embedding_length(spec.n_embd)
    writer.add_feed_forward_length(spec.n_ff)
    writer.add_head_count(spec.n_head)
    writer.add_head_count_kv(spec.n_head_kv)
    if arch == "mamba":
        writer.add_ssm_conv_kernel(spec.ssm_d_conv)
        writer.add_ssm_inner_size(2 * spec.n_embd)
        writer.add_ssm_state_size(spec.ssm_d_state)
        writer.add_ssm_time_step_rank(spec.n_embd // 16)
    else:
        writer.add_key_length(spec.head_dim)
        writer.add_value_length(spec.head_dim)
        writer.add_rope_dimension_count(spec.head_dim)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0)
    if spec.n_swa:
        writer.add_sliding_window(spec.n_swa)
    if spec.n_expert:
        writer.add_expert_count(spec.n_expert)
        writer.add_expert_used_count(spec.n_expert_used)
    for key, value in spec.extra_keys.items():
        if isinstance(value, bool):
            writer.add_bool(key, value)
        elif isinstance(value, int):
            writer.add_uint32(key, value)
        else:
            writer.add_array(key, value)
    add_stand_in_vocabulary(writer, spec.n_vocab)

    def mat(name: str, ne0: int, ne1: int, type_name: str, ne2: int = 0) -> None:
        _matrix(writer, name, ne0, ne1, type_name, ne2, sparse=sparse)

    def vec(name: str, length: int) -> None:
        _vector(writer, name, length, sparse=sparse)

    q_width = spec.n_head * spec.head_dim
    mat("token_embd.weight", spec.n_embd, spec.n_vocab, spec.embedding_type)
    for il in range(spec.n_layer):
        if arch == "mamba":
            _mamba_layer(mat, vec, spec, f"blk.{il}.")
            continue
        kv_width = spec.head_count_kv(il) * spec.head_dim
        prefix = f"blk.{il}."
        vec(prefix + "attn_norm.weight", spec.n_embd)
        mat(prefix + "attn_q.weight", spec.n_embd, q_width, spec.weight_type)
        mat(prefix + "attn_k.weight", spec.n_embd, kv_width, spec.weight_type)
        mat(prefix + "attn_v.weight", spec.n_embd, kv_width, spec.weight_type)
        mat(prefix + "attn_output.weight", q_width, spec.n_embd, spec.weight_type)
        if arch == "qwen2":
            vec(prefix + "attn_q.bias", q_width)
            vec(prefix + "attn_k.bias", kv_width)
            vec(prefix + "attn_v.bias", kv_width)
        if arch in ("gemma3", "qwen3"):
            vec(prefix + "attn_q_norm.weight", spec.head_dim)
            vec(prefix + "attn_k_norm.weight", spec.head_dim)
        if arch in ("gemma2", "gemma3"):
            vec(prefix + "post_attention_norm.weight", spec.n_embd)
            vec(prefix + "post_ffw_norm.weight", spec.n_embd)
        vec(prefix + "ffn_norm.weight", spec.n_embd)
        if spec.n_expert:
            mat(prefix + "ffn_gate_inp.weight", spec.n_embd, spec.n_expert, "F32")
            for part, (ne0, ne1) in (("gate", (spec.n_embd, spec.n_ff)),
                                     ("up", (spec.n_embd, spec.n_ff)),
                                     ("down", (spec.n_ff, spec.n_embd))):
                mat(f"{prefix}ffn_{part}_exps.weight", ne0, ne1, spec.weight_type,
                        spec.n_expert)
        else:
            mat(prefix + "ffn_gate.weight", spec.n_embd, spec.n_ff, spec.weight_type)
            mat(prefix + "ffn_up.weight", spec.n_embd, spec.n_ff, spec.weight_type)
            mat(prefix + "ffn_down.weight", spec.n_ff, spec.n_embd, spec.weight_type)
    vec("output_norm.weight", spec.n_embd)
    if not spec.tied_embeddings:
        mat("output.weight", spec.n_embd, spec.n_vocab, spec.embedding_type)

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    if not sparse:
        writer.write_tensors_to_file()
        writer.close()
        return path
    writer.write_ti_data_to_file()
    data_bytes = sum(
        writer.ggml_pad(info.nbytes, writer.data_alignment)
        for shard in writer.tensors for info in shard.values()
    )
    assert writer.fout is not None
    handle = writer.fout[0]
    header_end = writer.ggml_pad(handle.tell(), writer.data_alignment)
    handle.truncate(header_end + data_bytes)
    writer.close()
    return path

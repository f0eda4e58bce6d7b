"""Small, valid GGUF files written with the `gguf` package (llama.cpp's own writer).

Shared test infrastructure: any test that needs a real-format model file without
downloading one can build it here in milliseconds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import gguf
import numpy as np

from picker.gguf.ggml_types import GGML_TYPE_IDS, GGML_TYPES


def _tensor(writer: gguf.GGUFWriter, name: str, shape: Sequence[int], type_name: str) -> None:
    """Add a zero-filled tensor of any ggml type; shape in GGUF order (ne0 first)."""
    type_id = GGML_TYPE_IDS[type_name]
    t = GGML_TYPES[type_id]
    rows = 1
    for d in shape[1:]:
        rows *= d
    row_bytes = shape[0] // t.block_size * t.type_size
    if type_name == "F32":
        writer.add_tensor(name, np.zeros(tuple(reversed(shape)), dtype=np.float32))
        return
    data = np.zeros((*reversed(shape[1:]), row_bytes), dtype=np.uint8)
    writer.add_tensor(name, data, raw_dtype=gguf.GGMLQuantizationType(type_id))


def write_llama(
    path: Path,
    *,
    arch: str = "llama",
    n_layers: int = 2,
    n_embd: int = 64,
    n_head: int = 4,
    n_head_kv: int = 2,
    n_ff: int = 128,
    n_vocab: int = 320,
    weight_type: str = "Q8_0",
    extra_kv: Mapping[str, Any] | None = None,
    split_max_tensors: int = 0,
    long_token_every: int = 0,
) -> list[Path]:
    """A llama-style model (GQA attention, SwiGLU FFN); returns the file(s) written.

    long_token_every=k makes every k-th token 120+ bytes long (most real tokens are short).
    """
    w = gguf.GGUFWriter(path, arch, split_max_tensors=split_max_tensors)
    w.add_name("picker-test")
    w.add_context_length(2048)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layers)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head_kv)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    w.add_file_type(7)
    w.add_tokenizer_model("llama")
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{i:02X}>" for i in range(256)]
    tokens += [
        f"{'long' * 30 if long_token_every and i % long_token_every == 0 else 'tok'}{i}"
        for i in range(n_vocab - len(tokens))
    ]
    w.add_token_list(tokens)
    w.add_token_scores([0.0] * len(tokens))
    w.add_token_types([1] * len(tokens))
    w.add_bos_token_id(1)
    w.add_eos_token_id(2)
    for key, value in (extra_kv or {}).items():
        _add_kv(w, key, value)
    head_dim = n_embd // n_head
    _tensor(w, "token_embd.weight", (n_embd, len(tokens)), weight_type)
    for i in range(n_layers):
        _tensor(w, f"blk.{i}.attn_norm.weight", (n_embd,), "F32")
        _tensor(w, f"blk.{i}.attn_q.weight", (n_embd, n_embd), weight_type)
        _tensor(w, f"blk.{i}.attn_k.weight", (n_embd, head_dim * n_head_kv), weight_type)
        _tensor(w, f"blk.{i}.attn_v.weight", (n_embd, head_dim * n_head_kv), weight_type)
        _tensor(w, f"blk.{i}.attn_output.weight", (n_embd, n_embd), weight_type)
        _tensor(w, f"blk.{i}.ffn_norm.weight", (n_embd,), "F32")
        _tensor(w, f"blk.{i}.ffn_gate.weight", (n_embd, n_ff), weight_type)
        _tensor(w, f"blk.{i}.ffn_up.weight", (n_embd, n_ff), weight_type)
        _tensor(w, f"blk.{i}.ffn_down.weight", (n_ff, n_embd), weight_type)
    _tensor(w, "output_norm.weight", (n_embd,), "F32")
    _tensor(w, "output.weight", (n_embd, len(tokens)), weight_type)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    if split_max_tensors:
        return sorted(path.parent.glob(f"{path.stem}-*-of-*.gguf"))
    return [path]


def _add_kv(w: gguf.GGUFWriter, key: str, value: Any) -> None:
    """Add one key/value; pass (value, GGUFValueType) to force a type."""
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[1], gguf.GGUFValueType):
        if isinstance(value[0], list):
            w.add_key_value(key, value[0], gguf.GGUFValueType.ARRAY, sub_type=value[1])
        else:
            w.add_key_value(key, value[0], value[1])
    elif isinstance(value, bool):
        w.add_bool(key, value)
    elif isinstance(value, int):
        w.add_uint32(key, value) if value >= 0 else w.add_int32(key, value)
    elif isinstance(value, float):
        w.add_float32(key, value)
    elif isinstance(value, str):
        w.add_string(key, value)
    elif isinstance(value, list):
        w.add_array(key, value)
    else:
        raise TypeError(f"unsupported test value {value!r}")

"""Write tiny but real llama-architecture GGUF files with the `gguf` package.

Random weights, so the text is gibberish, but llama.cpp loads them and generates
for real in milliseconds. The vocabulary is SentencePiece-style ("llama" model):
control tokens, the 256 byte tokens and a few hundred word pieces.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

N_EMBD = 64
N_FF = 128
N_HEAD = 4
N_LAYER = 2

_WORDS = (
    "the", "a", "an", "of", "to", "in", "is", "was", "and", "or", "it", "that", "this", "for",
    "on", "with", "as", "by", "at", "from", "be", "are", "were", "not", "but", "hello", "world",
    "model", "machine", "fast", "slow", "small", "large", "memory", "answer", "chat", "token",
)


def _vocabulary() -> tuple[list[str], list[float], list[int]]:
    tokens = ["<unk>", "<s>", "</s>"]
    types = [2, 3, 3]  # UNKNOWN, CONTROL, CONTROL
    tokens += [f"<0x{value:02X}>" for value in range(256)]
    types += [6] * 256  # BYTE
    pieces = ["\u2581"] + [f"\u2581{word}" for word in _WORDS] + list("abcdefghijklmnopqrstuvwxyz")
    pieces += [f"\u2581{a}{b}" for a in "aeiou" for b in "nrstl"]
    pieces = list(dict.fromkeys(pieces))  # llama.cpp asserts that every token is unique
    tokens += pieces
    types += [1] * len(pieces)  # NORMAL
    scores = [0.0] * 259 + [-float(rank) for rank in range(len(pieces))]
    return tokens, scores, types


def write_tiny_gguf(path: Path, *, architecture: str = "llama", chat_template: str | None = None,
                    seed: int = 0, duplicate_token: bool = False) -> Path:
    """A two-layer model of `architecture`'s shape (llama tensors, whatever the name says).

    `duplicate_token` repeats one word piece: llama.cpp then aborts in native code
    (a GGML_ASSERT) while loading, the way a broken converter's output would.
    """
    import gguf

    rng = np.random.default_rng(seed)
    tokens, scores, types = _vocabulary()
    if duplicate_token:
        tokens[-1] = tokens[-2]
    n_vocab = len(tokens)
    writer = gguf.GGUFWriter(str(path), architecture)
    writer.add_name("picker tiny test model")
    writer.add_context_length(4096)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYER)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEAD)
    writer.add_head_count_kv(N_HEAD)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(N_EMBD // N_HEAD)
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores(scores)
    writer.add_token_types(types)
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_add_bos_token(True)
    if chat_template is not None:
        writer.add_chat_template(chat_template)

    def tensor(name: str, *shape: int) -> None:
        writer.add_tensor(name, (rng.standard_normal(shape) * 0.2).astype(np.float32))

    tensor("token_embd.weight", n_vocab, N_EMBD)
    writer.add_tensor("output_norm.weight", np.ones(N_EMBD, dtype=np.float32))
    # Control and byte tokens never win greedy sampling: a lone UTF-8 lead byte would make
    # llama-cpp-python hold back the rest of a streamed answer, and EOS would end it early.
    output = (rng.standard_normal((n_vocab, N_EMBD)) * 0.2).astype(np.float32)
    output[:259] = 0.0
    writer.add_tensor("output.weight", output)
    for block in range(N_LAYER):
        writer.add_tensor(f"blk.{block}.attn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        writer.add_tensor(f"blk.{block}.ffn_norm.weight", np.ones(N_EMBD, dtype=np.float32))
        for part in ("q", "k", "v", "output"):
            tensor(f"blk.{block}.attn_{part}.weight", N_EMBD, N_EMBD)
        tensor(f"blk.{block}.ffn_gate.weight", N_FF, N_EMBD)
        tensor(f"blk.{block}.ffn_up.weight", N_FF, N_EMBD)
        tensor(f"blk.{block}.ffn_down.weight", N_EMBD, N_FF)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path

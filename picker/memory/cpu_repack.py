"""Quantized weights llama.cpp re-lays out for the CPU's kernels (its `CPU_REPACK` buffer).

Weights that stay on the CPU for a matrix multiply (a block on the CPU, experts kept there by
`--n-cpu-moe`) go to the CPU's extra buffer type when ggml-cpu has an interleaved kernel for
their type on this CPU (ggml-cpu/repack.cpp, `ggml_repack_get_optimal_repack_type`, in the
llama.cpp that llama-cpp-python 0.3.36 vendors): they are read from the file once, repacked
into anonymous memory and never paged back to the file, so they are real RAM, not mapped
pages the kernel can drop. The bytes are the same as in the file (no tensor changes size);
the buffer line just names them `CPU_REPACK` instead of `CPU_Mapped`. Token embeddings are
looked up by row (GET_ROWS), never repacked; F32/F16 tensors have no repacked kernel.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol


class RepackTensor(Protocol):
    """What a tensor info offers that the repack rule reads."""

    @property
    def name(self) -> str: ...
    @property
    def type_name(self) -> str: ...
    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def n_bytes(self) -> int: ...


# type -> ((the instruction sets one of which ggml-cpu needs, rows multiple), ...): the
# first rule this CPU meets applies. x86 needs AVX2 (Q2_K: AVX512); ARM NEON's dot product
# or int8 matmul kernels.
_RULES: dict[str, tuple[tuple[frozenset[str], int], ...]] = {
    "Q4_0": ((frozenset({"AVX2"}), 8), (frozenset({"I8MM"}), 4), (frozenset({"DOTPROD"}), 4)),
    "Q4_K": ((frozenset({"AVX2", "I8MM"}), 8), (frozenset({"DOTPROD"}), 8)),
    "Q2_K": ((frozenset({"AVX512"}), 8),),
    "Q5_K": ((frozenset({"I8MM", "DOTPROD"}), 8),),
    "Q6_K": ((frozenset({"I8MM", "DOTPROD"}), 8),),
    "IQ4_NL": ((frozenset({"AVX2"}), 8), (frozenset({"DOTPROD"}), 4)),
    "MXFP4": ((frozenset({"AVX2"}), 8), (frozenset({"DOTPROD"}), 4)),
    "Q8_0": ((frozenset({"I8MM", "DOTPROD"}), 4),),
}
# looked up by row, not multiplied: never repacked
_ROW_LOOKUPS = ("token_embd.", "per_layer_token_embd.")


def is_repacked(name: str, type_name: str, shape: Sequence[int], features: Iterable[str]) -> bool:
    """Whether llama.cpp repacks this weight when it stays on a CPU with these features."""
    if len(shape) < 2 or name.startswith(_ROW_LOOKUPS):
        return False
    have = set(features)
    for needs, multiple in _RULES.get(type_name, ()):
        if needs & have:
            return shape[1] % multiple == 0
    return False


def repacked_bytes(tensors: Iterable[RepackTensor], on_cpu: Iterable[str],
                   features: Iterable[str]) -> int:
    """Bytes of the CPU's weights (`on_cpu` names) that go to CPU_REPACK, from tensor infos
    (`.name`, `.type_name`, `.shape`, `.n_bytes`)."""
    wanted = set(on_cpu)
    have = tuple(features)
    return sum(t.n_bytes for t in tensors
               if t.name in wanted and is_repacked(t.name, t.type_name, t.shape, have))

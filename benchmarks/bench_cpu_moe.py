"""Experts on the CPU (`--n-cpu-moe N`) against llama.cpp itself, per device, on loopback.

Opt-in, like bench_rpc.py (whose llama.cpp build it uses: ggml-rpc-server and
llama-completion from the llama-cpp-python 0.3.36 sdist, built the first time). It

1. writes real-shaped MoE GGUFs (qwen3moe at Qwen3-30B-A3B's widths, gpt-oss at
   gpt-oss-20b's; every tensor name and width real, `--layers` blocks to keep the run a
   few GB: the weights really travel to the servers);
2. starts two `ggml-rpc-server`s on 127.0.0.1 as stand-in GPUs and, for each N in
   `--n-cpu-moe`, runs `llama-completion --rpc A,B -ngl 99 -ts 1,1 --n-cpu-moe N -fit off
   -lv 4 -lm none` (no mmap, so the CPU's model buffer holds exactly its own tensors);
3. plans the same split with picker (`plan_memory`, two GPUs split 1:1) and prints, per
   device, weights / KV / compute / output from the log beside the plan with the error in %,
   the CPU_REPACK bytes beside `cpu_repack.repacked_bytes`, and which tensors llama.cpp says
   it overrode beside the ones picker moves;
4. stops the servers it started (by their own handles), whatever happens.

The GPUs' compute buffers are compared without the copy of host experts that ggml-cuda
makes for a prompt's matmuls (`MemoryPlan.host_weight_copy_bytes`): RPC has no offload_op.
The CPU's compute buffer beside the experts holds the graph inputs, which a CUDA build
stages differently (`compute.host_input_bytes` is CUDA's figure). Exit status 1 when a
device's total is off by more than 2 %.

    .venv/bin/python benchmarks/bench_cpu_moe.py [--archs qwen3moe,gpt-oss] [--layers 4]
        [--n-cpu-moe 0,1,2,3] [--ctx 4096] [--flash-attn]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from bench_rpc import (  # noqa: E402
    _LOG_PREFIX,
    build,
    cache_dir,
    free_port,
    stop_servers,
    wait_for_port,
)

from picker.gguf import read_header  # noqa: E402
from picker.hardware.probe import probe_hardware  # noqa: E402
from picker.llama_settings import LlamaSettings  # noqa: E402
from picker.memory.cpu_repack import repacked_bytes  # noqa: E402
from picker.memory.llama_log import parse_llama_log  # noqa: E402
from picker.memory.machine import GpuBudget, Machine  # noqa: E402
from picker.memory.moe_offload import moved_tensor_names  # noqa: E402
from picker.memory.plan import MemoryPlan, plan_memory  # noqa: E402
from picker.memory.shape import shape_from_header  # noqa: E402
from picker.memory.synthetic_archs import ARCH_SHAPES, write_arch_model  # noqa: E402

MIB = 1024 * 1024
GIB = 1024 * MIB
TOLERANCE_PERCENT = 2.0
MODELS = {"qwen3moe": "qwen3-30b-a3b", "gpt-oss": "gpt-oss-20b"}
KINDS = ("model", "kv", "compute", "output")
# `tensor blk.0.ffn_gate_exps.weight (108 MiB q4_K) buffer type overridden to CPU_REPACK`
_OVERRIDDEN_RE = re.compile(r"tensor (\S+) \(.*\) buffer type overridden to (\S+)")


def plan_for(shape: Any, args: argparse.Namespace, n_cpu_moe: int) -> MemoryPlan:
    """picker's plan of llama-completion's run: two GPUs split 1:1, every layer offloaded,
    llama-completion's defaults (batch 2048, ubatch 512, swa_full off)."""
    gpus = tuple(GpuBudget(f"GPU{i}", 64 * GIB, split_weight=1) for i in range(2))
    settings = LlamaSettings(n_ctx=args.ctx, n_batch=2048, n_ubatch=512, n_gpu_layers=99,
                             flash_attn=args.flash_attn, swa_full=False, n_cpu_moe=n_cpu_moe)
    return plan_memory(shape, settings, Machine(cpu_free_bytes=64 * GIB, gpus=gpus))


def measured_devices(log: Any, ports: list[int]) -> list[dict[str, int]]:
    """Bytes per kind for the CPU (its plain and repacked model buffers added) and each server."""
    cpu = {kind: sum(line.size_bytes for line in log.buffers if line.kind == kind
                     and line.device.startswith("CPU")) for kind in KINDS}
    servers = []
    for port in ports:
        name = next((d for d in log.devices if d.endswith(f"[127.0.0.1:{port}]")), None)
        servers.append({kind: log.bytes_of(kind, name) if name else 0 for kind in KINDS})
    return [cpu, *servers]


def planned_devices(plan: MemoryPlan) -> list[dict[str, int]]:
    copies = dict(plan.host_weight_copy_bytes)
    return [{"model": d.weights_bytes, "kv": d.kv_cache_bytes,
             "compute": d.compute_bytes - copies.get(d.device, 0), "output": d.output_bytes}
            for d in plan.devices]


def error_percent(planned: int, measured: int) -> float:
    return 100.0 * (planned - measured) / measured if measured else 0.0


def compare(arch: str, n_cpu_moe: int, log_text: str, plan: MemoryPlan, header: Any,
            ports: list[int], features: tuple[str, ...]) -> float:
    """Print one run's table; the worst device total error in %."""
    log = parse_llama_log(log_text)
    measured = measured_devices(log, ports)
    planned = planned_devices(plan)
    print(f"\n{arch}, --n-cpu-moe {n_cpu_moe}")
    print(f"{'device':<8}{'kind':<9}{'llama.cpp MiB':>14}{'plan MiB':>11}{'error':>9}")
    worst = 0.0
    for name, got, want in zip(("CPU", "RPC0", "RPC1"), measured, planned, strict=True):
        for kind in (*KINDS, "total"):
            m = sum(got.values()) if kind == "total" else got[kind]
            p = sum(want.values()) if kind == "total" else want[kind]
            if not m and not p:
                continue
            error = error_percent(p, m)
            if kind == "total":
                worst = max(worst, abs(error))
            print(f"{name:<8}{kind:<9}{m / MIB:>14.2f}{p / MIB:>11.2f}{error:>8.2f}%")
    overridden = {match[1] for match in _OVERRIDDEN_RE.finditer(log_text)}
    moved = set(moved_tensor_names([t.name for t in header.tensors], n_cpu_moe))
    same = "the same" if overridden == moved else (
        f"DIFFERENT (log only: {sorted(overridden - moved)[:4]}, "
        f"plan only: {sorted(moved - overridden)[:4]})")
    repack = log.bytes_of("model", "CPU_REPACK")
    on_cpu = moved | {"token_embd.weight"}
    predicted = repacked_bytes(header.tensors, on_cpu, features)
    print(f"overridden to the CPU: {len(overridden)} tensors in the log, {len(moved)} moved by "
          f"picker: {same}")
    print(f"CPU_REPACK: llama.cpp {repack / MIB:.2f} MiB, cpu_repack.repacked_bytes "
          f"{predicted / MIB:.2f} MiB")
    return worst


def run_arch(arch: str, args: argparse.Namespace, bin_dir: Path, folder: Path) -> list[float]:
    model = dataclasses.replace(ARCH_SHAPES[MODELS[arch]], n_layer=args.layers)
    path = write_arch_model(model, folder / f"{arch}.gguf")
    header = read_header(path)
    shape = shape_from_header(header)
    features = tuple(probe_hardware().cpu.features)
    ports = [free_port(), free_port()]
    started: list[subprocess.Popen[bytes]] = []
    env = {**os.environ, "LD_LIBRARY_PATH": str(bin_dir)}
    worst: list[float] = []
    try:
        for port in ports:
            process = subprocess.Popen([str(bin_dir / "ggml-rpc-server"), "-H", "127.0.0.1",
                                        "-p", str(port), "-t", "1"], stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=env)
            started.append(process)
            wait_for_port(port, process)
        for n_cpu_moe in args.n_cpu_moe:
            argv = [str(bin_dir / "llama-completion"), "-m", str(path), "--rpc",
                    ",".join(f"127.0.0.1:{port}" for port in ports), "-ngl", "99", "-ts", "1,1",
                    "--n-cpu-moe", str(n_cpu_moe), "-c", str(args.ctx),
                    "-fa", "on" if args.flash_attn else "off", "-fit", "off", "-v",
                    "-lm", "none", "-t", "1", "-p", "hi", "-n", "1", "-no-cnv"]
            completed = subprocess.run(argv, capture_output=True, text=True, errors="replace", env=env,
                                       stdin=subprocess.DEVNULL, timeout=900)
            log_text = _LOG_PREFIX.sub("", completed.stdout + completed.stderr)
            fa = "-fa" if args.flash_attn else ""
            (cache_dir() / f"cpu-moe-{arch}-{n_cpu_moe}{fa}.log").write_text(log_text)
            if completed.returncode != 0:
                print(f"{arch} --n-cpu-moe {n_cpu_moe}: llama-completion failed "
                      f"({completed.returncode}):\n" + "\n".join(log_text.splitlines()[-10:]))
                worst.append(100.0)
                continue
            plan = plan_for(shape, args, n_cpu_moe)
            worst.append(compare(arch, n_cpu_moe, log_text, plan, header, ports, features))
    finally:
        stop_servers(started)
    return worst


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", default="qwen3moe,gpt-oss")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--n-cpu-moe", default="0,1,2,3",
                        type=lambda text: [int(part) for part in text.split(",")])
    parser.add_argument("--ctx", type=int, default=4096)
    parser.add_argument("--flash-attn", action="store_true")
    args = parser.parse_args()
    archs = args.archs.split(",")
    unknown = [arch for arch in archs if arch not in MODELS]
    if unknown:
        print(f"unknown --archs {unknown}; use {', '.join(MODELS)}")
        return 2
    bin_dir = build(cache_dir())
    print(f"{args.layers} blocks at real widths, ctx {args.ctx}, flash attention "
          f"{'on' if args.flash_attn else 'off'}, two ggml-rpc-servers split 1:1, -ngl 99")
    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="picker-bench-cpu-moe-") as folder:
        for arch in archs:
            results[arch] = run_arch(arch, args, bin_dir, Path(folder))
    print()
    worst = 0.0
    for arch, errors in results.items():
        cells = ", ".join(f"N={n}: {e:.2f}%" for n, e in zip(args.n_cpu_moe, errors, strict=True))
        print(f"worst device total error, {arch}: {cells}")
        worst = max([worst, *errors])
    print(f"worst of all: {worst:.2f}% (target {TOLERANCE_PERCENT}%)")
    return 0 if worst <= TOLERANCE_PERCENT else 1


if __name__ == "__main__":
    sys.exit(main())

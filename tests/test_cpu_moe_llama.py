"""Experts on the CPU held to llama.cpp itself: its override pattern, and its buffers.

The logs under tests/data/llama_logs/{qwen3moe,gpt-oss}-4blk-* are what llama.cpp (the build
llama-cpp-python 0.3.36 vendors) printed for 4 blocks at Qwen3-30B-A3B's and gpt-oss-20b's
real widths over two loopback ggml-rpc-servers (benchmarks/bench_cpu_moe.py: `-ngl 99 -ts 1,1
--n-cpu-moe N -c 4096 -fa off -fit off -lm none`; `-fa` in a name: `-fa on`; no n_cpu_moe:
N=0, which llama.cpp pipelines).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest

from picker.gguf import read_header
from picker.gguf.model import GGUFHeader
from picker.llama_settings import LlamaSettings
from picker.memory.cpu_repack import is_repacked, repacked_bytes
from picker.memory.llama_log import MIB_RESOLUTION_BYTES, parse_llama_log
from picker.memory.machine import GpuBudget, Machine
from picker.memory.moe_offload import moved_tensor_names
from picker.memory.plan import MemoryPlan, plan_memory
from picker.memory.shape import shape_from_header
from picker.memory.synthetic_archs import ARCH_SHAPES, write_arch_model

GIB = 1024**3
LOGS = Path(__file__).parent / "data/llama_logs"
# llama.cpp common/common.h, verbatim: LLM_FFN_EXPS_REGEX, and llm_ffn_block_regex's format,
# which --n-cpu-moe N adds once per block i < N (common/arg.cpp), matched with
# std::regex_search (src/llama-model-loader.cpp)
LLM_FFN_EXPS_REGEX = "\\.ffn_(up|down|gate|gate_up)_(ch|)exps"
BLOCK_FORMAT = "blk\\.%d%s"
_DEVICE_RE = re.compile(r"using device (RPC\d) \((127\.0\.0\.1:\d+)\)")
_OVERRIDDEN_RE = re.compile(r"tensor (\S+) \(.*\) buffer type overridden to (\S+)")


def _write(name: str, folder: Path, n_layer: int) -> GGUFHeader:
    model = replace(ARCH_SHAPES[name], n_layer=n_layer)
    return read_header(write_arch_model(model, folder / f"{name}.gguf"))


@pytest.fixture(scope="module")
def qwen3moe(tmp_path_factory: pytest.TempPathFactory) -> GGUFHeader:
    return _write("qwen3-30b-a3b", tmp_path_factory.mktemp("qwen3moe"), 4)


@pytest.fixture(scope="module")
def gpt_oss(tmp_path_factory: pytest.TempPathFactory) -> GGUFHeader:
    return _write("gpt-oss-20b", tmp_path_factory.mktemp("gpt-oss"), 4)


def _llama_cpp_selects(names: list[str], n_cpu_moe: int) -> set[str]:
    patterns = [re.compile(BLOCK_FORMAT % (il, LLM_FFN_EXPS_REGEX)) for il in range(n_cpu_moe)]
    return {name for name in names if any(p.search(name) for p in patterns)}


@pytest.mark.parametrize("name", ["qwen3-30b-a3b", "gpt-oss-20b", "qwen3.5-35b-a3b"])
def test_moved_tensors_are_what_llama_cpps_own_pattern_selects(name: str,
                                                                tmp_path: Path) -> None:
    """On the real tensor names (gpt-oss's expert biases, Qwen3.5's shared experts, blk.1
    against blk.10), and the bytes the plan moves off the GPU are exactly those tensors'."""
    header = _write(name, tmp_path, 12)
    names = [tensor.name for tensor in header.tensors]
    shape = shape_from_header(header)
    machine = Machine(cpu_free_bytes=64 * GIB, gpus=(GpuBudget("GPU0", 64 * GIB),))
    for n_cpu_moe in (1, 2, 11, 12):
        selected = _llama_cpp_selects(names, n_cpu_moe)
        assert set(moved_tensor_names(names, n_cpu_moe)) == selected
        assert selected and not any("shexp" in moved for moved in selected)
        plan = plan_memory(shape, LlamaSettings(n_ctx=4096, n_gpu_layers=99, n_cpu_moe=n_cpu_moe),
                           machine)
        assert plan.cpu_moe_bytes == sum(t.n_bytes for t in header.tensors if t.name in selected)


def _plan_of_log(header: GGUFHeader, n_cpu_moe: int, flash_attn: bool) -> MemoryPlan:
    """The plan for the settings the recorded logs ran with (two RPC servers, -ts 1,1)."""
    gpus = tuple(GpuBudget(f"GPU{i}", 64 * GIB, split_weight=1) for i in range(2))
    return plan_memory(shape_from_header(header),
                       LlamaSettings(n_ctx=4096, n_batch=2048, n_gpu_layers=99, swa_full=False,
                                     flash_attn=flash_attn, n_cpu_moe=n_cpu_moe),
                       Machine(cpu_free_bytes=64 * GIB, gpus=gpus))


@pytest.mark.parametrize(("arch", "n_cpu_moe"), [("qwen3moe", 1), ("qwen3moe", 3), ("gpt_oss", 1)])
def test_the_plan_per_device_matches_llama_cpps_log(arch: str, n_cpu_moe: int,
                                                     request: pytest.FixtureRequest) -> None:
    header: GGUFHeader = request.getfixturevalue(arch)
    name = arch.replace("_", "-")
    text = (LOGS / f"{name}-4blk-rpc-ts1-1-n_cpu_moe{n_cpu_moe}-n_ctx4096.log").read_text()
    log = parse_llama_log(text)
    servers = [f"RPC0[{address}]" for _, address in _DEVICE_RE.findall(text)]
    # the tensors llama.cpp says it overrode are the ones picker moves
    overridden = {match[1] for match in _OVERRIDDEN_RE.finditer(text)}
    assert overridden == set(moved_tensor_names([t.name for t in header.tensors], n_cpu_moe))
    plan = _plan_of_log(header, n_cpu_moe, flash_attn=False)
    copies = dict(plan.host_weight_copy_bytes)  # ggml-cuda's, which RPC does not make
    cpu, *on_gpus = plan.devices
    for memory, device in zip(on_gpus, servers, strict=True):
        assert abs(memory.weights_bytes - log.bytes_of("model", device)) <= MIB_RESOLUTION_BYTES
        # (gpt-oss logs its full and sliding-window caches apart)
        assert abs(memory.kv_cache_bytes - log.bytes_of("kv", device)) <= 2 * MIB_RESOLUTION_BYTES
        compute = memory.compute_bytes - copies.get(memory.device, 0)
        # a pipelined split (which overrides turn off) would be 16-20 % over here
        assert abs(compute / log.bytes_of("compute", device) - 1) < 0.02
    cpu_model = log.bytes_of("model", "CPU") + log.bytes_of("model", "CPU_REPACK")
    assert abs(cpu.weights_bytes - cpu_model) <= 2 * MIB_RESOLUTION_BYTES
    measured_cpu = cpu_model + log.bytes_of("compute", "CPU") + log.bytes_of("output", "CPU")
    assert abs(cpu.buffers_bytes / measured_cpu - 1) < 0.02
    # the host's graph inputs and the experts' own split (the plan had 12 MiB, not ~86)
    assert abs(cpu.compute_bytes / log.bytes_of("compute", "CPU") - 1) < 0.01


def test_with_flash_attention_the_cpus_share_matches_too(qwen3moe: GGUFHeader) -> None:
    """Flash attention on (f16 masks among the host's inputs): the CPU's weights, compute and
    output, and every device's weights and KV, as llama.cpp logged them (the GPUs' compute:
    the next test)."""
    log = parse_llama_log((LOGS / "qwen3moe-4blk-rpc-ts1-1-n_cpu_moe1-fa-n_ctx4096.log")
                          .read_text())
    plan = _plan_of_log(qwen3moe, 1, flash_attn=True)
    cpu = plan.devices[0]
    assert abs(cpu.compute_bytes / log.bytes_of("compute", "CPU") - 1) < 0.01
    assert abs(cpu.weights_bytes - log.bytes_of("model", "CPU")
               - log.bytes_of("model", "CPU_REPACK")) <= 2 * MIB_RESOLUTION_BYTES
    servers = [d for d in log.devices if d.startswith("RPC0[")]
    for memory, device in zip(plan.devices[1:], servers, strict=True):
        assert abs(memory.weights_bytes - log.bytes_of("model", device)) <= MIB_RESOLUTION_BYTES
        assert abs(memory.kv_cache_bytes - log.bytes_of("kv", device)) <= MIB_RESOLUTION_BYTES


def test_repacked_bytes_are_llama_cpps_cpu_repack_buffer(qwen3moe: GGUFHeader) -> None:
    text = (LOGS / "qwen3moe-4blk-rpc-ts1-1-n_cpu_moe3-n_ctx4096.log").read_text()
    on_cpu = {"token_embd.weight", *moved_tensor_names([t.name for t in qwen3moe.tensors], 3)}
    repacked = parse_llama_log(text).bytes_of("model", "CPU_REPACK")
    avx2 = repacked_bytes(qwen3moe.tensors, on_cpu, ("AVX", "AVX2", "FMA"))
    assert abs(avx2 - repacked) <= MIB_RESOLUTION_BYTES
    assert repacked_bytes(qwen3moe.tensors, on_cpu, ("AVX", "FMA")) == 0  # no AVX2 kernel
    # looked up by row, never repacked; rows not a multiple of the interleave stay as they are
    assert not is_repacked("token_embd.weight", "Q4_K", (2048, 151936), ("AVX2",))
    assert not is_repacked("blk.0.attn_q.weight", "Q4_K", (2048, 4100), ("AVX2",))
    assert is_repacked("blk.0.attn_q.weight", "Q4_0", (2048, 4100), ("NEON", "DOTPROD"))
    assert not is_repacked("blk.0.attn_norm.weight", "F32", (2048,), ("AVX2",))


def test_a_pipelined_split_with_flash_attention_keeps_f16_masks_on_the_host(
        qwen3moe: GGUFHeader) -> None:
    """Without experts on the CPU the two servers run as a pipeline: the host keeps 4 copies
    of the graph's inputs, whose KQ masks are f16 with flash attention (the plan counted them
    as f32: 52.05 MiB against llama.cpp's 36.05)."""
    log = parse_llama_log((LOGS / "qwen3moe-4blk-rpc-ts1-1-fa-n_ctx4096.log").read_text())
    plan = _plan_of_log(qwen3moe, 0, flash_attn=True)
    assert abs(plan.devices[0].compute_bytes - log.bytes_of("compute", "CPU")) \
        <= MIB_RESOLUTION_BYTES


def test_a_gpu_whose_blocks_all_run_their_experts_on_the_cpu(qwen3moe: GGUFHeader) -> None:
    """--n-cpu-moe 3 with blocks 0-2 on the first server: its compute holds the experts'
    results coming back from the CPU, not their activations (flash attention on, where that
    decides the size: the plan had 56.00 MiB against llama.cpp's 52.01)."""
    text = (LOGS / "qwen3moe-4blk-rpc-ts1-1-n_cpu_moe3-fa-n_ctx4096.log").read_text()
    log = parse_llama_log(text)
    first = f"RPC0[{_DEVICE_RE.findall(text)[0][1]}]"
    plan = _plan_of_log(qwen3moe, 3, flash_attn=True)
    gpu0 = plan.devices[1]
    copy = dict(plan.host_weight_copy_bytes)["GPU0"]  # ggml-cuda's; RPC makes none
    assert abs((gpu0.compute_bytes - copy) / log.bytes_of("compute", first) - 1) < 0.002


@pytest.mark.parametrize(("arch", "n_cpu_moe", "flash_attn"), [
    ("qwen3moe", 1, True), ("qwen3moe", 2, True), ("qwen3moe", 3, True),
    ("gpt_oss", 1, True), ("gpt_oss", 2, True), ("gpt_oss", 3, True),
    ("qwen3moe", 1, False), ("qwen3moe", 3, False),
    ("gpt_oss", 1, False), ("gpt_oss", 2, False), ("gpt_oss", 3, False)])
def test_each_gpus_compute_buffer_is_the_schedulers_split_replayed(
        arch: str, n_cpu_moe: int, flash_attn: bool, request: pytest.FixtureRequest) -> None:
    """A GPU running some blocks whole and others without their experts (and the GPU after
    the last moved block, which runs that block's weighing and sums): ggml's scheduler cuts
    the graph into splits per backend with copies between them, and the replay of it gives
    each GPU's compute buffer to llama.cpp's logged 0.01 MiB (the closed form was 36 % short
    on qwen3moe's first GPU at --n-cpu-moe 1 with flash attention, 19 % over on gpt-oss's);
    every device's total within 2 %."""
    header: GGUFHeader = request.getfixturevalue(arch)
    fa = "-fa" if flash_attn else ""
    text = (LOGS / f"{arch.replace('_', '-')}-4blk-rpc-ts1-1-n_cpu_moe{n_cpu_moe}{fa}-n_ctx4096.log"
            ).read_text()
    log = parse_llama_log(text)
    plan = _plan_of_log(header, n_cpu_moe, flash_attn)
    copies = dict(plan.host_weight_copy_bytes)  # ggml-cuda's, which RPC does not make
    cpu, *on_gpus = plan.devices
    servers = [f"RPC0[{address}]" for _, address in _DEVICE_RE.findall(text)]
    for memory, device in zip(on_gpus, servers, strict=True):
        compute = memory.compute_bytes - copies.get(memory.device, 0)
        assert abs(compute - log.bytes_of("compute", device)) <= MIB_RESOLUTION_BYTES
        measured = sum(log.bytes_of(kind, device) for kind in ("model", "kv", "compute"))
        assert abs((memory.buffers_bytes - copies.get(memory.device, 0)) / measured - 1) < 0.02
    measured_cpu = sum(log.bytes_of(kind, name) for kind in ("model", "compute", "output")
                       for name in ("CPU", "CPU_REPACK"))
    assert abs(cpu.buffers_bytes / measured_cpu - 1) < 0.02


@pytest.mark.parametrize(("arch", "flash_attn"), [
    ("qwen3moe", True), ("qwen3moe", False), ("gpt_oss", True), ("gpt_oss", False)])
def test_pipelined_gpus_compute_buffers_are_the_schedulers_copies_replayed(
        arch: str, flash_attn: bool, request: pytest.FixtureRequest) -> None:
    """No experts moved: llama.cpp pipelines the two servers, keeping 4 copies of every
    tensor a split reads from another backend, placed before the graph and never freed. The
    same replay with those copies gives each GPU's buffer to the logged 0.01 MiB (the closed
    form plus 4 copies was 28 % short on qwen3moe's first GPU with flash attention, 4 % over
    on gpt-oss's last without)."""
    header: GGUFHeader = request.getfixturevalue(arch)
    fa = "-fa" if flash_attn else ""
    text = (LOGS / f"{arch.replace('_', '-')}-4blk-rpc-ts1-1{fa}-n_ctx4096.log").read_text()
    log = parse_llama_log(text)
    plan = _plan_of_log(header, 0, flash_attn)
    servers = [f"RPC0[{address}]" for _, address in _DEVICE_RE.findall(text)]
    for memory, device in zip(plan.devices[1:], servers, strict=True):
        assert abs(memory.compute_bytes - log.bytes_of("compute", device)) <= MIB_RESOLUTION_BYTES
    assert abs(plan.devices[0].compute_bytes - log.bytes_of("compute", "CPU")) \
        <= MIB_RESOLUTION_BYTES

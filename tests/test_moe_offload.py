"""Experts on the CPU (`picker fit --n-cpu-moe N|auto`, `--cpu-moe`), on real-shaped MoE GGUFs.

The moved tensors are checked against llama.cpp's own override patterns applied to the real
tensor names, and the per-device weights against sums taken straight from the tensor infos.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from picker.gguf import read_header
from picker.llama_settings import LlamaSettings
from picker.memory.machine import GpuBudget, Machine
from picker.memory.moe_offload import layer_expert_bytes, moved_tensor_names
from picker.memory.plan import plan_memory
from picker.memory.shape import shape_from_header
from picker.memory.solver import fit
from picker.memory.synthetic_archs import ARCH_SHAPES, write_arch_model
from picker.rank.candidates import plan_loads
from tests.cli_helpers import run_picker
from tests.tiny_gguf import write_tiny_gguf

GIB = 1024**3
EXPERT_KINDS = {"ffn_gate_exps", "ffn_up_exps", "ffn_down_exps", "ffn_gate_up_exps"}


@pytest.fixture(scope="module")
def gpt_oss(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("moe")
    return write_arch_model(ARCH_SHAPES["gpt-oss-20b"], folder / "gpt-oss-20b.gguf")


def _experts_of_first(tensors: list, layers: int) -> list:  # type: ignore[type-arg]
    """The routed-expert tensors of blocks < layers, picked by splitting the names."""
    picked = []
    for tensor in tensors:
        parts = tensor.name.split(".")
        if parts[0] == "blk" and int(parts[1]) < layers and parts[2] in EXPERT_KINDS:
            picked.append(tensor)
    return picked


def test_moved_tensors_are_exactly_what_llama_cpps_patterns_select(gpt_oss: Path) -> None:
    tensors = list(read_header(gpt_oss).tensors)
    names = [tensor.name for tensor in tensors]
    for layers in (1, 2, 11, 24):
        expected = {tensor.name for tensor in _experts_of_first(tensors, layers)}
        assert set(moved_tensor_names(names, layers)) == expected
    # gpt-oss's expert biases move with the weights; blk.1 does not catch blk.10..19
    assert "blk.0.ffn_gate_exps.bias" in moved_tensor_names(names, 1)
    assert not [name for name in moved_tensor_names(names, 2) if name.startswith("blk.1")
                and not name.startswith("blk.1.")]


@pytest.mark.parametrize("n_cpu_moe", [4, 12, 24])
def test_per_device_weights_move_the_experts_of_the_first_layers(gpt_oss: Path,
                                                                 n_cpu_moe: int) -> None:
    header = read_header(gpt_oss)
    shape = shape_from_header(header)
    machine = Machine(cpu_free_bytes=64 * GIB, gpus=(GpuBudget("GPU0", 40 * GIB),))
    settings = LlamaSettings(n_ctx=4096, n_gpu_layers=shape.n_layer + 1)
    everything = plan_memory(shape, settings, machine)
    plan = plan_memory(shape, settings._replace(n_cpu_moe=n_cpu_moe), machine)
    moved = sum(tensor.n_bytes for tensor in _experts_of_first(list(header.tensors), n_cpu_moe))
    cpu, gpu = plan.devices
    assert cpu.weights_bytes == everything.devices[0].weights_bytes + moved
    assert gpu.weights_bytes == everything.devices[1].weights_bytes - moved
    assert plan.cpu_moe_bytes == moved
    assert plan.total("weights_bytes") == everything.total("weights_bytes")
    assert plan.total("kv_cache_bytes") == everything.total("kv_cache_bytes")
    assert any("--n-cpu-moe" in note for note in plan.notes)


def test_auto_chooses_the_fewest_layers_that_fit_the_gpu(gpt_oss: Path) -> None:
    shape = shape_from_header(read_header(gpt_oss))
    machine = Machine(cpu_free_bytes=64 * GIB, gpus=(GpuBudget("GPU0", 8 * GIB),))
    result = fit(shape, LlamaSettings(n_ctx=8192, n_gpu_layers=None, n_cpu_moe=None), machine)
    chosen = result.plan.settings.n_cpu_moe
    assert chosen is not None and 0 < chosen < shape.n_layer
    assert result.plan.fits and result.plan.gpu_layers == shape.n_layer + 1
    one_fewer = plan_memory(shape, result.plan.settings._replace(n_cpu_moe=chosen - 1), machine)
    assert one_fewer.devices[1].shortfall_bytes > 0


def test_generation_reads_only_the_routed_experts_on_the_cpu(gpt_oss: Path) -> None:
    shape = shape_from_header(read_header(gpt_oss))
    machine = Machine(cpu_free_bytes=64 * GIB, gpus=(GpuBudget("GPU0", 40 * GIB),))
    plan = plan_memory(shape, LlamaSettings(n_ctx=4096, n_gpu_layers=shape.n_layer + 1, n_cpu_moe=-1),
                       machine)
    ids = {"CPU": "cpu", "GPU0": "gpu0"}
    loads = {load.device: load for load in plan_loads(shape, plan, 0.5, ids)}
    # every expert on the CPU; a token reads 4 of gpt-oss's 32 (and one embedding row, nothing
    # else of the input matrix)
    assert loads["cpu"].weight_bytes == plan.cpu_moe_bytes * shape.n_expert_used // shape.n_expert
    # what stays on the GPU (attention, router, norms, the output matrix) is read whole, not at
    # the model's average active share
    assert loads["gpu0"].weight_bytes == plan.devices[1].weights_bytes


def test_fit_cli_plans_auto_and_refuses_a_dense_model(gpt_oss: Path, tmp_path: Path) -> None:
    result = run_picker("fit", str(gpt_oss), "--vram", "8GB", "--ram", "64GB", "--ctx", "8192",
                        "--n-cpu-moe", "auto", "--json")
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert 0 < document["settings"]["n_cpu_moe"] < 24
    assert "n_cpu_moe" in document["defaults_used"]
    dense = write_tiny_gguf(tmp_path / "dense.gguf")
    refused = run_picker("fit", str(dense), "--cpu-moe")
    assert refused.returncode == 2
    assert "not a mixture of experts" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_fit_text_does_not_call_a_plan_with_experts_in_ram_entirely_on_the_gpu(
        gpt_oss: Path) -> None:
    result = run_picker("fit", str(gpt_oss), "--vram", "8GB", "--ram", "64GB", "--ctx", "8192",
                        "--n-cpu-moe", "auto")
    assert result.returncode == 0, result.stderr
    placement = next(line for line in result.stdout.splitlines()
                     if line.startswith("placement:"))
    moved = int(result.stdout.split("n_cpu_moe ")[1].split()[0].rstrip(","))
    assert placement == (f"placement: gpu (every layer on the GPU, the MoE experts of {moved} "
                         "layers in host memory)")


def test_a_shape_without_a_header_estimates_its_experts_from_the_widths(gpt_oss: Path) -> None:
    shape = shape_from_header(read_header(gpt_oss))
    estimated = layer_expert_bytes(shape._replace(layer_expert_bytes=()))
    assert sum(estimated) == pytest.approx(sum(shape.layer_expert_bytes), rel=0.01)


def test_hosts_plans_refuse_experts_on_the_cpu_and_emit(gpt_oss: Path, tmp_path: Path) -> None:
    probe = run_picker("probe", "--json")
    assert probe.returncode == 0, probe.stderr
    main = tmp_path / "main.json"
    main.write_text(probe.stdout)
    for extra, said in ((["--n-cpu-moe", "4"], "not planned across --hosts"),
                        (["--emit", "llama-server"], "--emit does not apply with --hosts")):
        refused = run_picker("fit", str(gpt_oss), "--hosts", f"{main},{main}", *extra)
        assert refused.returncode == 2, refused.stderr
        assert said in refused.stderr and "Traceback" not in refused.stderr

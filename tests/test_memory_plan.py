"""The memory plan's parts: defaults, KV cache rules, refusals, placement, solver, speed."""

from __future__ import annotations

import inspect
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from picker.errors import UsageError
from picker.gguf import read_header
from picker.llama_settings import LLAMA_CPP_PYTHON_DEFAULTS, LlamaSettings
from picker.memory.estimate import shape_from_facts
from picker.memory.machine import GpuBudget, Machine
from picker.memory.placement import CPU, assign_layers
from picker.memory.plan import plan_memory
from picker.memory.shape import ModelShape, shape_from_header
from picker.memory.solver import fit
from picker.memory.synthetic import SyntheticModel, write_model

GIB = 1024**3
MIB = 1024**2
NO_LIMIT = Machine(cpu_free_bytes=None)


def llama_like(n_layer: int = 4, **changes: object) -> ModelShape:
    shape = ModelShape(
        architecture="llama", n_layer=n_layer, n_embd=4096, n_vocab=128256, n_ctx_train=131072,
        n_head=(32,) * n_layer, n_head_kv=(8,) * n_layer, key_length=128, value_length=128,
        n_ff=(14336,) * n_layer, layer_weight_bytes=(200 * MIB,) * n_layer,
        input_weight_bytes=400 * MIB, output_weight_bytes=400 * MIB,
    )
    return shape._replace(**changes)  # type: ignore[arg-type]


def test_defaults_are_what_llama_cpp_python_loads_with() -> None:
    import llama_cpp

    signature = inspect.signature(llama_cpp.Llama.__init__).parameters
    assert signature["n_ctx"].default == LLAMA_CPP_PYTHON_DEFAULTS.n_ctx
    assert signature["n_batch"].default == LLAMA_CPP_PYTHON_DEFAULTS.n_batch
    assert signature["n_ubatch"].default == LLAMA_CPP_PYTHON_DEFAULTS.n_ubatch
    assert signature["n_gpu_layers"].default == LLAMA_CPP_PYTHON_DEFAULTS.n_gpu_layers
    assert signature["flash_attn"].default is LLAMA_CPP_PYTHON_DEFAULTS.flash_attn
    assert signature["offload_kqv"].default is LLAMA_CPP_PYTHON_DEFAULTS.offload_kqv
    # Unset in llama-cpp-python, so llama.cpp's C defaults apply:
    assert signature["swa_full"].default is None and signature["type_k"].default is None
    context = llama_cpp.llama_context_default_params()
    assert context.swa_full is LLAMA_CPP_PYTHON_DEFAULTS.swa_full
    assert context.type_k == context.type_v == llama_cpp.GGML_TYPE_F16
    assert context.n_seq_max == LLAMA_CPP_PYTHON_DEFAULTS.n_seq_max
    assert context.kv_unified is False


def test_kv_cache_gqa_and_context_padding() -> None:
    plan = plan_memory(llama_like(), LlamaSettings(n_ctx=5000), NO_LIMIT)
    assert plan.effective.n_ctx == 5120
    # 4 layers x 5120 cells x 8 heads x 128 x (K + V) x f16
    assert plan.total("kv_cache_bytes") == 4 * 5120 * 8 * 128 * 2 * 2


def test_kv_cache_per_layer_heads_and_lengths() -> None:
    shape = llama_like(n_head_kv=(8, 0, 4, 8), key_length=192, value_length=128)
    plan = plan_memory(shape, LlamaSettings(n_ctx=1024, flash_attn=True), NO_LIMIT)
    assert plan.total("kv_cache_bytes") == 1024 * (8 + 4 + 8) * (192 + 128) * 2
    # Flash attention off: V is stored transposed, padded to the widest layer.
    padded = plan_memory(shape, LlamaSettings(n_ctx=1024), NO_LIMIT)
    assert padded.total("kv_cache_bytes") == 1024 * ((8 + 4 + 8) * 192 + 3 * 8 * 128) * 2


def test_kv_cache_quantized_types() -> None:
    plan = plan_memory(llama_like(), LlamaSettings(n_ctx=4096, flash_attn=True, type_k="q8_0",
                                              type_v="q4_0"), NO_LIMIT)
    row = 8 * 128
    assert plan.total("kv_cache_bytes") == 4 * 4096 * (row // 32 * 34 + row // 32 * 18)


def test_sliding_window_layers_with_and_without_swa_full() -> None:
    swa = (True, True, True, False)
    shape = llama_like(architecture="gemma3", n_swa=1024, swa_layers=swa)
    per_cell = 8 * 128 * 2 * 2
    full = plan_memory(shape, LlamaSettings(n_ctx=16384, swa_full=True), NO_LIMIT)
    assert full.total("kv_cache_bytes") == 4 * 16384 * per_cell
    small = plan_memory(shape, LlamaSettings(n_ctx=16384, swa_full=False), NO_LIMIT)
    # SWA layers: PAD256(n_swa + n_ubatch) = 1536 cells; the global layer: all 16384.
    assert small.total("kv_cache_bytes") == (3 * 1536 + 16384) * per_cell


def test_mla_keeps_one_k_only_latent_row() -> None:
    shape = llama_like(is_mla=True, n_head_kv=(1,) * 4, key_length=576, value_length=512)
    plan = plan_memory(shape, LlamaSettings(n_ctx=4096), NO_LIMIT)
    assert plan.total("kv_cache_bytes") == 4 * 4096 * 576 * 2


def test_recurrent_state_is_fixed_per_sequence() -> None:
    shape = llama_like(architecture="mamba", n_head_kv=(0,) * 4, recurrent_layers=(True,) * 4,
                       recurrent_r_floats=3 * 4096, recurrent_s_floats=16 * 8192)
    short = plan_memory(shape, LlamaSettings(n_ctx=512), NO_LIMIT)
    long = plan_memory(shape, LlamaSettings(n_ctx=65536), NO_LIMIT)
    expected = 4 * (3 * 4096 + 16 * 8192) * 4
    assert short.total("kv_cache_bytes") == long.total("kv_cache_bytes") == expected


@pytest.mark.parametrize(("settings", "reason"), [
    (LlamaSettings(type_v="q8_0"), "quantized V cache requires flash_attn"),
    (LlamaSettings(type_k="f17"), "unknown cache type"),
])
def test_invalid_combinations_are_refused_with_llama_cpp_reason(settings: LlamaSettings,
                                                                 reason: str) -> None:
    with pytest.raises(UsageError, match=reason):
        plan_memory(llama_like(), settings, NO_LIMIT)


def test_mla_refuses_different_k_and_v_types() -> None:
    shape = llama_like(is_mla=True, n_head_kv=(1,) * 4, key_length=576, value_length=512)
    # The error says what to do: one type for both (picker fit's clear-one-line rule).
    with pytest.raises(UsageError, match=r"different K.*--cache-type-k q8_0 --cache-type-v q8_0"):
        plan_memory(shape, LlamaSettings(flash_attn=True, type_k="q8_0", type_v="f16"), NO_LIMIT)


def test_mla_refusal_suggests_one_type_llama_cpp_also_accepts() -> None:
    # Kimi Linear's files carry a V head of 72, which no 32-wide block divides: suggesting
    # "q8_0 for both" would only lead to the block refusal, so f16 for both is suggested.
    shape = llama_like(is_mla=True, n_head_kv=(1,) * 4, key_length=576, value_length=72)
    with pytest.raises(UsageError, match=r"different K.*--cache-type-k f16 --cache-type-v f16"):
        plan_memory(shape, LlamaSettings(flash_attn=True, type_k="q8_0", type_v="f16"), NO_LIMIT)


def test_quantized_k_block_must_divide_head_size() -> None:
    shape = llama_like(key_length=80, value_length=80)
    with pytest.raises(UsageError, match=r"does not divide n_embd_head_k=80.*--cache-type-k f16"):
        plan_memory(shape, LlamaSettings(flash_attn=True, type_k="q8_0"), NO_LIMIT)


def test_layer_order_output_first_then_blocks_from_the_back() -> None:
    assert assign_layers(4, 1, [8 * GIB]) == [CPU, CPU, CPU, CPU, "GPU0"]
    assert assign_layers(4, 3, [8 * GIB]) == [CPU, CPU, "GPU0", "GPU0", "GPU0"]
    assert assign_layers(4, 99, [8 * GIB]) == ["GPU0"] * 5
    assert assign_layers(4, 5, []) == [CPU] * 5
    # Two GPUs: contiguous runs in proportion to free memory (1:3).
    assert assign_layers(7, 8, [4 * GIB, 12 * GIB]) == ["GPU0"] * 2 + ["GPU1"] * 6


def test_weights_follow_the_layers_and_tied_output_is_copied() -> None:
    shape = llama_like(tied_embeddings=True, output_weight_bytes=1 * MIB)
    machine = Machine(cpu_free_bytes=None, gpus=(GpuBudget("GPU0", None),))
    plan = plan_memory(shape, LlamaSettings(n_gpu_layers=2), machine)
    cpu, gpu = plan.devices
    assert cpu.weights_bytes == 400 * MIB + 3 * 200 * MIB
    assert gpu.weights_bytes == 200 * MIB + 1 * MIB + 400 * MIB  # block 3, norm, output copy
    assert plan.gpu_layers == 2 and plan.placement == "partial"


def test_solver_places_gpu_partial_cpu_and_does_not_fit() -> None:
    shape = llama_like(n_layer=8)
    settings = LlamaSettings(n_ctx=4096, n_gpu_layers=None)
    big = Machine(cpu_free_bytes=64 * GIB, gpus=(GpuBudget("GPU0", 24 * GIB),))
    assert fit(shape, settings, big).plan.placement == "gpu"
    small = Machine(cpu_free_bytes=64 * GIB, gpus=(GpuBudget("GPU0", 2 * GIB),))
    partial = fit(shape, settings, small).plan
    assert partial.placement == "partial" and 0 < partial.gpu_layers < 9
    assert partial.devices[1].total_bytes <= 2 * GIB
    more = plan_memory(shape, settings._replace(n_gpu_layers=partial.gpu_layers + 1), small)
    assert not more.fits  # the solver took as many layers as fit
    tiny_gpu = Machine(cpu_free_bytes=64 * GIB, gpus=(GpuBudget("GPU0", 256 * MIB),))
    assert fit(shape, settings, tiny_gpu).plan.placement == "cpu"
    nothing = Machine(cpu_free_bytes=1 * GIB)
    result = fit(shape, settings, nothing)
    assert result.plan.placement == "does-not-fit"
    assert result.plan.shortfall_bytes == result.plan.total_bytes - 1 * GIB


def test_max_context_is_the_largest_fitting_multiple_of_256() -> None:
    shape = llama_like(n_layer=8)
    machine = Machine(cpu_free_bytes=10 * GIB)
    result = fit(shape, LlamaSettings(), machine)
    assert result.max_context % 256 == 0 and 0 < result.max_context <= shape.n_ctx_train
    assert plan_memory(shape, LlamaSettings(n_ctx=result.max_context), machine).fits
    assert not plan_memory(shape, LlamaSettings(n_ctx=result.max_context + 256), machine).fits
    roomy = fit(shape, LlamaSettings(), Machine(cpu_free_bytes=10_000 * GIB))
    assert roomy.max_context == shape.n_ctx_train


@pytest.fixture(scope="module")
def big_header_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = SyntheticModel("seventy-b", n_layer=80, n_embd=8192, n_head=64, n_head_kv=8,
                          head_dim=128, n_ff=28672, n_vocab=32000, weight_type="Q4_K")
    return write_model(spec, tmp_path_factory.mktemp("big") / "70b.gguf", sparse=True)


def test_full_plan_from_a_header_in_under_5_ms(big_header_path: Path) -> None:
    header = read_header(big_header_path)
    machine = Machine(cpu_free_bytes=64 * GIB, gpus=(GpuBudget("GPU0", 24 * GIB),))
    timings = []
    for _ in range(15):
        start = time.perf_counter()
        result = fit(shape_from_header(header), LlamaSettings(n_ctx=8192, n_gpu_layers=None), machine)
        timings.append(time.perf_counter() - start)
    assert result.plan.placement == "partial"
    assert min(timings) < 0.005  # the best of 15: the code's speed, not the machine's load


def test_shape_from_a_real_header(big_header_path: Path) -> None:
    shape = shape_from_header(read_header(big_header_path))
    assert (shape.n_layer, shape.n_embd, shape.n_vocab) == (80, 8192, 32000)
    assert shape.n_head_kv == (8,) * 80 and shape.key_length == 128
    assert not shape.tied_embeddings and not any(shape.swa_layers)
    assert shape.weights_bytes == read_header(big_header_path).weights_bytes


def test_facts_estimate_is_close_to_the_header(big_header_path: Path) -> None:
    header_shape = shape_from_header(read_header(big_header_path))
    estimate = shape_from_facts(
        architecture="llama", n_layer=80, n_embd=8192, n_head=64, n_head_kv=8, n_vocab=32000,
        n_ctx_train=32768, n_ff=28672, file_size_bytes=big_header_path.stat().st_size)
    assert estimate.estimated
    assert abs(estimate.weights_bytes - header_shape.weights_bytes) < 0.01 * estimate.weights_bytes
    settings = LlamaSettings(n_ctx=8192)
    exact, guessed = (plan_memory(s, settings, NO_LIMIT) for s in (header_shape, estimate))
    assert exact.total("kv_cache_bytes") == guessed.total("kv_cache_bytes")
    assert exact.total("compute_bytes") == guessed.total("compute_bytes")


def test_unified_memory_shares_one_pool() -> None:
    shape = llama_like(n_layer=8)
    settings = LlamaSettings(n_ctx=4096, n_gpu_layers=None)
    apple = Machine(cpu_free_bytes=3 * GIB, gpus=(GpuBudget("GPU0", 3 * GIB, unified=True),))
    plan = fit(shape, settings, apple).plan
    # GPU and CPU parts each fit their own figure, but together they exceed the pool.
    assert all(device.shortfall_bytes == 0 for device in plan.devices)
    assert plan.placement == "does-not-fit"
    assert plan.shortfall_bytes == plan.total_bytes - 3 * GIB
    roomy = Machine(cpu_free_bytes=24 * GIB, gpus=(GpuBudget("GPU0", 16 * GIB, unified=True),))
    assert fit(shape, settings, roomy).plan.placement == "gpu"


def test_machine_from_a_probe_snapshot() -> None:
    from picker.hardware.overrides import HardwareOverrides, apply_overrides
    from picker.hardware.probe import probe_hardware
    from picker.memory.machine import machine_from_snapshot

    snapshot = apply_overrides(probe_hardware(),
                               HardwareOverrides(ram_bytes=32 * GIB, vram_bytes=(8 * GIB, 4 * GIB)))
    machine = machine_from_snapshot(snapshot)
    assert machine.cpu_free_bytes == 32 * GIB
    assert [(gpu.name, gpu.free_bytes) for gpu in machine.gpus] == [("GPU0", 8 * GIB),
                                                                    ("GPU1", 4 * GIB)]
    assert all(gpu.overhead_bytes > 0 and gpu.overhead_source for gpu in machine.gpus)


def test_sliding_window_pattern_read_like_llama_cpp(tmp_path: Path) -> None:
    spec = SyntheticModel("g3", architecture="gemma3", n_layer=12, n_embd=256, n_head=4,
                          n_head_kv=1, head_dim=64, n_ff=512, n_vocab=300, n_swa=512,
                          tied_embeddings=True)
    shape = shape_from_header(read_header(write_model(spec, tmp_path / "g3.gguf", sparse=True)))
    # Gemma 3: five sliding layers, then one global, from the first layer on.
    assert shape.swa_layers == (True,) * 5 + (False,) + (True,) * 5 + (False,)
    assert shape.n_swa == 512 and shape.tied_embeddings
    assert shape.tied_copy_bytes == shape.input_weight_bytes > 0
    explicit = SyntheticModel("g3x", architecture="gemma3", n_layer=4, n_embd=256, n_head=4,
                              n_head_kv=1, head_dim=64, n_ff=512, n_vocab=300, n_swa=128,
                              extra_keys={"gemma3.attention.sliding_window_pattern":
                                          [True, False, False, True]})
    shape = shape_from_header(read_header(write_model(explicit, tmp_path / "g3x.gguf",
                                                      sparse=True)))
    assert shape.swa_layers == (True, False, False, True)


def test_mla_and_recurrent_facts_from_header_keys() -> None:
    from picker.gguf import GGUFHeader

    metadata = {
        "general.architecture": "deepseek2", "deepseek2.block_count": 2,
        "deepseek2.embedding_length": 7168, "deepseek2.attention.head_count": 128,
        "deepseek2.attention.head_count_kv": 1, "deepseek2.attention.key_length": 576,
        "deepseek2.attention.value_length": 512, "deepseek2.attention.key_length_mla": 192,
        "deepseek2.attention.value_length_mla": 128, "deepseek2.attention.kv_lora_rank": 512,
        "deepseek2.context_length": 163840, "deepseek2.vocab_size": 129280,
    }
    header = GGUFHeader(version=3, metadata=metadata, tensors=(), alignment=32, data_offset=0,
                        header_bytes_read=0, file_size_bytes=0)
    shape = shape_from_header(header)
    assert shape.is_mla and shape.kv_lora_rank == 512
    plan = plan_memory(shape, LlamaSettings(n_ctx=4096), NO_LIMIT)
    assert plan.total("kv_cache_bytes") == 2 * 4096 * 576 * 2  # K only, one latent head
    mamba = {
        "general.architecture": "mamba", "mamba.block_count": 3, "mamba.embedding_length": 768,
        "mamba.ssm.conv_kernel": 4, "mamba.ssm.inner_size": 1536, "mamba.ssm.state_size": 16,
        "mamba.attention.head_count": 0, "mamba.context_length": 1048576,
    }
    shape = shape_from_header(replace(header, metadata=mamba))
    assert shape.recurrent_layers == (True,) * 3 and shape.n_head_kv == (0,) * 3
    assert (shape.recurrent_r_floats, shape.recurrent_s_floats) == (3 * 1536, 16 * 1536)


def test_quants_of_one_architecture_share_what_depends_on_it_alone() -> None:
    from picker.memory import estimate

    facts: dict[str, Any] = dict(architecture="gemma3", n_layer=26, n_embd=1152, n_head=4,
                                 n_head_kv=1, n_vocab=262144, n_ctx_train=32768, key_length=256,
                                 value_length=256, n_ff=6912, sliding_window=512,
                                 tied_embeddings=True)
    small = estimate.shape_from_facts(**facts, file_size_bytes=600_000_000)
    large = estimate.shape_from_facts(**facts, file_size_bytes=1_000_000_000)
    assert large.weights_bytes > small.weights_bytes
    assert small.kv_bytes_per_cell("q8_0", "q8_0", False) is large.kv_bytes_per_cell("q8_0", "q8_0", False)
    estimate._TEMPLATES.clear()  # built from scratch, the same shape and the same derived values
    fresh = estimate.shape_from_facts(**facts, file_size_bytes=1_000_000_000)
    assert fresh == large
    assert fresh.attention_widths == large.attention_widths
    assert fresh.kv_bytes_per_cell("f16", "f16", True) == large.kv_bytes_per_cell("f16", "f16", True)
    assert tuple(fresh.__dict__) == tuple(large.__dict__)

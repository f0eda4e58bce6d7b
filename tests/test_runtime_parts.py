"""Small pieces of the runtime: failure reasons, GPU memory deltas, buffer-to-device mapping."""

from __future__ import annotations

from pathlib import Path

import pynvml
import pytest

from picker.llama_settings import LlamaSettings
from picker.runtime.failure import describe_exit, failure_from_log
from picker.runtime.gpu_memory import nvidia_used_bytes, used_delta_bytes
from picker.runtime.measured_memory import error_pct, plan_device
from tests import fake_nvml

GIB = 1024**3


@pytest.mark.parametrize(
    ("line", "kind", "expected"),
    [
        ("ggml_backend_cuda_buffer_type_alloc_buffer: allocating 9216.00 MiB on device 0: "
         "cudaMalloc failed: out of memory", "memory",
         "not enough memory for this model at these settings: allocating 9216.00 MiB"),
        ("ggml_gallocr_reserve_n: failed to allocate CPU buffer of size 123456789", "memory",
         "not enough memory for this model at these settings: failed to allocate CPU buffer"),
        ("llama_model_load: error loading model: unknown model architecture: 'mamba9'",
         "unsupported", "does not support the model architecture 'mamba9'"),
        ("/src/llama-vocab.cpp:2544: GGML_ASSERT(id_to_token.size() == token_to_id.size()) failed",
         "internal", "GGML_ASSERT(id_to_token.size() == token_to_id.size()) failed (llama-vocab.cpp)"),
    ],
)
def test_failure_reasons_come_from_the_log(line: str, kind: str, expected: str) -> None:
    noise = ["llama_model_loader: loaded meta data with 30 key-value pairs",
             "print_info: file type   = Q4_K - Medium"]
    failure = failure_from_log([*noise, line, "llama_model_load_from_file_impl: failed to load model"])
    assert failure is not None
    assert failure.kind == kind
    assert expected in failure.reason


def test_a_clean_log_has_no_failure() -> None:
    assert failure_from_log(["load_tensors: CPU model buffer size = 10.00 MiB"]) is None


def test_exit_descriptions() -> None:
    assert "out-of-memory killer" in describe_exit(-9)
    assert describe_exit(-11) == "crashed (segmentation fault)"
    assert describe_exit(1) == "exited with status 1"


def test_gpu_memory_delta_from_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    devices = [fake_nvml.FakeDevice("RTX A", 24 * GIB, 20 * GIB),
               fake_nvml.FakeDevice("RTX B", 24 * GIB, 24 * GIB)]
    fake_nvml.install(monkeypatch, devices)
    before = nvidia_used_bytes()
    assert before == [4 * GIB, 0]
    devices[0].free_bytes -= 3 * GIB  # the load
    devices[1].free_bytes -= 1 * GIB
    assert used_delta_bytes(before, nvidia_used_bytes()) == 4 * GIB


def test_gpu_memory_is_none_without_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_nvml.install(monkeypatch, [], failures={
        "nvmlInit": pynvml.NVML_ERROR_LIBRARY_NOT_FOUND})
    assert nvidia_used_bytes() is None
    assert used_delta_bytes(None, [1]) is None


def test_buffer_types_map_to_plan_devices() -> None:
    assert plan_device("CUDA0") == "GPU0"
    assert plan_device("CUDA1") == "GPU1"
    assert plan_device("Metal") == "GPU0"
    assert plan_device("Vulkan2") == "GPU2"
    assert plan_device("CUDA_Host") == "CPU"
    assert plan_device("CPU_Mapped") == "CPU"
    assert error_pct(110, 100) == 10.0
    assert error_pct(None, 100) is None and error_pct(5, 0) is None


def test_a_quantized_v_cache_needs_flash_attention(tmp_path: Path) -> None:
    """One rule for the plan and the runtime: the engine refuses before it starts a child."""
    from picker.errors import UsageError
    from picker.runtime.engine import LlamaEngine

    with pytest.raises(UsageError, match="quantized V cache requires flash_attn"):
        LlamaEngine(tmp_path / "model.gguf", LlamaSettings(type_v="q8_0"))
    LlamaSettings(type_v="q8_0", flash_attn=True).check()
    with pytest.raises(UsageError, match="unknown cache type 'q3'"):
        LlamaEngine(tmp_path / "model.gguf", LlamaSettings(type_k="q3"))


def test_the_default_load_limit_grows_with_the_file() -> None:
    from picker.runtime.settings import RuntimeLimits

    assert RuntimeLimits.for_file(250 * 10**6).load_seconds == 300.0
    assert RuntimeLimits.for_file(40 * 10**9).load_seconds == 800.0  # 40 GB at 50 MB/s
    assert RuntimeLimits.for_file(40 * 10**9, load_seconds=5.0).load_seconds == 5.0
    assert RuntimeLimits.for_file(1, generation_seconds=7.0).generation_seconds == 7.0

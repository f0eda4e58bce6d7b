"""llama.cpp's verbose log read into bytes per device per kind."""

from __future__ import annotations

from pathlib import Path

from picker.llama_settings import LlamaSettings
from picker.memory.llama_log import MIB, MIB_RESOLUTION_BYTES, parse_llama_log
from picker.memory.llama_probe import ProbeRequest, run_probe
from picker.memory.synthetic import SyntheticModel, write_model

LOGS = Path(__file__).parent / "data" / "llama_logs"


def test_real_cpu_log_of_gemma3_270m() -> None:
    """Captured from llama_cpp.Llama(gemma-3-270m Q4_K_M, n_ctx=2048, verbose=True)."""
    log = parse_llama_log((LOGS / "gemma3-270m-q4_k_m-cpu-n_ctx2048.log").read_text())
    assert log.by_device("model") == {"CPU_Mapped": round(235.16 * MIB),
                                      "CPU_REPACK": round(12.66 * MIB)}
    assert log.bytes_of("output") == 1 * MIB
    assert log.bytes_of("kv") == 36 * MIB  # the non-SWA (3 layers) plus the SWA (15) cache
    assert [(cache.cells, cache.layers) for cache in log.kv_caches] == [(2048, 3), (2048, 15)]
    assert log.kv_cache_bytes == 36 * MIB
    assert log.kv_caches[0].type_k == "f16" and log.kv_caches[0].k_bytes == 3 * MIB
    assert log.bytes_of("compute", "CPU") == round(514.50 * MIB)
    assert log.devices == ("CPU_Mapped", "CPU_REPACK", "CPU")
    assert log.errors == ()


def test_real_log_with_quantized_cache() -> None:
    """Captured from a generated MoE model with a q8_0 cache and flash attention."""
    log = parse_llama_log((LOGS / "synthetic-moe-q8_0-cache-fa-n_ctx4096.log").read_text())
    (cache,) = log.kv_caches
    assert (cache.type_k, cache.type_v, cache.cells) == ("q8_0", "q8_0", 4096)
    assert abs(cache.k_bytes - 2.125 * MIB) <= MIB_RESOLUTION_BYTES
    assert log.bytes_of("compute") == round(65.50 * MIB)


def test_gpu_lines_in_llama_cpp_format() -> None:
    """Lines written in the format llama.cpp prints on a CUDA build (partial offload)."""
    text = "\n".join([
        "load_tensors: offloading 20 repeating layers to GPU",
        "load_tensors: offloaded 21/33 layers to GPU",
        "load_tensors:        CUDA0 model buffer size =  2743.28 MiB",
        "load_tensors:   CPU_Mapped model buffer size =  1892.34 MiB",
        "llama_context:  CUDA_Host  output buffer size =     0.49 MiB",
        "llama_kv_cache:      CUDA0 KV buffer size =   640.00 MiB",
        "llama_kv_cache:        CPU KV buffer size =   384.00 MiB",
        "llama_kv_cache: size = 1024.00 MiB (  8192 cells,  32 layers,  1/1 seqs), "
        "K (f16):  512.00 MiB, V (f16):  512.00 MiB",
        "sched_reserve:      CUDA0 compute buffer size =   560.00 MiB",
        "sched_reserve:  CUDA_Host compute buffer size =    24.01 MiB",
        "llama_memory_recurrent:      CUDA0 RS buffer size =     0.25 MiB",
        "llama_memory_recurrent: size =    0.25 MiB (     1 cells,   2 layers,  1 seqs), "
        "R (f32):    0.06 MiB, S (f32):    0.19 MiB",
    ])
    log = parse_llama_log(text)
    assert (log.offloaded_layers, log.offloadable_layers) == (21, 33)
    assert log.by_device("kv") == {"CUDA0": 640 * MIB, "CPU": 384 * MIB}
    assert log.by_device("compute") == {"CUDA0": 560 * MIB, "CUDA_Host": round(24.01 * MIB)}
    assert log.bytes_of("output", "CUDA_Host") == round(0.49 * MIB)
    assert log.bytes_of("recurrent") == round(0.25 * MIB)
    assert log.recurrent_bytes == round(0.25 * MIB)
    assert log.kv_cache_bytes == 1024 * MIB


def test_weights_lines_of_older_llama_cpp() -> None:
    log = parse_llama_log([
        "llm_load_tensors:        CPU buffer size =   297.00 MiB",
        "llm_load_tensors:      CUDA0 buffer size =  7317.71 MiB",
        "llama_new_context_with_model:      CUDA0 compute buffer size =   105.00 MiB",
        "llm_load_tensors: ggml ctx size =    0.26 MiB",
    ])
    assert log.by_device("model") == {"CPU": 297 * MIB, "CUDA0": round(7317.71 * MIB)}
    assert log.bytes_of("compute", "CUDA0") == 105 * MIB


def test_unrelated_and_broken_lines_are_ignored() -> None:
    log = parse_llama_log(["", "print_info: n_ctx_train = 32768", "model buffer size = oops",
                           "llama_kv_cache: size = x MiB"])
    assert log.buffers == () and log.kv_caches == ()


def test_probe_captures_the_log_of_a_real_load(tmp_path: Path) -> None:
    spec = SyntheticModel("probe", n_layer=2, n_embd=256, n_head=4, n_head_kv=2, head_dim=64,
                          n_ff=512, n_vocab=4096)
    path = write_model(spec, tmp_path / "probe.gguf")
    (result,) = run_probe(ProbeRequest(str(path), contexts=(LlamaSettings(n_ctx=1024),),
                                       dry_run=False))
    assert result.ok
    # 2 layers x 1024 cells x (2 heads x 64) x (K + V) x 2 bytes
    assert result.log.kv_cache_bytes == 2 * 1024 * 128 * 2 * 2
    assert abs(result.log.bytes_of("output") - 4096 * 4) <= MIB_RESOLUTION_BYTES
    assert result.log.bytes_of("compute") > 0


def test_probe_reports_llama_cpp_refusal(tmp_path: Path) -> None:
    spec = SyntheticModel("refuse", n_layer=1, n_embd=256, n_head=4, n_head_kv=2, head_dim=64,
                          n_ff=512, n_vocab=300)
    path = write_model(spec, tmp_path / "refuse.gguf")
    refused = LlamaSettings(n_ctx=512, type_k="q8_0", type_v="q8_0", flash_attn=False)
    (result,) = run_probe(ProbeRequest(str(path), contexts=(refused,)))
    assert not result.ok
    assert result.error is not None and "flash_attn" in result.error

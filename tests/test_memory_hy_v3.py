"""Tencent Hy3 (llama.cpp's hy_v3): its MTP block is half skipped, half loaded.

llama.cpp skips an MTP block's tensors unless asked to load them, but hy_v3 creates the
block's FFN, router, experts and shared expert without the skip flag: they load with the
model (about 2 GB at Q4_K for Hy3's 192 experts). The real-shaped sparse GGUF of Hy3
(picker/memory/synthetic_archs.py) is in tests/test_memory_archs.py's grid; here the
split itself, against the tensors llama-cpp-python 0.3.36's dry run reports as unused.
"""

from __future__ import annotations

from pathlib import Path

from picker.gguf import read_header
from picker.llama_settings import LlamaSettings
from picker.memory.llama_probe import ProbeRequest, run_probe
from picker.memory.shape import shape_from_header
from picker.memory.synthetic_archs import ARCH_SHAPES, write_arch_model


def test_the_mtp_blocks_experts_load_and_only_its_attention_is_skipped(tmp_path: Path) -> None:
    path = write_arch_model(ARCH_SHAPES["hy3"], tmp_path / "hy3.gguf")
    header = read_header(path)
    shape = shape_from_header(header)
    (probe,) = run_probe(ProbeRequest(str(path), contexts=(LlamaSettings(n_ctx=4096),)))
    assert probe.ok, probe.error
    mtp = sum(t.n_bytes for t in header.tensors if t.name.startswith("blk.80."))
    experts = sum(t.n_bytes for t in header.tensors
                  if t.name.startswith("blk.80.ffn_") and "_exps" in t.name)
    assert shape.n_layer_nextn == 1 and shape.n_head_kv[80] == 0
    assert shape.nextn_weight_bytes == probe.log.unused_tensor_bytes  # what llama.cpp skips
    assert shape.layer_weight_bytes[80] == mtp - probe.log.unused_tensor_bytes
    assert shape.layer_weight_bytes[80] > experts > 1_900_000_000

"""Real-shaped vision projectors for tests and benchmarks, and what llama.cpp's clip says
when it loads one.

`write_gemma3_projector` writes a Gemma 3 mmproj (SigLIP encoder, average pooling, input
projection) and `write_llava_projector` a LLaVA-1.5 one (CLIP ViT-L/14 at 336 pixels, a
class token, the two-layer MLP), with the keys and tensor names clip.cpp reads
(llama-cpp-python 0.3.36), their data zeros. `clip_load` loads a file with the vendored
clip through llama-cpp-python's mtmd bindings in a child process (no text model: mtmd then
skips the width check) and reads the weights and compute buffer off clip's log.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import gguf
import numpy as np

MIB = 2**20

_LOAD = """
import sys
from llama_cpp import mtmd_cpp
params = mtmd_cpp.mtmd_context_params_default()
params.use_gpu = False
params.n_threads = 1
params.warmup = True
params.flash_attn_type = int(sys.argv[2])
context = mtmd_cpp.mtmd_init_from_file(sys.argv[1].encode(), None, params)
if not context:
    sys.exit("clip could not load " + sys.argv[1])
mtmd_cpp.mtmd_free(context)
"""


class Gemma3Shape(NamedTuple):
    n_layer: int = 27  # SigLIP so400m, as Gemma 3 4B-27B ship it
    image_size: int = 896
    patch_size: int = 14
    n_embd: int = 1152
    n_ff: int = 4304
    n_head: int = 16
    n_text_embd: int = 2560  # Gemma 3 4B's width


class LlavaShape(NamedTuple):
    n_layer: int = 23  # CLIP ViT-L/14's 24 blocks less the last, as llava-1.5 files ship it
    image_size: int = 336
    patch_size: int = 14
    n_embd: int = 1024
    n_ff: int = 4096
    n_head: int = 16
    n_text_embd: int = 4096  # LLaVA-1.5 7B's width (the MLP's hidden width too)


class ClipLoad(NamedTuple):
    weights_bytes: float  # "model size", printed in MiB with two decimals
    compute_bytes: float  # the CPU "compute buffer size", likewise
    flash_attn: bool  # what clip says it ran with


Tensors = list[tuple[str, tuple[int, ...], type]]
HALF, FULL = np.float16, np.float32


def _blocks(n_layer: int, n_embd: int, n_ff: int) -> Tensors:
    """A ViT's blocks: separate Q, K, V and output with biases, two layer norms, the MLP."""
    tensors: Tensors = []
    for block in range(n_layer):
        for name in ("attn_q", "attn_k", "attn_v", "attn_out"):
            tensors += [(f"v.blk.{block}.{name}.weight", (n_embd, n_embd), HALF),
                        (f"v.blk.{block}.{name}.bias", (n_embd,), FULL)]
        for name in ("ln1", "ln2"):
            tensors += [(f"v.blk.{block}.{name}.weight", (n_embd,), FULL),
                        (f"v.blk.{block}.{name}.bias", (n_embd,), FULL)]
        tensors += [(f"v.blk.{block}.ffn_up.weight", (n_ff, n_embd), HALF),
                    (f"v.blk.{block}.ffn_up.bias", (n_ff,), FULL),
                    (f"v.blk.{block}.ffn_down.weight", (n_embd, n_ff), HALF),
                    (f"v.blk.{block}.ffn_down.bias", (n_embd,), FULL)]
    return tensors


def _write(path: Path, projector_type: str, shape: Gemma3Shape | LlavaShape, use_gelu: bool,
           tensors: Tensors) -> Path:
    writer = gguf.GGUFWriter(str(path), "clip")
    writer.add_bool("clip.has_vision_encoder", True)
    writer.add_string("clip.projector_type", projector_type)
    for key, value in (("embedding_length", shape.n_embd),
                       ("feed_forward_length", shape.n_ff), ("block_count", shape.n_layer),
                       ("attention.head_count", shape.n_head),
                       ("projection_dim", shape.n_text_embd),
                       ("image_size", shape.image_size), ("patch_size", shape.patch_size)):
        writer.add_uint32(f"clip.vision.{key}", value)
    writer.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-6)
    writer.add_array("clip.vision.image_mean", [0.5, 0.5, 0.5])
    writer.add_array("clip.vision.image_std", [0.5, 0.5, 0.5])
    writer.add_bool("clip.use_gelu", use_gelu)
    for name, dims, dtype in tensors:
        writer.add_tensor(name, np.zeros(dims, dtype=dtype))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def write_gemma3_projector(path: Path, shape: Gemma3Shape) -> Path:
    """A Gemma 3 projector of `shape` at `path` (weights f16, norms and biases f32)."""
    n_embd, n_pos = shape.n_embd, (shape.image_size // shape.patch_size) ** 2
    tensors: Tensors = [
        ("v.patch_embd.weight", (n_embd, 3, shape.patch_size, shape.patch_size), HALF),
        ("v.patch_embd.bias", (n_embd,), FULL),
        ("v.position_embd.weight", (n_pos, n_embd), FULL),
        *_blocks(shape.n_layer, n_embd, shape.n_ff),
        ("v.post_ln.weight", (n_embd,), FULL), ("v.post_ln.bias", (n_embd,), FULL),
        ("mm.input_projection.weight", (n_embd, shape.n_text_embd), HALF),
        ("mm.soft_emb_norm.weight", (n_embd,), FULL),
    ]
    return _write(path, "gemma3", shape, True, tensors)


def write_llava_projector(path: Path, shape: LlavaShape) -> Path:
    """A LLaVA-1.5 projector of `shape` at `path` (quick GELU, a pre-norm, no post-norm)."""
    n_embd, n_pos = shape.n_embd, (shape.image_size // shape.patch_size) ** 2 + 1
    n_text = shape.n_text_embd
    tensors: Tensors = [
        ("v.class_embd", (n_embd,), FULL),
        ("v.patch_embd.weight", (n_embd, 3, shape.patch_size, shape.patch_size), HALF),
        ("v.position_embd.weight", (n_pos, n_embd), HALF),
        ("v.pre_ln.weight", (n_embd,), FULL), ("v.pre_ln.bias", (n_embd,), FULL),
        *_blocks(shape.n_layer, n_embd, shape.n_ff),
        ("mm.0.weight", (n_text, n_embd), HALF), ("mm.0.bias", (n_text,), FULL),
        ("mm.2.weight", (n_text, n_text), HALF), ("mm.2.bias", (n_text,), FULL),
    ]
    return _write(path, "mlp", shape, False, tensors)


def _mib(log: str, pattern: str) -> float:
    found = re.search(pattern + r"\s*=?\s*([0-9.]+) MiB", log)
    if found is None:
        raise AssertionError(f"clip's log has no {pattern!r} line:\n{log[-2000:]}")
    return float(found.group(1)) * MIB


def clip_load(path: Path, flash_attn: bool) -> ClipLoad:
    """Load `path` with the vendored clip on the CPU; its weights and compute buffer."""
    done = subprocess.run([sys.executable, "-c", _LOAD, str(path), "1" if flash_attn else "0"],
                          capture_output=True, text=True, timeout=120, check=False)
    log = done.stdout + done.stderr
    if done.returncode:
        raise AssertionError(f"clip failed to load {path.name}:\n{log[-2000:]}")
    return ClipLoad(_mib(log, r"model size:"), _mib(log, r"CPU compute buffer size"),
                    "flash attention is enabled" in log)

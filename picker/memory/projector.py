"""A vision projector (`mmproj-*.gguf`): what it adds to a vision model's memory.

llama.cpp's multimodal loader (mtmd / clip) loads the projector beside the model, on the
main GPU unless told `--no-mmproj-offload`. Its weights are its tensor infos (exact, from
the header) or, without a readable header, its file size. Its compute buffer is the one
clip reserves for its warm-up image: replayed through ggml's allocator (`clip_graph`) for
the projector types whose graph is written down there (Gemma 3's SigLIP, LLaVA's CLIP ViT
with its MLP), with flash attention as the model is run (llama-server and llama-cpp-python
pass the model's setting on); for other types an ESTIMATE, not measured against clip: one
image's patches through one encoder block in f32 (the attention scores of every head, plus
four activations as wide as the widest layer).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from picker.errors import NotFoundError, UsageError
from picker.memory.machine import Machine
from picker.units import format_size

if TYPE_CHECKING:
    from collections.abc import Mapping

    from picker.gguf.model import GGUFHeader, MetadataValue
    from picker.memory.clip_graph import VisionShape

F32_BYTES = 4
ACTIVATIONS_KEPT = 4  # input, normed, attention output and feed-forward, alive together
ESTIMATE = "estimate: one image's encoder block in f32, not measured"
REPLAY = "clip's warm-up graph, replayed through ggml's allocator"
MOST_REPLAYED_BLOCKS = 1024  # real encoders have tens


class Projector(NamedTuple):
    file: str
    weights_bytes: int
    weights_source: str  # "header" (its tensor infos) or "file size"
    compute_bytes: int  # see compute_source; 0 where the header is unread
    image_tokens: int  # patches of one image; 0 where unknown
    device: str = "CPU"  # where it is planned (the main GPU when there is one)
    compute_source: str = ESTIMATE  # or REPLAY

    def to_dict(self) -> dict[str, object]:
        return {"file": self.file, "weights_bytes": self.weights_bytes,
                "weights_source": self.weights_source, "compute_bytes": self.compute_bytes,
                "compute_source": self.compute_source,
                "image_tokens": self.image_tokens, "device": self.device,
                "total_bytes": self.total_bytes}

    @property
    def total_bytes(self) -> int:
        return self.weights_bytes + self.compute_bytes

    def text(self) -> str:
        estimated = self.compute_source == ESTIMATE
        how = "an estimate" if estimated else "clip's warm-up graph"
        about = "~" if estimated else ""
        compute = (f" + {about}{format_size(self.compute_bytes)} compute ({how} for one image of "
                   f"{self.image_tokens} patches)" if self.compute_bytes else "")
        return (f"projector: {self.file}: {format_size(self.weights_bytes)} of weights (from its "
                f"{self.weights_source}){compute} on {self.device}, taken from its free memory "
                "before the model is planned")


def _encoder_compute_bytes(metadata: Mapping[str, MetadataValue]) -> tuple[int, int]:
    """(estimated compute bytes, patches) of one image, from clip.vision.* keys."""
    def key(name: str) -> int:
        value = metadata.get(f"clip.vision.{name}", 0)
        return int(value) if isinstance(value, int) else 0

    image, patch = key("image_size"), key("patch_size")
    if not image or not patch:
        return 0, 0
    patches = (image // patch) ** 2
    heads = key("attention.head_count") or 1
    width = max(key("embedding_length"), key("feed_forward_length"))
    scores = patches * patches * heads * F32_BYTES
    return scores + ACTIVATIONS_KEPT * patches * width * F32_BYTES, patches


def _vision_shape(header: GGUFHeader) -> VisionShape | None:
    """The warm-up graph's shape for a projector whose graph `clip_graph` replays (its type
    and the tensors that graph reads, nothing it does not: a fused QKV, Q/K norms, a gated
    feed-forward, LLaVA's feature layers or Yi's MLP norms), else None."""
    from picker.memory.clip_graph import (
        BF16,
        COPIED_WEIGHT_TYPES,
        F16,
        F32,
        GEMMA3,
        REPLAYED,
        VisionShape,
    )

    metadata = header.metadata
    kind = metadata.get("clip.projector_type", metadata.get("clip.vision.projector_type"))
    tensors = {tensor.name: tensor for tensor in header.tensors}
    patch = tensors.get("v.patch_embd.weight")
    if kind not in REPLAYED or patch is None or "v.blk.0.attn_q.weight" not in tensors:
        return None
    unreplayed = ("v.blk.0.attn_qkv.weight", "v.blk.0.attn_q_norm.weight",
                  "v.blk.0.ffn_gate.weight", "mm.3.weight")
    if any(name in tensors for name in unreplayed) or "clip.vision.feature_layer" in metadata:
        return None
    if kind == GEMMA3:
        projection = tensors.get("mm.input_projection.weight")
        if projection is None or projection.ggml_type not in COPIED_WEIGHT_TYPES:
            return None
        hidden = text = projection.shape[0] if len(projection.shape) == 2 else 0
        projection_type = projection.ggml_type
    else:
        first, second = tensors.get("mm.0.weight"), tensors.get("mm.2.weight")
        if first is None or second is None or len(first.shape) != 2 or len(second.shape) != 2:
            return None
        hidden, text = first.shape[1], second.shape[1]
        projection_type = F32  # unused: LLaVA's graph copies no weight

    def key(name: str, default: int = 0) -> int:
        value = metadata.get(f"clip.vision.{name}", default)
        return int(value) if isinstance(value, int) and not isinstance(value, bool) else 0

    shape = VisionShape(
        kind=kind, n_embd=key("embedding_length"), n_ff=key("feed_forward_length"),
        n_head=key("attention.head_count"), n_layer=key("block_count"),
        image_size=key("image_size"), patch_size=key("patch_size"),
        n_merge=key("projector.scale_factor", 4) if kind == GEMMA3 else 1,
        n_text_embd=text, n_hidden=hidden, projection_type=projection_type,
        im2col_type=F32 if patch.ggml_type == BF16 else F16,
        class_token="v.class_embd" in tensors,
        pre_norm="v.pre_ln.weight" in tensors, post_norm="v.post_ln.weight" in tensors)
    if min(shape.n_embd, shape.n_ff, shape.n_head, shape.n_layer, shape.patch_size,
           shape.n_merge, shape.n_text_embd, shape.n_hidden) <= 0:
        return None
    if shape.image_size < shape.patch_size * shape.n_merge:
        return None
    if shape.n_layer > MOST_REPLAYED_BLOCKS:  # a hostile header: the estimate, not a long walk
        return None
    return shape


def read_projector(path_text: str, flash_attn: bool = False) -> Projector:
    """The projector at `path_text`: its header's tensors and encoder shape, else its size;
    `flash_attn` as the model is run (clip follows it)."""
    from picker.gguf import read_header
    from picker.gguf.model import GGUFError

    path = Path(path_text).expanduser()
    if not path.is_file():
        raise NotFoundError(f"--mmproj: no such file: {path}; give the path of an mmproj .gguf")
    try:
        header = read_header(path)
    except GGUFError:
        return Projector(path.name, path.stat().st_size, "file size", 0, 0)
    if header.architecture != "clip":
        raise UsageError(f"--mmproj: {path.name} is not a vision projector (its architecture is "
                         f"{header.architecture!r}, not 'clip')")
    shape = _vision_shape(header)
    if shape is not None:
        from picker.memory.clip_graph import compute_bytes

        patches = (shape.image_size // shape.patch_size) ** 2
        return Projector(path.name, header.weights_bytes, "header",
                         compute_bytes(shape, flash_attn), patches, compute_source=REPLAY)
    compute, patches = _encoder_compute_bytes(header.metadata)
    return Projector(path.name, header.weights_bytes, "header", compute, patches)


def reserve(machine: Machine, projector: Projector) -> tuple[Machine, Projector]:
    """The machine less the projector's memory, on the main GPU (the first), else the CPU."""
    if machine.gpus:
        main = machine.gpus[0]
        free = None if main.free_bytes is None else max(0, main.free_bytes - projector.total_bytes)
        gpus = (main._replace(free_bytes=free), *machine.gpus[1:])
        return machine._replace(gpus=gpus), projector._replace(device=main.name)
    free = (None if machine.cpu_free_bytes is None
            else max(0, machine.cpu_free_bytes - projector.total_bytes))
    return machine._replace(cpu_free_bytes=free), projector._replace(device="CPU")

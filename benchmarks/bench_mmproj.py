"""Vision projectors (`picker fit --mmproj`) against llama.cpp's own clip.

For each shape it writes a real-shaped projector (data zeros, f16 weights as the published
mmproj files have them): Gemma 3's (SigLIP so400m: 27 blocks, an 896-pixel image in
14-pixel patches, the input projection to the text model's width) or LLaVA-1.5's (CLIP
ViT-L/14: 23 blocks, a 336-pixel image and a class token, the two-layer MLP to the text
model's width). It loads each with the clip that llama-cpp-python 0.3.36 vendors (its mtmd
bindings, in a child process, on the CPU), reads the weights ("model size") and the compute
buffer clip reserves for its warm-up image off clip's log, and prints them beside picker's
plan for the same file: the weights from the header, the compute buffer from `clip_graph`'s
replay and, for comparison, the estimate picker used before the replay. Flash attention off
and on (clip follows the model's setting). Exit status 1 when a planned figure is off by
more than 2 %.

    .venv/bin/python benchmarks/bench_mmproj.py [--shapes gemma3-4b,llava-1.5-7b]
        [--layers N] (N blocks instead of the real count, to write smaller files)
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from picker.gguf import read_header
from picker.memory.projector import _encoder_compute_bytes, read_projector
from tests.projector_gguf import (
    MIB,
    Gemma3Shape,
    LlavaShape,
    clip_load,
    write_gemma3_projector,
    write_llava_projector,
)

TOLERANCE_PERCENT = 2.0
SHAPES: dict[str, Gemma3Shape | LlavaShape] = {
    "gemma3-4b": Gemma3Shape(n_text_embd=2560),
    "gemma3-12b": Gemma3Shape(n_text_embd=3840),
    "gemma3-27b": Gemma3Shape(n_text_embd=5376),
    "llava-1.5-7b": LlavaShape(n_text_embd=4096),
    "llava-1.5-13b": LlavaShape(n_text_embd=5120),
}


def _error(planned: float, measured: float) -> float:
    return (planned / measured - 1) * 100


def _write(folder: Path, name: str, layers: int | None) -> tuple[Path, int]:
    """The projector `name` (with `layers` blocks when given) and its block count."""
    path = folder / f"mmproj-{name}-f16.gguf"
    shape = SHAPES[name]
    if isinstance(shape, Gemma3Shape):
        gemma = shape._replace(n_layer=layers or shape.n_layer)
        return write_gemma3_projector(path, gemma), gemma.n_layer
    llava = shape._replace(n_layer=layers or shape.n_layer)
    return write_llava_projector(path, llava), llava.n_layer


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--shapes", default="gemma3-4b,gemma3-27b,llava-1.5-7b",
                        help=f"comma-separated, of {', '.join(SHAPES)}")
    parser.add_argument("--layers", type=int, default=None,
                        help="encoder blocks written (default: the real count)")
    args = parser.parse_args()
    names = [name.strip() for name in args.shapes.split(",") if name.strip()]
    unknown = [name for name in names if name not in SHAPES]
    if unknown or (args.layers is not None and args.layers < 2):
        print(f"bench_mmproj: unknown shape {unknown} or --layers < 2 (LLaVA runs all blocks "
              f"but the last); shapes are {', '.join(SHAPES)}", file=sys.stderr)
        return 2
    worst = 0.0
    print("| projector | flash attn | weights clip / picker MiB (err) | compute clip MiB | "
          "picker replay MiB (err) | old estimate MiB (err) |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench-mmproj-") as folder:
        for name in names:
            path, n_layer = _write(Path(folder), name, args.layers)
            estimate, _ = _encoder_compute_bytes(read_header(path).metadata)
            for flash_attn in (False, True):
                measured = clip_load(path, flash_attn)
                planned = read_projector(str(path), flash_attn)
                weights_error = _error(planned.weights_bytes, measured.weights_bytes)
                compute_error = _error(planned.compute_bytes, measured.compute_bytes)
                worst = max(worst, abs(weights_error), abs(compute_error))
                print(f"| {name} ({n_layer} blocks) | {'on' if flash_attn else 'off'} | "
                      f"{measured.weights_bytes / MIB:.2f} / {planned.weights_bytes / MIB:.2f} "
                      f"({weights_error:+.2f} %) | {measured.compute_bytes / MIB:.2f} | "
                      f"{planned.compute_bytes / MIB:.2f} ({compute_error:+.2f} %) | "
                      f"{estimate / MIB:.2f} ({_error(estimate, measured.compute_bytes):+.1f} %) |")
            path.unlink()
    print(f"\nworst error {worst:.3f} % (clip prints MiB with two decimals: +-0.005 MiB)")
    return 1 if worst > TOLERANCE_PERCENT else 0


if __name__ == "__main__":
    sys.exit(main())

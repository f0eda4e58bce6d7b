"""`picker fit --mmproj` against llama.cpp's own clip: real-shaped Gemma 3 and LLaVA-1.5
projectors (their encoders' widths, heads and feed-forwards; fewer blocks, and for LLaVA a
narrower MLP, to stay quick) loaded by the vendored clip, whose logged weights and compute
buffer picker's plan must match within 2 %, with flash attention on and off."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import pytest

from picker.memory.projector import REPLAY, read_projector
from picker.memory.synthetic import SyntheticModel, write_model
from tests.cli_helpers import run_picker
from tests.projector_gguf import (
    Gemma3Shape,
    LlavaShape,
    clip_load,
    write_gemma3_projector,
    write_llava_projector,
)

TOLERANCE = 0.02
KINDS = ["gemma3", "llava"]


@pytest.fixture(scope="module")
def projectors(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("mmproj")
    return {
        "gemma3": write_gemma3_projector(folder / "mmproj-gemma3.gguf",
                                         Gemma3Shape(n_layer=3, image_size=448)),
        "llava": write_llava_projector(folder / "mmproj-llava.gguf",
                                       LlavaShape(n_layer=3, n_text_embd=2048)),
    }


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("flash_attn", [False, True])
def test_the_plan_matches_clips_own_accounting(projectors: dict[str, Path], kind: str,
                                               flash_attn: bool) -> None:
    projector = projectors[kind]
    measured = clip_load(projector, flash_attn)
    assert measured.flash_attn == flash_attn
    planned = read_projector(str(projector), flash_attn)
    assert planned.compute_source == REPLAY
    weights_error = planned.weights_bytes / measured.weights_bytes - 1
    compute_error = planned.compute_bytes / measured.compute_bytes - 1
    assert abs(weights_error) < TOLERANCE, (planned.weights_bytes, measured.weights_bytes)
    assert abs(compute_error) < TOLERANCE, (planned.compute_bytes, measured.compute_bytes)


def test_flash_attention_changes_what_is_planned(projectors: dict[str, Path]) -> None:
    # without it every head's 1024 x 1024 f32 scores are alive at once (64 MiB), though
    # smaller tensors that flash attention keeps alive overlap part of that
    projector = str(projectors["gemma3"])
    assert read_projector(projector, False).image_tokens == (448 // 14) ** 2
    scores_bytes = 16 * 1024 * 1024 * 4
    assert (read_projector(projector, False).compute_bytes
            > read_projector(projector, True).compute_bytes + scores_bytes // 2)


def test_picker_fit_plans_the_projector_with_the_flash_attention_asked_for(
        projectors: dict[str, Path], tmp_path: Path) -> None:
    model = write_model(SyntheticModel("text"), tmp_path / "text.gguf")
    projector = projectors["gemma3"]
    for flash_attn in (False, True):
        document = run_picker("fit", str(model), "--json", "--ram", "16G", "--ctx", "4096",
                              "--flash-attn", "on" if flash_attn else "off",
                              "--mmproj", str(projector)).json()["projector"]
        measured = clip_load(projector, flash_attn)
        assert document["compute_source"] == REPLAY
        assert abs(document["compute_bytes"] / measured.compute_bytes - 1) < TOLERANCE
        assert document["total_bytes"] == document["weights_bytes"] + document["compute_bytes"]


@pytest.mark.parametrize("change", ["hostile block count", "fused QKV"])
def test_a_graph_the_replay_does_not_write_keeps_the_estimate(change: str,
                                                              tmp_path: Path) -> None:
    writer = gguf.GGUFWriter(str(tmp_path / "odd.gguf"), "clip")
    writer.add_string("clip.projector_type", "gemma3")
    blocks = 5000 if change == "hostile block count" else 2  # real encoders have tens
    for key, value in (("image_size", 224), ("patch_size", 14), ("embedding_length", 64),
                       ("feed_forward_length", 128), ("attention.head_count", 4),
                       ("block_count", blocks)):
        writer.add_uint32(f"clip.vision.{key}", value)
    attention = "attn_qkv" if change == "fused QKV" else "attn_q"
    for name, dims in (("v.patch_embd.weight", (64, 3, 14, 14)),
                       (f"v.blk.0.{attention}.weight", (64, 64)),
                       ("mm.input_projection.weight", (64, 256))):
        writer.add_tensor(name, np.zeros(dims, dtype=np.float16))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    planned = read_projector(str(tmp_path / "odd.gguf"), True)
    assert planned.compute_source != REPLAY and planned.compute_bytes > 0

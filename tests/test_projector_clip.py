"""`picker fit --mmproj` against llama.cpp's own clip: a real-shaped Gemma 3 projector
(SigLIP's width, heads and feed-forward, fewer blocks and a smaller image to stay quick)
loaded by the vendored clip, whose logged weights and compute buffer picker's plan must
match within 2 %, with flash attention on and off."""

from __future__ import annotations

from pathlib import Path

import pytest

from picker.memory.projector import REPLAY, read_projector
from picker.memory.synthetic import SyntheticModel, write_model
from tests.cli_helpers import run_picker
from tests.projector_gguf import Gemma3Shape, clip_load, write_gemma3_projector

TOLERANCE = 0.02


@pytest.fixture(scope="module")
def projector(tmp_path_factory: pytest.TempPathFactory) -> Path:
    shape = Gemma3Shape(n_layer=3, image_size=448)
    return write_gemma3_projector(tmp_path_factory.mktemp("mmproj") / "mmproj-g3.gguf", shape)


@pytest.mark.parametrize("flash_attn", [False, True])
def test_the_plan_matches_clips_own_accounting(projector: Path, flash_attn: bool) -> None:
    measured = clip_load(projector, flash_attn)
    assert measured.flash_attn == flash_attn
    planned = read_projector(str(projector), flash_attn)
    assert planned.compute_source == REPLAY
    assert planned.image_tokens == (448 // 14) ** 2
    weights_error = planned.weights_bytes / measured.weights_bytes - 1
    compute_error = planned.compute_bytes / measured.compute_bytes - 1
    assert abs(weights_error) < TOLERANCE, (planned.weights_bytes, measured.weights_bytes)
    assert abs(compute_error) < TOLERANCE, (planned.compute_bytes, measured.compute_bytes)


def test_flash_attention_changes_what_is_planned(projector: Path) -> None:
    # without it every head's 1024 x 1024 f32 scores are alive at once (64 MiB), though
    # smaller tensors that flash attention keeps alive overlap part of that
    scores_bytes = 16 * 1024 * 1024 * 4
    assert (read_projector(str(projector), False).compute_bytes
            > read_projector(str(projector), True).compute_bytes + scores_bytes // 2)


def test_picker_fit_plans_the_projector_with_the_flash_attention_asked_for(
        projector: Path, tmp_path: Path) -> None:
    model = write_model(SyntheticModel("text"), tmp_path / "text.gguf")
    for flash_attn in (False, True):
        document = run_picker("fit", str(model), "--json", "--ram", "16G", "--ctx", "4096",
                              "--flash-attn", "on" if flash_attn else "off",
                              "--mmproj", str(projector)).json()["projector"]
        measured = clip_load(projector, flash_attn)
        assert document["compute_source"] == REPLAY
        assert abs(document["compute_bytes"] / measured.compute_bytes - 1) < TOLERANCE
        assert document["total_bytes"] == document["weights_bytes"] + document["compute_bytes"]

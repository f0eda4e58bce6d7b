"""`picker fit --mmproj`: a vision projector's weights from its header and an estimated
compute buffer, taken from the main GPU's free memory before the model is planned."""

from __future__ import annotations

from pathlib import Path

import gguf
import numpy as np
import pytest

from picker.memory.synthetic import SyntheticModel, write_model
from tests.cli_helpers import run_picker

GPU = ("--gpu", "RTX 3090", "--ram", "16G")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("vision")
    model = write_model(SyntheticModel("vision", n_layer=6, n_embd=512, n_head=8, n_head_kv=2,
                                       head_dim=64, n_ff=1536, n_vocab=32000,
                                       n_ctx_train=16384), folder / "vision.gguf")
    projector = folder / "mmproj-vision-f16.gguf"
    writer = gguf.GGUFWriter(str(projector), "clip")
    for key, value in (("image_size", 224), ("patch_size", 14), ("embedding_length", 256),
                       ("feed_forward_length", 1024), ("attention.head_count", 4),
                       ("block_count", 2)):
        writer.add_uint32(f"clip.vision.{key}", value)
    for block in range(2):
        for name, rows in (("attn_q", 256), ("attn_k", 256), ("ffn_up", 1024)):
            writer.add_tensor(f"v.blk.{block}.{name}.weight",
                              np.zeros((rows, 256), dtype=np.float16))
    writer.add_tensor("mm.0.weight", np.zeros((512, 256), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return model, projector


def test_projector_weights_and_compute_are_planned_on_the_main_gpu(
        files: tuple[Path, Path]) -> None:
    model, projector = files
    tensors = gguf.GGUFReader(str(projector)).tensors
    expected_weights = sum(int(tensor.n_bytes) for tensor in tensors)
    roomy = run_picker("fit", str(model), "--json", "--vram", "2G", *GPU, "--ctx", "16384")
    gpu_total = {d["device"]: d["total_bytes"] for d in roomy.json()["memory"]["devices"]}["GPU0"]
    vram_mib = -(-gpu_total // 2**20) + 1  # the whole model fits, with 1 MiB to spare
    vram = f"{vram_mib}M"
    plain = run_picker("fit", str(model), "--json", "--vram", vram, *GPU, "--ctx", "16384")
    assert plain.json()["placement"] == "gpu"
    vision = run_picker("fit", str(model), "--json", "--vram", vram, *GPU, "--ctx", "16384",
                        "--mmproj", str(projector))
    assert vision.returncode == 0, vision.stderr
    document = vision.json()
    found = document["projector"]
    assert found["weights_bytes"] == expected_weights and found["weights_source"] == "header"
    patches = (224 // 14) ** 2
    assert found["image_tokens"] == patches
    assert found["compute_bytes"] == patches * patches * 4 * 4 + 4 * patches * 1024 * 4
    assert found["device"] == "GPU0"
    gpu_free = {d["device"]: d["free_bytes"] for d in document["memory"]["devices"]}["GPU0"]
    assert gpu_free == vram_mib * 2**20 - found["total_bytes"]
    assert document["n_gpu_layers"] < plain.json()["n_gpu_layers"]
    text = run_picker("fit", str(model), "--vram", vram, *GPU, "--mmproj", str(projector)).stdout
    assert "projector: mmproj-vision-f16.gguf" in text and "an estimate" in text
    line = run_picker("fit", str(model), "--vram", vram, *GPU, "--mmproj", str(projector),
                      "--emit", "llama-server").stdout.split()
    assert line[line.index("--mmproj") + 1] == str(projector)
    snippet = run_picker("fit", str(model), "--vram", vram, *GPU, "--mmproj", str(projector),
                         "--emit", "ollama", "--json").json()["emit"]["notes"]
    assert any("mmproj-vision-f16.gguf" in note for note in snippet)


def test_without_a_gpu_the_projector_is_planned_in_ram(files: tuple[Path, Path]) -> None:
    model, projector = files
    document = run_picker("fit", str(model), "--json", "--ram", "16G", "--mmproj",
                          str(projector)).json()
    assert document["projector"]["device"] == "CPU"


def test_a_projector_that_is_not_one_is_a_one_line_error(files: tuple[Path, Path],
                                                         tmp_path: Path) -> None:
    model, _ = files
    wrong = run_picker("fit", str(model), "--mmproj", str(model))
    assert wrong.returncode == 2 and "not a vision projector" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    missing = run_picker("fit", str(model), "--mmproj", str(tmp_path / "nope.gguf"))
    assert missing.returncode != 0 and "no such file" in missing.stderr
    garbage = tmp_path / "mmproj-garbage.gguf"
    garbage.write_bytes(b"not a gguf" * 100)
    sized = run_picker("fit", str(model), "--json", "--ram", "16G", "--mmproj", str(garbage))
    assert sized.returncode == 0, sized.stderr
    assert sized.json()["projector"]["weights_bytes"] == 1000
    assert sized.json()["projector"]["weights_source"] == "file size"

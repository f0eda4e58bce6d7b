"""What-if output says it is a what-if machine and keeps its promises (issue 21, item 7)."""

from __future__ import annotations

from picker.errors import ExitCode
from tests.cli_helpers import run_picker

GIB = 1024**3


def test_a_what_if_ranking_names_the_machine_and_its_assumptions() -> None:
    text = run_picker("recommend", "--ram", "64G", "--vram", "24G,24G", "--gpu", "RTX 3090",
                      "--limit", "1").stdout
    heading, assumptions = text.splitlines()[:2]
    assert "on the what-if machine" in heading and "this machine" not in heading
    assert assumptions.startswith("What-if machine: RAM 64.0 GiB")
    assert assumptions.count("RTX 3090 with 24.0 GiB free") == 2
    plain = run_picker("recommend", "--limit", "1").stdout
    assert "on this machine" in plain.splitlines()[0] and "What-if" not in plain


def test_probe_with_what_if_gpus_does_not_say_there_is_no_gpu() -> None:
    result = run_picker("probe", "--vram", "24G,24G", "--gpu", "RTX 3090")
    assert result.returncode == 0, result.stderr
    assert "no GPU found" not in result.stdout
    assert "What-if machine:" in result.stdout


def test_an_unknown_gpu_name_is_refused_with_close_matches() -> None:
    result = run_picker("recommend", "--vram", "24G", "--gpu", "RTX 3099")
    assert result.returncode == ExitCode.USAGE
    (line,) = result.stderr.strip().splitlines()
    assert "does not know the GPU 'RTX 3099'" in line and "'GeForce RTX 3090'" in line


def test_unified_memory_keeps_an_os_reserve() -> None:
    document = run_picker("recommend", "--unified-memory", "--ram", "64G", "--gpu", "M2 Max",
                          "--json", "--limit", "20").json()
    memory = document["hardware"]["memory"]
    assert memory["available_bytes"] == 48 * GIB  # Metal's default working set: 3/4 above 36 GiB
    assert "left to the OS" in memory["sources"]["available_bytes"]
    for row in document["recommendations"]:
        assert row["memory"]["total_bytes"] <= 48 * GIB, row["model_id"]
    text = run_picker("probe", "--unified-memory", "--ram", "64G", "--gpu", "M2 Max").stdout
    assert "48.0 GiB of it for the model (16.0 GiB left to the OS)" in text


def test_the_tui_dialog_refuses_an_unknown_gpu_name() -> None:
    import pytest

    from picker.errors import UsageError
    from picker.tui.screens.what_if import overrides_from_fields

    with pytest.raises(UsageError, match="does not know the GPU 'RTX 3099'"):
        overrides_from_fields("32G", "24G", "RTX 3099", False)
    assert overrides_from_fields("32G", "24G", "RTX 3090", False).gpu_name == "RTX 3090"


def test_one_model_has_one_trained_context_everywhere() -> None:
    words = "trained 40,960 tokens; 131,072 with RoPE scaling"
    assert words in run_picker("catalog", "show", "qwen3-8b").stdout
    rows = run_picker("recommend", "--ram", "64G", "--vram", "24G", "--gpu", "RTX 3090", "--json",
                      "--limit", "100").json()["recommendations"]
    (qwen,) = [row for row in rows if row["model_id"] == "qwen3-8b"]
    assert words in qwen["why"]["context"]
    fit = run_picker("fit", f"qwen3-8b:{qwen['quant']}").stdout
    assert "trained context 40960" in fit

"""Bad values of flags (issue 21, item 10): one line, exit 2, quickly, nothing written."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from picker.errors import ExitCode
from tests.cli_helpers import run_picker


@pytest.mark.parametrize(("argv", "said"), [
    (("recommend", "--ram", "-8G"), "--ram: a size cannot be negative"),
    (("--json", "--vram", "-24G"), "--vram: a size cannot be negative"),
    (("recommend", "--ram", "999999T"), "more memory than any machine has"),
    (("probe", "--vram", "99999T"), "more memory than any machine has"),
    (("recommend", "--ctx", "99999999999"), "more than any model is trained for"),
    (("fit", "x.gguf", "--ctx", "99999999999"), "more than any model is trained for"),
    (("smoke", "x.gguf", "--ctx", "99999999999"), "more than any model is trained for"),
    (("recommend", "--max-download", "1K"), "smaller than any model; did you mean 8G?"),
    (("recommend", "--max-download", "4"), "did you mean 4G?"),
    (("fit", "qwen3-8b"), "qwen3-8b needs a quantization"),
])
def test_a_bad_value_is_one_line_and_exit_2(argv: tuple[str, ...], said: str,
                                            isolated_home: Path) -> None:
    started = time.monotonic()
    result = run_picker(*argv)
    seconds = time.monotonic() - started
    assert result.returncode == ExitCode.USAGE, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert said in line and "Traceback" not in result.stderr
    assert result.stdout == "" or '"exit_code": 2' in result.stdout  # --json: the error document
    assert seconds < 5, seconds  # about 0.1-0.5 s here; the margin is for a busy machine
    assert not (isolated_home / "data" / "history.sqlite3").exists()


def test_a_bare_catalog_id_names_its_quantizations() -> None:
    line = run_picker("fit", "qwen3-8b").stderr
    assert "Q4_K_M" in line and "Q8_0" in line
    assert "picks here" in line or "none runs at 5 tokens/s or more here" in line


def test_a_bare_catalog_id_is_ranked_on_the_what_if_machine_of_its_flags() -> None:
    # gpt-oss-120b (a 59 GiB file) fits two 24 GB GPUs with 64 GB of RAM; the suggestion must
    # come from that machine, not from the one the test runs on (2 cores, no GPU here).
    big = run_picker("fit", "gpt-oss-120b", "--ram", "64G", "--vram", "24G,24G",
                     "--gpu", "RTX 3090", "--memory-bandwidth", "80")
    assert big.returncode == ExitCode.USAGE
    assert "gpt-oss-120b:MXFP4_MOE is the one `picker recommend` picks on the what-if machine" \
        in big.stderr
    small = run_picker("fit", "gpt-oss-120b", "--ram", "16G", "--vram", "8G", "--gpu", "RTX 4060")
    assert "none runs at 5 tokens/s or more on the what-if machine" in small.stderr


def test_a_negative_gpu_layer_count_still_means_all() -> None:
    result = run_picker("fit", "nowhere.gguf", "--n-gpu-layers", "-1")
    assert result.returncode == ExitCode.NOT_FOUND  # read as -1 (all), then the file is missing


def test_nothing_left_under_a_download_limit_says_which_flag(isolated_home: Path) -> None:
    result = run_picker("recommend", "--max-download", "20M")
    assert result.returncode == 0
    assert "--max-download" in result.stderr


def test_without_a_terminal_picker_prints_the_table_and_exits(isolated_home: Path) -> None:
    result = run_picker(timeout=30)  # stdin is /dev/null, stdout a pipe: no terminal
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Best models for general knowledge")
    assert "\x1b" not in result.stdout  # no escape codes in a file
    assert "not a terminal" in result.stderr and len(result.stderr.strip().splitlines()) == 1

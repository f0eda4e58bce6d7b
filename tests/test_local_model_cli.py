"""A GGUF of your own on the CLI: `catalog add`, the `run:` line, fit, smoke, the measured speed.

One set of defaults: a plain `picker smoke` (and `fit`) plans with the context and GPU
layers `picker recommend` uses, so its measurement shows up in the ranking as measured.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from tests.cli_helpers import run_picker

pytest_plugins = ["tests.runtime_models"]

# The speed floor is lowered: the 270M model's estimate comes from this machine's measured
# memory bandwidth, which a busy shared machine can read below the default 5 tokens/s floor.
ON_DISK = ("recommend", "--on-disk", "--min-speed", "0.1")


def add_gemma(gemma_gguf_path: Path, tmp_path: Path) -> Path:
    mine = tmp_path / "my-models" / "gemma-3-270m-it-Q4_K_M.gguf"
    mine.parent.mkdir()
    shutil.copyfile(gemma_gguf_path, mine)
    added = run_picker("catalog", "add", str(mine))
    assert added.returncode == 0, added.stderr
    return mine


def run_line(text: str) -> str:
    (line,) = re.findall(r"^   run: (.*)$", text, flags=re.MULTILINE)
    return line


def test_a_local_gguf_runs_from_its_run_line_and_becomes_measured(
    gemma_gguf_path: Path, tmp_path: Path
) -> None:
    add_gemma(gemma_gguf_path, tmp_path)
    listed = run_picker(*ON_DISK)
    assert listed.returncode == 0, listed.stderr
    line = run_line(listed.stdout)
    assert "picker download" not in line  # the file is here: nothing to download
    assert line.startswith("picker smoke gemma-3-270m:Q4_K_M ")
    document = run_picker(*ON_DISK, "--json").json()
    (row,) = document["recommendations"]
    assert row["commands"]["download"] is None and row["tokens_per_second"]["measured"] is None

    planned = run_picker("fit", "gemma-3-270m:Q4_K_M")
    assert planned.returncode == 0, planned.stderr
    assert "estimated" not in planned.stderr  # the header on disk was read
    assert f"n_ctx {row['context']}" in planned.stdout

    # The run: line's smoke test, word for word.
    smoked = run_picker(*line.split()[1:], timeout=300)
    assert smoked.returncode == 0, smoked.stderr
    measured = run_picker(*ON_DISK, "--json").json()["recommendations"][0]
    assert measured["tokens_per_second"]["measured"] is not None
    assert "measured" in run_picker(*ON_DISK).stdout.splitlines()[3]


def test_a_plain_smoke_of_the_file_counts_for_the_recommendation(
    gemma_gguf_path: Path, tmp_path: Path
) -> None:
    mine = add_gemma(gemma_gguf_path, tmp_path)
    smoked = run_picker("smoke", str(mine), "--json", timeout=300)  # no --ctx, no --n-gpu-layers
    assert smoked.returncode == 0, smoked.stderr
    row = run_picker(*ON_DISK, "--json").json()["recommendations"][0]
    assert smoked.json()["smoke"]["settings"]["n_ctx"] == row["context"]
    assert row["tokens_per_second"]["measured"] == round(
        smoked.json()["smoke"]["generation_tokens_per_second"], 1)


def test_fit_plans_with_the_recommend_context_and_says_why(gemma_gguf_path: Path) -> None:
    planned = run_picker("fit", str(gemma_gguf_path), "--json")
    assert planned.returncode == 0, planned.stderr
    document = planned.json()
    assert set(document["defaults_used"]) == {"n_ctx", "n_gpu_layers"}
    text = run_picker("fit", str(gemma_gguf_path)).stdout
    assert "settings: n_ctx 8192" in text and "what `picker recommend` plans with" in text


def test_a_model_without_benchmarks_does_not_score_100(gemma_gguf_path: Path, tmp_path: Path) -> None:
    add_gemma(gemma_gguf_path, tmp_path)
    rows = run_picker("recommend", "--json", "--limit", "100").json()["recommendations"]
    (mine,) = [row for row in rows if row["model_id"] == "gemma-3-270m"]
    assert mine["quality_basis"] == "no benchmark" and mine["components"]["quality"]["score"] is None
    # Quality unknown earns nothing: speed, fit and context alone (30 % of the weight) remain.
    assert mine["score"] <= 30.0
    # Listed after every model with a benchmark (a model known to score near chance may
    # score lower still: chance-level answers count as no knowledge).
    known = [row["rank"] for row in rows if row["quality_basis"] != "no benchmark"]
    assert mine["rank"] > max(known)


def test_a_measurement_at_other_settings_is_named_not_used(gemma_gguf_path: Path, tmp_path: Path) -> None:
    mine = add_gemma(gemma_gguf_path, tmp_path)
    smoked = run_picker("smoke", str(mine), "--ctx", "1024", timeout=300)
    assert smoked.returncode == 0, smoked.stderr
    row = run_picker(*ON_DISK, "--json").json()["recommendations"][0]
    assert row["tokens_per_second"]["measured"] is None  # 1024 is not the 8192 recommended
    assert any("measured here with other settings" in note for note in row["notes"])
    assert "measured here with other settings" in run_picker(*ON_DISK).stdout


def test_a_chat_alone_gives_the_ranking_a_measured_speed(tiny_chat_path: Path, tmp_path: Path) -> None:
    import os
    import sys

    from tests.pty_session import PtySession

    mine = tmp_path / "models" / "my-tiny-chat-Q8_0.gguf"
    mine.parent.mkdir()
    shutil.copyfile(tiny_chat_path, mine)
    assert run_picker("catalog", "add", str(mine)).returncode == 0
    chat = PtySession([sys.executable, "-m", "picker", "chat", str(mine)],
                      {**os.environ, "TERM": "dumb"})
    try:
        chat.expect(r"you> ")
        chat.send("hello\n")
        chat.expect(r"tokens/s\]", timeout=120)
        chat.expect(r"you> ")
        chat.send("/exit\n")
        assert chat.wait(60) == 0
    finally:
        chat.close()
    (row,) = run_picker(*ON_DISK, "--json").json()["recommendations"]
    assert row["tokens_per_second"]["measured"] is not None
    assert "smoke test or chat" in row["tokens_per_second"]["measured_source"]

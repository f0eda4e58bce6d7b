"""`picker recommend`: the JSON document's shape from the real CLI, and measurements winning."""

from __future__ import annotations

from typing import Any

from cli_helpers import run_picker

from picker.cli import build_parser
from picker.commands.common import hardware_overrides, rank_request
from picker.hardware.overrides import HardwareOverrides
from picker.history import History, ModelFile, machine_fingerprint
from picker.rank.request import RankRequest, build, recommendations_document
from picker.rank.usecases import ALTERNATIVES, USE_CASES

WHAT_IF = ("--ram", "32G", "--vram", "24G", "--gpu", "RTX 3090")
RECOMMENDATION_KEYS = {
    "model_id", "quant", "repo", "file", "download_bytes", "placement", "n_gpu_layers", "context",
    "memory", "tokens_per_second", "score", "components", "why", "commands",
}


def test_recommend_json_has_everything_needed_to_act() -> None:
    result = run_picker("recommend", "--json", "--use-case", "coding", "--limit", "3",
                        "--tokens-per-month", "10000000", *WHAT_IF)
    assert result.returncode == 0, result.stderr
    document = result.json()
    assert {"schema_version", "hardware", "settings", "recommendations"} <= set(document)
    assert "gpus" in document["hardware"]["overridden"]
    assert document["settings"]["use_case"] == "coding"
    assert document["settings"]["context"] == USE_CASES["coding"].default_context
    recommendations = document["recommendations"]
    assert 1 <= len(recommendations) <= 3
    for rec in recommendations:
        assert set(rec) >= RECOMMENDATION_KEYS
        assert set(rec["components"]) == {"quality", "speed", "fit", "context"}
        assert all(isinstance(rec["why"][name], str) and rec["why"][name] for name in rec["why"])
        speed = rec["tokens_per_second"]
        assert speed["range"][0] <= speed["estimate"] <= speed["range"][1]
        assert speed["basis"] == "estimate" and speed["method"]
        assert rec["memory"]["fits"] and rec["memory"]["total_bytes"] > rec["download_bytes"] // 2
        assert rec["commands"]["download"] == f"picker download {rec['model_id']}:{rec['quant']}"
        if rec["n_cpu_moe"]:  # experts on the CPU: llama-server runs the plan, smoke cannot
            assert rec["commands"]["llama_server"] and "--n-gpu-layers" not in rec["commands"]["smoke"]
        else:
            assert f"--n-gpu-layers {rec['n_gpu_layers']}" in rec["commands"]["smoke"]
        assert rec["cost"]["closed_api"] and rec["cost"]["local_usd_per_month"] >= 0
        # HumanEval, or the newer coding test the model's card reports in its place
        assert rec["comparison"]["benchmark"] in ("humaneval", *ALTERNATIVES["humaneval"])
    scores = [rec["score"] for rec in recommendations]
    assert recommendations[0]["rank"] == 1 and scores


def test_recommend_text_and_usage_errors() -> None:
    text = run_picker("recommend", "--use-case", "math", "--limit", "2", *WHAT_IF)
    assert text.returncode == 0, text.stderr
    assert "Best models for math and reasoning" in text.stdout
    assert "picker smoke" in text.stdout
    bad = run_picker("recommend", "--json", "--use-case", "poetry")
    assert bad.returncode == 2
    assert bad.json()["error"]["code"] == "usage"
    assert "Traceback" not in bad.stderr
    capability = run_picker("recommend", "--json", "--capability", "telepathy")
    assert capability.returncode == 2 and "--capability" in capability.json()["error"]["message"]


def _args(*argv: str) -> Any:
    return build_parser().parse_args(["recommend", *argv])


def _request(*argv: str) -> RankRequest:
    return rank_request(_args(*argv))


def test_a_measured_run_in_the_history_wins_and_is_labelled() -> None:
    args = _args("--limit", "1", *WHAT_IF)
    document, _, _ = build(rank_request(args))
    top = document["recommendations"][0]
    assert top["tokens_per_second"]["measured"] is None
    from picker.hardware.probe import probe_hardware

    snapshot = probe_hardware(hardware_overrides(args))
    settings = {"n_gpu_layers": top["n_gpu_layers"], "n_ctx": top["context"], "n_batch": 512,
                "n_ubatch": 512, "flash_attn": False, "type_k": "f16", "type_v": "f16",
                "n_threads": snapshot.cpu.inference_threads}
    measured_rate = round(top["tokens_per_second"]["estimate"] * 0.9, 1)
    History.open().record_run(
        kind="smoke", machine=machine_fingerprint(snapshot),
        model=ModelFile(name=top["file"], size_bytes=top["download_bytes"], hub_repo=top["repo"],
                        hub_filename=top["file"], hub_revision="main"),
        settings=settings, passed=True, reason=None,
        measurements={"generation_tokens_per_second": measured_rate,
                      "prompt_tokens_per_second": 40.0})
    again = build(rank_request(args))[0]["recommendations"][0]
    assert again["model_id"] == top["model_id"] and again["quant"] == top["quant"]
    assert again["tokens_per_second"]["measured"] == measured_rate
    assert again["tokens_per_second"]["basis"] == "measured"
    assert again["tokens_per_second"]["estimate"] == top["tokens_per_second"]["estimate"]
    assert "measured on this machine" in again["why"]["speed"]
    elsewhere = build(_request("--limit", "1", "--ram", "32G", "--vram", "24G", "--gpu", "RTX 4090"))[0]
    assert elsewhere["recommendations"][0]["tokens_per_second"]["measured"] is None  # another machine


def test_on_disk_limits_the_ranking_to_downloaded_quantizations() -> None:
    from picker.catalog import load_catalog
    from picker.paths import picker_paths

    model = next(m for m in load_catalog().models if m.id == "qwen2.5-7b-instruct")
    quant = next(q for q in model.quantizations if q.type == "Q4_K_M" and q.files)
    folder = picker_paths().models_dir / "qwen"
    folder.mkdir(parents=True)
    with (folder / quant.files[0]).open("wb") as handle:  # sparse: the size is what counts
        handle.truncate(quant.size_bytes)
    document = build(_request("--on-disk", *WHAT_IF))[0]
    assert document["settings"]["on_disk_only"] is True
    assert [(r["model_id"], r["quant"]) for r in document["recommendations"]] == [
        ("qwen2.5-7b-instruct", "Q4_K_M")]
    everything = build(_request(*WHAT_IF))[0]
    assert len(everything["recommendations"]) > 1


def test_headless_and_tui_requests_give_the_same_document_shape() -> None:
    top_level = build_parser().parse_args(["--json", *WHAT_IF])  # `picker --json` + what-if flags
    headless = recommendations_document(rank_request(top_level))
    assert headless["settings"]["use_case"] == "general" and headless["settings"]["limit"] == 10
    assert headless["hardware"]["gpus"][0]["name"] == "RTX 3090"
    # The TUI's controls: None meaning "the default", no limit.
    tui = RankRequest(use_case="long-context", limit=None, overrides=HardwareOverrides(
        ram_bytes=32 * 2**30, vram_bytes=(24 * 2**30,), gpu_name="RTX 3090"))
    document = recommendations_document(tui)
    assert document["settings"]["context"] == USE_CASES["long-context"].default_context
    assert len(document["recommendations"]) > 10  # no limit
    assert {rec["context"] for rec in document["recommendations"]} == {32768}


def test_a_measured_speed_above_the_floor_beats_an_estimate_below_it() -> None:
    # The ranking prunes quants whose estimate cannot reach the speed floor; a quant measured
    # on this machine must not be pruned by its estimate.
    args = _args("--limit", "1", *WHAT_IF)
    top = build(rank_request(args))[0]["recommendations"][0]
    estimate = top["tokens_per_second"]["estimate"]
    strict = _request("--limit", "100", "--min-speed", f"{estimate * 3:.1f}", *WHAT_IF)
    chosen = {(r["model_id"], r["quant"]) for r in build(strict)[0]["recommendations"]}
    assert (top["model_id"], top["quant"]) not in chosen
    from picker.hardware.probe import probe_hardware

    snapshot = probe_hardware(hardware_overrides(args))
    settings = {"n_gpu_layers": top["n_gpu_layers"], "n_ctx": top["context"], "n_batch": 512,
                "n_ubatch": 512, "flash_attn": False, "type_k": "f16", "type_v": "f16",
                "n_threads": snapshot.cpu.inference_threads}
    History.open().record_run(
        kind="smoke", machine=machine_fingerprint(snapshot),
        model=ModelFile(name=top["file"], size_bytes=top["download_bytes"], hub_repo=top["repo"],
                        hub_filename=top["file"], hub_revision="main"),
        settings=settings, passed=True, reason=None,
        measurements={"generation_tokens_per_second": estimate * 10})
    again = {(r["model_id"], r["quant"]): r for r in build(strict)[0]["recommendations"]}
    assert (top["model_id"], top["quant"]) in again
    assert again[(top["model_id"], top["quant"])]["tokens_per_second"]["basis"] == "measured"


def test_two_alike_unknown_gpus_make_one_warning() -> None:
    # two what-if GPUs without a name share one bandwidth assumption: it is said once
    for command in (("recommend", "--limit", "1"), ("fit", "qwen3.5-9b:Q4_K_M")):
        result = run_picker(*command, "--vram", "24G,12G", "--ram", "64G")
        assert result.returncode == 0, result.stderr
        warnings = [line for line in result.stderr.splitlines()
                    if "unknown to picker's GPU table" in line]
        assert len(warnings) == 1, result.stderr

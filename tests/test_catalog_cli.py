"""`picker catalog list/show` run as a user would, checked through their JSON."""

from __future__ import annotations

from tests.cli_helpers import run_picker


def test_list_filters_combine() -> None:
    everything = run_picker("catalog", "list", "--json")
    assert everything.returncode == 0, everything.stderr
    all_rows = everything.json()["models"]
    result = run_picker("catalog", "list", "--json", "--family", "gemma", "--capability", "vision",
                        "--max-params", "13B")
    rows = result.json()["models"]
    assert rows and len(rows) < len(all_rows)
    for row in rows:
        assert row["family"] == "gemma" and "vision" in row["capabilities"]
        assert row["parameters"] <= 13_000_000_000
    commercial = run_picker("catalog", "list", "--json", "--commercial", "--min-params", "7B").json()
    assert commercial["models"]
    assert all(r["commercial"] and r["parameters"] >= 7e9 for r in commercial["models"])
    excluded = {r["id"] for r in all_rows} - {r["id"] for r in commercial["models"]}
    assert "mistral-large-instruct-2407" in excluded  # research license


def test_show_open_model_json() -> None:
    result = run_picker("catalog", "show", "qwen2.5-7b-instruct", "--json")
    assert result.returncode == 0, result.stderr
    model = result.json()["model"]
    assert model["architecture"]["kv_heads"] == 4
    quant = next(q for q in model["quantizations"] if q["type"] == "Q4_K_M")
    assert quant["size_bytes"] > 0 and quant["kld"] is not None
    assert all(b["source"] for b in model["benchmarks"])


def test_show_names_the_kv_heads_of_each_layer_kind() -> None:
    gemma = run_picker("catalog", "show", "gemma-4-31b-it")
    assert gemma.returncode == 0, gemma.stderr
    assert "32 heads / 4 KV heads on global layers, 16 on sliding-window ones" in gemma.stdout
    assert "/ 4 KV heads;" in run_picker("catalog", "show", "qwen2.5-7b-instruct").stdout


def test_show_closed_model_text() -> None:
    result = run_picker("catalog", "show", "gpt-4o")
    assert result.returncode == 0
    assert "not runnable" in result.stdout and "per million tokens" in result.stdout


def test_unknown_id_is_not_found_with_a_suggestion() -> None:
    result = run_picker("catalog", "show", "llama-3.1-8b-instruc", "--json")
    assert result.returncode == 3
    assert result.json()["error"]["code"] == "not_found"
    assert "did you mean 'llama-3.1-8b-instruct'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_params_flag_is_a_usage_error() -> None:
    result = run_picker("catalog", "list", "--min-params", "lots")
    assert result.returncode == 2
    assert "--min-params" in result.stderr

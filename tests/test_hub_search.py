"""`picker search` against the local stand-in Hub: listing, paging, plans from ranged header
reads, the catalog link, the cache with its date, and every way the Hub fails."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from picker.cli import main
from tests.gguf_samples import write_llama
from tests.hub_server import HubHandler, HubServer, RequestRecord

BASE = "Org/Tiny-Chat"


def tiny(folder: Path, name: str, weight_type: str, n_layers: int = 2) -> Path:
    path = folder / name
    write_llama(path, n_layers=n_layers, n_embd=256, n_head=4, n_head_kv=2, n_ff=512,
                n_vocab=512, weight_type=weight_type)
    return path


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return {"Q4_K_M": tiny(tmp_path, "a-Q4_K_M.gguf", "Q4_K"),
            "Q8_0": tiny(tmp_path, "a-Q8_0.gguf", "Q8_0")}


def add(hub: HubServer, repo: str, files: dict[str, Path], downloads: int, *,
        base: str | None = BASE, gated: bool = False, **card: Any) -> None:
    stem = repo.split("/")[1].removesuffix("-GGUF")
    hub.add_repo(repo, {f"{stem}-{quant}.gguf": path for quant, path in files.items()} | {"README.md": "hi"},
                 gated=gated, card={"downloads": downloads,
                                    "tags": [f"base_model:quantized:{base}"] if base else [], **card})


def search(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code = main(["search", *args, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def text_search(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["search", *args])
    out, err = capsys.readouterr()
    return code, out, err


def only_model_list(action: Callable[[HubHandler], None], times: int | None = None) -> Any:
    """A hook that answers `GET /api/models` itself (`times` times), leaving every other route."""
    used = [0]

    def hook(handler: HubHandler, record: RequestRecord) -> bool:
        if record.path != "/api/models" or (times is not None and used[0] >= times):
            return False
        used[0] += 1
        action(handler)
        return True

    return hook


def model_list_requests(hub: HubServer) -> list[RequestRecord]:
    return [r for r in hub.requests if r.path == "/api/models"]


def test_lists_gguf_repos_by_downloads_and_plans_each_quant_from_one_ranged_header_read(
        hub_server: HubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    big = {"Q4_K_M": tiny(tmp_path, "b-Q4_K_M.gguf", "Q4_K", n_layers=8),
           "Q8_0": tiny(tmp_path, "b-Q8_0.gguf", "Q8_0", n_layers=8)}
    add(hub_server, "someone/Tiny-Chat-GGUF", big, 100)
    add(hub_server, "bartowski/Tiny-Chat-GGUF", big, 500)
    hub_server.add_repo("someone/Tiny-Chat", {"model.safetensors": b"x"})  # not a GGUF repo
    code, document, _ = search(capsys, "tiny-chat")
    assert code == 0
    results = document["search"]["results"]
    assert [r["repo_id"] for r in results] == ["bartowski/Tiny-Chat-GGUF", "someone/Tiny-Chat-GGUF"]
    first = results[0]
    assert [(p["quant"], p["basis"]) for p in first["plans"]] == [
        ("Q4_K_M", "header"), ("Q8_0", "scaled from the Q4_K_M header by file size")]
    q4, q8 = first["plans"]
    assert q4["size_bytes"] == big["Q4_K_M"].stat().st_size
    assert q8["size_bytes"] == big["Q8_0"].stat().st_size
    assert q4["fits"] and q4["placement"] == "cpu" and q4["tokens_per_second"]["estimate"] > 0
    assert q8["tokens_per_second"]["estimate"] < q4["tokens_per_second"]["estimate"]  # reads more
    assert first["headers"][0]["architecture"] == "llama"
    assert first["catalog_model"] is None and first["scores"] is None
    # Only headers travelled: every CDN read was ranged, and less than the file was fetched.
    cdn = [r for r in hub_server.requests if r.server == "cdn" and r.method == "GET"]
    assert cdn and all(r.range for r in cdn)
    assert first["headers"][0]["bytes_read"] < q4["size_bytes"]
    listing = model_list_requests(hub_server)[0]
    assert listing.query["filter"] == ["gguf"] and listing.query["sort"] == ["downloads"]


def test_what_if_flags_plan_the_same_files_for_another_machine(
        hub_server: HubServer, files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    add(hub_server, "bartowski/Tiny-Chat-GGUF", files, 500)
    _, here, _ = search(capsys, "tiny")
    _, what_if, _ = search(capsys, "tiny", "--ram", "32G", "--vram", "24G", "--gpu", "RTX 4090")
    assert {p["placement"] for p in here["search"]["results"][0]["plans"]} == {"cpu"}
    assert {p["placement"] for p in what_if["search"]["results"][0]["plans"]} == {"gpu"}
    assert what_if["search"]["machine"] == "the what-if machine"


def test_a_catalog_model_finds_its_other_gguf_sources_by_the_base_model_tag(
        hub_server: HubServer, files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    from picker.catalog import load_catalog

    model = next(m for m in load_catalog().models if m.hf_repo and m.benchmarks and m.gguf)
    add(hub_server, "someone/Re-Quant-GGUF", files, 300, base=model.hf_repo)
    add(hub_server, "other/Unrelated-GGUF", files, 900, base="Someone/Else")
    code, document, _ = search(capsys, "--for", model.id)
    assert code == 0
    (result,) = document["search"]["results"]
    assert result["repo_id"] == "someone/Re-Quant-GGUF"
    assert result["catalog_model"] == model.id
    assert set(result["scores"]) == {b.benchmark for b in model.benchmarks}
    assert model_list_requests(hub_server)[0].query["filter"] == [
        "gguf", f"base_model:quantized:{model.hf_repo}"]
    # `catalog show` lists them from the kept results, without asking the Hub again.
    asked = len(hub_server.requests)
    assert main(["catalog", "show", model.id]) == 0
    shown = capsys.readouterr().out
    assert "Other GGUF sources" in shown and "someone/Re-Quant-GGUF" in shown
    assert len(hub_server.requests) == asked


def test_catalog_show_says_how_to_find_other_sources_before_any_search(
        hub_server: HubServer, capsys: pytest.CaptureFixture[str]) -> None:
    from picker.catalog import load_catalog

    model = next(m for m in load_catalog().models if m.hf_repo)
    assert main(["catalog", "show", model.id]) == 0
    assert f"picker search --for {model.id}" in capsys.readouterr().out
    assert not hub_server.requests  # never the network


def test_pages_are_followed_by_their_link_header_up_to_the_limit(
        hub_server: HubServer, files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    for number in range(7):
        add(hub_server, f"owner/Tiny-{number}-GGUF", files, number)
    hub_server.models_page_size = 2
    code, document, _ = search(capsys, "tiny", "--limit", "5", "--plan", "0")
    assert code == 0
    assert [r["repo_id"] for r in document["search"]["results"]] == [
        f"owner/Tiny-{n}-GGUF" for n in (6, 5, 4, 3, 2)]
    pages = model_list_requests(hub_server)
    assert [p.query.get("cursor") for p in pages] == [None, ["2"], ["4"]]
    assert not [r for r in hub_server.requests if r.server == "cdn"]  # --plan 0: no headers
    assert all(not r["planned"] and not r["plans"] for r in document["search"]["results"])


def test_the_same_request_as_huggingface_hubs_list_models(
        hub_server: HubServer, files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    from huggingface_hub import HfApi

    from picker.hubsearch.listing import EXPAND, SORT_KEYS

    for number in range(5):
        add(hub_server, f"owner/Tiny-{number}-GGUF", files, number, likes=10 - number)
    hub_server.models_page_size = 2
    search(capsys, "tiny", "--sort", "likes", "--limit", "3", "--plan", "0")
    ours = [r.query for r in model_list_requests(hub_server)]
    hub_server.clear_log()
    theirs = list(HfApi(endpoint=hub_server.endpoint).list_models(
        filter="gguf", search="tiny", sort=SORT_KEYS["likes"], limit=3, expand=EXPAND))  # type: ignore[arg-type]
    assert [r.query for r in model_list_requests(hub_server)] == ours
    assert [m.id for m in theirs] == [f"owner/Tiny-{n}-GGUF" for n in (0, 1, 2)]


def test_no_results_is_an_answer_not_an_error(
        hub_server: HubServer, files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    add(hub_server, "bartowski/Tiny-Chat-GGUF", files, 500)
    code, document, _ = search(capsys, "no-such-model")
    assert code == 0 and document["search"]["results"] == []
    code, text, _ = text_search(capsys, "no-such-model")
    assert code == 0 and "none found" in text


@pytest.mark.parametrize("status", [429, 503])
def test_a_rate_limit_or_server_error_is_retried_a_bounded_number_of_times_then_one_line(
        hub_server: HubServer, files: dict[str, Path], capsys: pytest.CaptureFixture[str],
        status: int) -> None:
    add(hub_server, "bartowski/Tiny-Chat-GGUF", files, 500)
    hub_server.hooks.append(only_model_list(lambda h: h.send_json(
        {"error": "slow down"}, status, {"Retry-After": "0"})))
    code = main(["search", "tiny"])
    out, err = capsys.readouterr()
    assert code == 4 and out == ""
    assert err.count("\n") == 1 and f"HTTP {status}" in err and "no earlier results" in err
    assert len(model_list_requests(hub_server)) == 3  # picker's bounded policy, no 23 s loop


def test_a_server_error_that_passes_is_retried_and_the_search_goes_on(
        hub_server: HubServer, files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    add(hub_server, "bartowski/Tiny-Chat-GGUF", files, 500)
    hub_server.hooks.append(only_model_list(lambda h: h.send_json({"error": "oops"}, 500), times=1))
    code, document, _ = search(capsys, "tiny")
    assert code == 0 and document["search"]["results"][0]["plans"]


def test_after_a_failure_the_last_results_are_shown_with_their_date(
        hub_server: HubServer, files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    add(hub_server, "bartowski/Tiny-Chat-GGUF", files, 500)
    _, live, _ = search(capsys, "tiny")
    hub_server.hooks.append(only_model_list(lambda h: h.send_json({"error": "limit"}, 429)))
    code, kept, err = search(capsys, "tiny", "--vram", "8G")
    assert code == 0 and kept["search"]["source"] == "cache"
    assert kept["search"]["fetched_at"] == live["search"]["fetched_at"]
    assert f"showing the results kept from {live['search']['fetched_at'][:16]}" in err
    # Planned again for the machine asked about, from the kept header shape.
    assert kept["search"]["results"][0]["plans"][0]["placement"] == "gpu"


def test_a_gated_repo_is_listed_and_says_how_to_get_access(
        hub_server: HubServer, files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    add(hub_server, "org/Gated-Tiny-GGUF", files, 900, gated=True)
    add(hub_server, "bartowski/Tiny-Chat-GGUF", files, 500)
    code, document, _ = search(capsys, "tiny")
    assert code == 0
    gated, open_repo = document["search"]["results"]
    assert gated["gated"] is True and not gated["plans"]
    assert "gated" in gated["problem"] and "HF_TOKEN" in gated["problem"]
    assert open_repo["plans"]
    _, text, _ = text_search(capsys, "tiny")
    assert "not planned: org/Gated-Tiny-GGUF is gated" in text


def test_with_a_token_the_gated_repo_is_planned(
        hub_server: HubServer, files: dict[str, Path], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    add(hub_server, "org/Gated-Tiny-GGUF", files, 900, gated=True)
    hub_server.tokens.add("hf_secret_test_token")
    monkeypatch.setenv("HF_TOKEN", "hf_secret_test_token")
    code, document, _ = search(capsys, "tiny")
    assert code == 0 and document["search"]["results"][0]["plans"]
    assert "hf_secret_test_token" not in json.dumps(document)


def test_offline_shows_the_kept_results_and_asks_nothing(
        hub_server: HubServer, files: dict[str, Path], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    add(hub_server, "bartowski/Tiny-Chat-GGUF", files, 500)
    search(capsys, "tiny")
    hub_server.clear_log()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, text, err = text_search(capsys, "tiny")
    assert code == 0 and "kept from an earlier search" in text and "HF_HUB_OFFLINE" in err
    assert "bartowski/Tiny-Chat-GGUF" in text
    assert not hub_server.requests
    code = main(["search", "never-searched"])
    out, err = capsys.readouterr()
    assert code == 4 and out == "" and err.count("\n") == 1 and "HF_HUB_OFFLINE" in err


def test_an_unreachable_hub_shows_the_kept_results_or_one_line_at_once(
        hub_server: HubServer, files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    import time

    from huggingface_hub import close_session

    add(hub_server, "bartowski/Tiny-Chat-GGUF", files, 500)
    search(capsys, "tiny")
    hub_server.stop()
    close_session()  # the pooled keep-alive connections go down with the network too
    code, document, err = search(capsys, "tiny")
    assert code == 0 and document["search"]["source"] == "cache" and "cannot reach" in err
    started = time.monotonic()
    code = main(["search", "never-searched", "--json"])
    out, err = capsys.readouterr()
    assert code == 4 and json.loads(out)["error"]["exit_code"] == 4
    assert err.count("\n") == 1 and "cannot reach the Hub" in err
    assert time.monotonic() - started < 5  # no retry loop on a refused connection


def test_a_damaged_or_tampered_cache_is_never_shown_as_results(
        hub_server: HubServer, files: dict[str, Path], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    from picker.paths import picker_paths

    add(hub_server, "bartowski/Tiny-Chat-GGUF", files, 500)
    search(capsys, "tiny")
    (kept,) = (picker_paths().cache_dir / "hub-search").glob("*.json")
    document = json.loads(kept.read_text())
    document["repos"][0]["headers"][0]["shape"]["n_layer"] = "two"  # a shape that is not one
    document["repos"].append({"repo_id": "evil/\x1b]52;c;x\x07", "gguf_files": []})
    kept.write_text(json.dumps(document))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, result, _ = search(capsys, "tiny")
    assert code == 0
    assert [r["repo_id"] for r in result["search"]["results"]] == ["bartowski/Tiny-Chat-GGUF"]
    assert result["search"]["results"][0]["plans"] == []  # no shape, no invented plan
    kept.write_bytes(b"\x80not json")
    code = main(["search", "tiny"])
    assert code == 4 and "no earlier results" in capsys.readouterr().err


def test_hostile_names_are_dropped_or_shown_escaped(
        hub_server: HubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.gguf_samples import write_llama

    named = tmp_path / "named-Q4_K_M.gguf"
    write_llama(named, n_embd=256, n_ff=512, n_vocab=512, weight_type="Q4_K",
                extra_kv={"general.name": "x\x1b[2J\nforged line"})
    hub_server.add_repo("evil/Tiny-\x1b[31m-GGUF", {"a-Q4_K_M.gguf": named})
    hub_server.add_repo("ok/Tiny-GGUF", {"Tiny-Q4_K_M.gguf": named, "../../escape-Q8_0.gguf": named})
    code, text, err = text_search(capsys, "tiny")
    assert code == 0
    assert "\x1b" not in text + err and "\\x1b[2J\\x0aforged line" in text
    assert "ok/Tiny-GGUF" in text and "evil/" not in text and "escape-Q8_0" not in text
    assert "invalid repository id" in err


@pytest.mark.parametrize("args, message", [
    ([], "give words to search for"),
    (["tiny", "--sort", "newest"], "--sort"),
    (["tiny", "--limit", "0"], "--limit"),
    (["tiny", "--limit", "1000"], "--limit"),
    (["--for", "no-such-model"], "no open catalog model"),
    (["tiny", "--for", "x"], "either search words or --for"),
    (["tiny\x1b[2J"], "printable"),
])
def test_bad_searches_are_one_line_usage_errors(
        args: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["search", *args])
    out, err = capsys.readouterr()
    assert code in (2, 3) and out == "" and err.count("\n") == 1 and message in err


def test_the_headless_answer_loads_nothing_of_the_search(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    script = ("import contextlib, io, sys\n"
              "from picker.cli import main\n"
              "with contextlib.redirect_stdout(io.StringIO()):\n"
              "    main(['--json'])\n"
              "print(','.join(n for n in sys.modules if n.startswith(('picker.hubsearch', "
              "'picker.commands.search'))))\n")
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               timeout=120, check=False, env={**os.environ, "PICKER_HOME": str(tmp_path)})
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == ""


def test_all_headers_reads_each_quant_and_a_split_file_is_read_part_by_part(
        hub_server: HubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parts = write_llama(tmp_path / "Split-Q8_0.gguf", n_layers=4, n_embd=256, n_ff=512, n_vocab=512,
                        weight_type="Q8_0", split_max_tensors=20)
    assert len(parts) > 1
    q4 = tiny(tmp_path, "a-Q4_K_M.gguf", "Q4_K", n_layers=4)
    hub_server.add_repo("owner/Split-GGUF", {"Split-Q4_K_M.gguf": q4} | {p.name: p for p in parts})
    code, document, _ = search(capsys, "split", "--all-headers")
    assert code == 0
    (result,) = document["search"]["results"]
    plans = {p["quant"]: p for p in result["plans"]}
    assert {q: p["basis"] for q, p in plans.items()} == {"Q4_K_M": "header", "Q8_0": "header"}
    assert plans["Q8_0"]["size_bytes"] == sum(p.stat().st_size for p in parts)
    q8 = next(q for q in result["quantizations"] if q["quant"] == "Q8_0")
    assert q8["files"] == sorted(p.name for p in parts)
    read = {r.path.rsplit("/", 1)[-1] for r in hub_server.requests if r.method == "HEAD"}
    assert {p.name for p in parts} <= read  # every part's header was read


def test_a_header_no_real_model_has_is_said_and_the_search_goes_on(
        hub_server: HubServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    odd = tmp_path / "odd-Q4_K_M.gguf"
    write_llama(odd, n_embd=256, n_ff=512, n_vocab=512, weight_type="Q4_K",
                extra_kv={"llama.block_count": 0})
    hub_server.add_repo("odd/Tiny-GGUF", {"Tiny-Q4_K_M.gguf": odd})
    add(hub_server, "ok/Tiny-Chat-GGUF", {"Q4_K_M": tiny(tmp_path, "a-Q4_K_M.gguf", "Q4_K")}, 0)
    code, document, _ = search(capsys, "tiny")
    assert code == 0
    odd_repo, ok_repo = document["search"]["results"]
    assert odd_repo["plans"] == [] and "no model picker can plan" in odd_repo["problem"]
    assert ok_repo["plans"]


def test_the_catalogs_own_gguf_repo_is_known_without_a_base_model_tag(
        hub_server: HubServer, files: dict[str, Path], capsys: pytest.CaptureFixture[str]) -> None:
    from picker.catalog import load_catalog

    model = next(m for m in load_catalog().models if m.gguf and "/" in m.gguf.repo)
    assert model.gguf is not None
    add(hub_server, model.gguf.repo, files, 10, base=None)
    code, document, _ = search(capsys, model.gguf.repo.split("/")[1])
    assert code == 0
    (result,) = document["search"]["results"]
    assert result["catalog_model"] == model.id
    assert result["catalog_match"] == "the catalog's own GGUF source of it"

"""`picker fit --exact` for split Hub models and catalog ids: llama.cpp's dry run on sparse copies.

The figures must equal the same dry run on the real, complete local files, and the
Hub must only have been asked for each part's header bytes, once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from picker.gguf.remote import INITIAL_REMOTE_READ_BYTES, LATER_PART_READ_BYTES
from tests.cli_helpers import run_picker
from tests.gguf_samples import write_llama
from tests.hub_server import HubServer, RequestRecord

SETTINGS = ("--ctx", "1024", "--ram", "16G")  # a fixed machine: free memory moves


@pytest.fixture(scope="module")
def split_parts(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("split")
    parts = write_llama(folder / "tiny-Q8_0.gguf", n_layers=4, n_embd=512, n_head=8,
                        n_head_kv=2, n_ff=1536, n_vocab=4000, split_max_tensors=16)
    assert [p.name for p in parts] == [f"tiny-Q8_0-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
    return parts


@pytest.fixture(scope="module")
def local_exact(split_parts: list[Path]) -> dict[str, Any]:
    """The dry run on the complete files, read from disk."""
    result = run_picker("fit", str(split_parts[0]), "--json", "--exact", *SETTINGS)
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = result.json()
    return document


def _ranged_gets(server: HubServer) -> list[RequestRecord]:
    return [r for r in server.requests if r.method == "GET" and r.range]


def _span(record: RequestRecord) -> tuple[int, int]:
    first, _, last = (record.range or "").removeprefix("bytes=").partition("-")
    return int(first), int(last) + 1


def test_split_hub_model_gives_the_figures_of_the_full_files(
    split_parts: list[Path], local_exact: dict[str, Any], hub_server: HubServer
) -> None:
    hub_server.add_repo("someone/tiny-GGUF", {f"q8/{p.name}": p for p in split_parts})
    target = f"hf://someone/tiny-GGUF/q8/{split_parts[0].name}"
    result = run_picker("fit", target, "--json", "--exact", *SETTINGS)
    assert result.returncode == 0, result.stderr
    remote = result.json()
    assert remote["exact"]["rows"] == local_exact["exact"]["rows"]
    assert remote["memory"] == local_exact["memory"]
    rows = {row["kind"]: row for row in remote["exact"]["rows"]}
    assert rows["kv_cache"]["llama_cpp_bytes"] == rows["kv_cache"]["plan_bytes"] > 0
    assert remote["exact"]["file"] == target
    assert remote["exact"]["commit"] == hub_server.repos["someone/tiny-GGUF"].refs["main"]

    # One HEAD and one ranged GET per part, from byte 0, no longer than the header reader's
    # first read: the sparse copies reuse the header bytes instead of fetching them again.
    heads = hub_server.requests_to("/resolve/", "HEAD")
    assert sorted(r.path.rsplit("/", 1)[-1] for r in heads) == [p.name for p in split_parts]
    gets = _ranged_gets(hub_server)
    assert len(gets) == len(split_parts)
    sizes = sorted(p.stat().st_size for p in split_parts)
    for index, record in enumerate(gets):
        start, stop = _span(record)
        limit = INITIAL_REMOTE_READ_BYTES if index == 0 else LATER_PART_READ_BYTES
        assert start == 0 and stop <= limit < sizes[0]
    assert sum(_span(r)[1] for r in gets) < sum(sizes) // 4


def test_any_part_stands_for_the_model(split_parts: list[Path], local_exact: dict[str, Any],
                                       hub_server: HubServer) -> None:
    hub_server.add_repo("someone/tiny-GGUF", {p.name: p for p in split_parts})
    local = run_picker("fit", str(split_parts[2]), "--json", "--exact", *SETTINGS)
    remote = run_picker("fit", f"hf://someone/tiny-GGUF/{split_parts[1].name}", "--json",
                        "--exact", *SETTINGS)
    for result in (local, remote):
        assert result.returncode == 0, result.stderr
        assert result.json()["exact"]["rows"] == local_exact["exact"]["rows"]
        assert result.json()["exact"]["file"].endswith(split_parts[0].name)  # llama.cpp's way in


def test_catalog_id_resolves_to_its_hub_files(
    split_parts: list[Path], local_exact: dict[str, Any], hub_server: HubServer
) -> None:
    hub_server.add_repo("someone/tiny-GGUF", {p.name: p for p in split_parts})
    env = {"HF_ENDPOINT": hub_server.endpoint}
    added = run_picker("catalog", "add", "hf://someone/tiny-GGUF", "--json", env=env)
    assert added.returncode == 0, added.stderr
    [model_id] = added.json()["added"]
    hub_server.clear_log()

    result = run_picker("fit", f"{model_id}:Q8_0", "--json", "--exact", *SETTINGS, env=env)
    assert result.returncode == 0, result.stderr
    document = result.json()
    assert document["exact"]["file"] == f"hf://someone/tiny-GGUF/{split_parts[0].name}"
    assert document["exact"]["rows"] == local_exact["exact"]["rows"]
    assert document["memory"] == local_exact["memory"]  # planned from the header, not estimated
    assert "estimated" not in result.stderr
    assert len(_ranged_gets(hub_server)) == len(split_parts)

    # Once downloaded, the files on disk are read and the Hub is not asked at all.
    download = run_picker("download", f"{model_id}:Q8_0", "--json", env=env)
    assert download.returncode == 0, download.stderr
    hub_server.clear_log()
    again = run_picker("fit", f"{model_id}:Q8_0", "--json", "--exact", *SETTINGS, env=env)
    assert again.returncode == 0, again.stderr
    assert again.json()["exact"]["rows"] == local_exact["exact"]["rows"]
    assert Path(again.json()["exact"]["file"]).name == split_parts[0].name
    assert not hub_server.requests_to("/resolve/") and not _ranged_gets(hub_server)


def test_catalog_id_of_local_files_reads_them(split_parts: list[Path], local_exact: dict[str, Any],
                                              tmp_path: Path) -> None:
    import shutil

    copies = [Path(shutil.copy(p, tmp_path / p.name)) for p in split_parts]
    added = run_picker("catalog", "add", str(tmp_path), "--json")
    assert added.returncode == 0, added.stderr
    [model_id] = added.json()["added"]
    result = run_picker("fit", f"{model_id}:Q8_0", "--json", "--exact", *SETTINGS)
    assert result.returncode == 0, result.stderr
    assert result.json()["exact"]["file"] == str(copies[0].resolve())
    assert result.json()["exact"]["rows"] == local_exact["exact"]["rows"]

    copies[1].unlink()
    gone = run_picker("fit", f"{model_id}:Q8_0", "--exact")
    assert gone.returncode == 3
    [line] = gone.stderr.strip().splitlines()
    assert "not on disk" in line and copies[0].name in line


def test_catalog_id_whose_file_names_are_unknown_says_what_to_do() -> None:
    from picker.catalog import load_catalog

    unknown = [f"{m.id}:{q.type}" for m in load_catalog().models if m.gguf is not None
               and m.gguf.quantizer != "local" for q in m.quantizations if not q.files]
    assert unknown, "the shipped catalog lists every file name now; use a user catalog entry"
    result = run_picker("fit", unknown[0], "--exact")
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "picker catalog refresh" in line and "hf://" in line
    as_json = run_picker("fit", unknown[0], "--exact", "--json")
    assert as_json.returncode == 2 and as_json.json()["error"]["code"] == "usage"


def test_a_missing_part_or_id_is_not_found_in_one_line(
    split_parts: list[Path], hub_server: HubServer
) -> None:
    hub_server.add_repo("someone/broken-GGUF", {p.name: p for p in split_parts[:2]})
    missing = run_picker("fit", f"hf://someone/broken-GGUF/{split_parts[0].name}", "--exact")
    assert missing.returncode == 3
    [line] = missing.stderr.strip().splitlines()
    assert split_parts[2].name in line
    unknown = run_picker("fit", "no-such-model:Q4_K_M", "--exact", "--json")
    assert unknown.returncode == 3 and unknown.json()["error"]["code"] == "not_found"


def test_sparse_copies_hold_the_header_and_a_hole(split_parts: list[Path], hub_server: HubServer,
                                                  tmp_path: Path) -> None:
    import resource
    import signal

    from picker.errors import InsufficientResourcesError, UsageError
    from picker.gguf.remote import read_hub_model
    from picker.memory.sparse_copy import sparse_copy

    hub_server.add_repo("someone/tiny-GGUF", {p.name: p for p in split_parts})
    model = read_hub_model("someone/tiny-GGUF", split_parts[0].name)
    first = sparse_copy(model, tmp_path)
    assert first == tmp_path / split_parts[0].name
    for part, real in zip(model.parts, split_parts, strict=True):
        copy = tmp_path / real.name
        data = copy.read_bytes()
        offset = part.header.data_offset
        assert len(data) == real.stat().st_size
        assert data[:offset] == real.read_bytes()[:offset]
        assert data[offset:].count(0) == len(data) - offset
        assert copy.stat().st_blocks * 512 < len(data) // 4  # a hole, not zeros on disk

    with pytest.raises(UsageError, match="TMPDIR"):
        sparse_copy(model, tmp_path / "nowhere")  # no such folder
    (tmp_path / "full").mkdir()
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1024 * 1024, limits[1]))
    try:
        with pytest.raises(InsufficientResourcesError, match="sparse"):  # file too large
            sparse_copy(model, tmp_path / "full")
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
        signal.signal(signal.SIGXFSZ, handler)

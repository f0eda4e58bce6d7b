"""Reading GGUF headers from the (stand-in) Hub with range requests: header bytes only."""

from __future__ import annotations

from pathlib import Path

import pytest

from picker.errors import NetworkError, NotFoundError, PickerError
from picker.gguf import GGUFError, GGUFHeader, read_header
from picker.gguf.remote import LATER_PART_READ_BYTES, read_hub_header
from tests.gguf_samples import write_llama
from tests.hub_server import HubFile, HubHandler, HubServer, RequestRecord


def _same_model(remote: GGUFHeader, local: GGUFHeader) -> None:
    assert remote.tensors == local.tensors
    assert dict(remote.metadata) == dict(local.metadata)
    assert (remote.data_offset, remote.alignment, remote.version) == (
        local.data_offset,
        local.alignment,
        local.version,
    )
    assert remote.file_size_bytes == local.file_size_bytes
    assert remote.split_count == local.split_count


def _ranged_gets(server: HubServer) -> list[RequestRecord]:
    return [r for r in server.requests if r.method == "GET" and r.range]


def _body_bytes(record: RequestRecord) -> int:
    first, _, last = (record.range or "").removeprefix("bytes=").partition("-")
    return int(last) - int(first) + 1


def test_generated_model_header_over_ranges(hub_server: HubServer, tmp_path: Path) -> None:
    (path,) = write_llama(tmp_path / "m.gguf", n_vocab=4000)
    hub_server.add_repo("owner/repo", {"m.gguf": path})
    header = read_hub_header("owner/repo", "m.gguf", initial_read_bytes=4096)
    _same_model(header, read_header(path))
    gets = _ranged_gets(hub_server)
    assert len(gets) >= 3  # started small and grew
    assert all(r.server == "cdn" for r in gets)  # straight to the located URL
    assert [_body_bytes(r) for r in gets][:2] == [4096, 4096]
    assert header.header_bytes_read < header.file_size_bytes  # type: ignore[operator]
    assert header.header_bytes_read <= sum(_body_bytes(r) for r in gets)
    assert header.header_bytes_read >= header.data_offset - 8 * len(header.tensors)


def test_a_file_kept_in_git_is_read_from_the_hub_itself(hub_server: HubServer, tmp_path: Path) -> None:
    (path,) = write_llama(tmp_path / "m.gguf")
    hub_server.add_repo("owner/repo", {"m.gguf": HubFile(path.read_bytes(), lfs=False)})
    hub_server.tokens.add("hf_token_ok")
    _same_model(read_hub_header("owner/repo", "m.gguf", token="hf_token_ok"), read_header(path))
    gets = _ranged_gets(hub_server)
    assert gets and all(r.server == "hub" and r.status == 206 for r in gets)
    assert all(r.authorization == "Bearer hf_token_ok" for r in gets)  # same origin: token kept


def test_gemma_header_from_the_hub(hub_server: HubServer, gemma_gguf_path: Path) -> None:
    hub_server.add_repo("google/gemma-3-270m-GGUF", {"gemma-3-270m-Q4_K_M.gguf": gemma_gguf_path})
    header = read_hub_header("google/gemma-3-270m-GGUF", "gemma-3-270m-Q4_K_M.gguf")
    local = read_header(gemma_gguf_path)
    _same_model(header, local)
    assert header.header_bytes_read <= 2 * local.data_offset  # ~6.5 MB of a 253 MB file
    assert len(_ranged_gets(hub_server)) <= 5


def test_split_model_parts_are_read_at_one_commit(hub_server: HubServer, tmp_path: Path) -> None:
    parts = write_llama(tmp_path / "split.gguf", split_max_tensors=8)
    commit = hub_server.add_repo("owner/split", {f"q/{p.name}": p for p in parts})
    hub_server.add_commit("owner/split", {"unrelated.txt": b"new"})  # main moves on
    header = read_hub_header("owner/split", f"q/{parts[1].name}", revision=commit)
    _same_model(header, read_header(parts[0]))
    assert header.split_count == 3
    heads = hub_server.requests_to("/resolve/", "HEAD")
    assert len(heads) == 3 and all(f"/resolve/{commit}/" in r.path for r in heads)
    later_parts = [r for r in _ranged_gets(hub_server) if r.path != _ranged_gets(hub_server)[0].path]
    assert later_parts and all(_body_bytes(r) <= LATER_PART_READ_BYTES for r in later_parts)


def test_token_is_sent_to_the_hub_but_not_to_the_cdn(hub_server: HubServer, tmp_path: Path) -> None:
    (path,) = write_llama(tmp_path / "m.gguf")
    hub_server.add_repo("org/gated", {"m.gguf": path}, gated=True)
    hub_server.tokens.add("hf_secret_ok")
    header = read_hub_header("org/gated", "m.gguf", token="hf_secret_ok")
    assert header.architecture == "llama"
    assert any(r.authorization == "Bearer hf_secret_ok" for r in hub_server.requests if r.server == "hub")
    assert all(r.authorization is None for r in hub_server.requests if r.server == "cdn")


def test_gated_repo_says_how_to_get_access(hub_server: HubServer, tmp_path: Path) -> None:
    (path,) = write_llama(tmp_path / "m.gguf")
    hub_server.add_repo("org/gated", {"m.gguf": path}, gated=True)
    with pytest.raises(PickerError, match="HF_TOKEN") as anonymous:
        read_hub_header("org/gated", "m.gguf")
    assert "gated" in anonymous.value.message
    with pytest.raises(PickerError) as refused:
        read_hub_header("org/gated", "m.gguf", token="hf_secret_refused")
    assert "hf_secret_refused" not in refused.value.message
    assert "gated" in refused.value.message


@pytest.mark.parametrize(
    ("repo", "filename", "revision", "expected"),
    [
        ("owner/nope", "m.gguf", None, "not found"),
        ("owner/repo", "missing.gguf", None, "missing.gguf not found"),
        ("owner/repo", "m.gguf", "v9", "revision 'v9' not found"),
    ],
)
def test_missing_things_are_not_found(
    hub_server: HubServer, tmp_path: Path, repo: str, filename: str, revision: str | None, expected: str
) -> None:
    (path,) = write_llama(tmp_path / "m.gguf")
    hub_server.add_repo("owner/repo", {"m.gguf": path})
    with pytest.raises(NotFoundError, match=expected):
        read_hub_header(repo, filename, revision)


def test_a_missing_split_part_is_not_found(hub_server: HubServer, tmp_path: Path) -> None:
    parts = write_llama(tmp_path / "split.gguf", split_max_tensors=8)
    hub_server.add_repo("owner/split", {p.name: p for p in parts[:2]})
    with pytest.raises(NotFoundError, match="00003-of-00003"):
        read_hub_header("owner/split", parts[0].name)


def test_unreachable_hub_is_a_network_error(hub_no_backoff: list[float]) -> None:
    with HubServer() as server:
        endpoint = server.endpoint
    with pytest.raises(NetworkError, match="cannot reach"):
        read_hub_header("owner/repo", "m.gguf", endpoint=endpoint)


def test_server_errors_are_retried(hub_server: HubServer, tmp_path: Path) -> None:
    (path,) = write_llama(tmp_path / "m.gguf")
    hub_server.add_repo("owner/repo", {"m.gguf": path})
    failures: list[str] = []

    def fail_first_range(handler: HubHandler, record: RequestRecord) -> bool:
        if record.server == "cdn" and not failures:
            failures.append(record.path)
            handler.send_error_code(503, None, "busy")
            return True
        return False

    hub_server.hooks.append(fail_first_range)
    assert read_hub_header("owner/repo", "m.gguf").architecture == "llama"
    assert failures


def test_a_server_that_ignores_ranges_is_read_only_as_far_as_needed(
    hub_server: HubServer, tmp_path: Path
) -> None:
    (path,) = write_llama(tmp_path / "m.gguf", n_vocab=4000)
    data = path.read_bytes()
    hub_server.add_repo("owner/repo", {"m.gguf": data})

    def whole_file(handler: HubHandler, record: RequestRecord) -> bool:
        if record.server != "cdn":
            return False
        del handler.headers["Range"]  # answer as if Range were not understood
        handler.send_bytes(data)
        return True

    hub_server.hooks.append(whole_file)
    header = read_hub_header("owner/repo", "m.gguf", initial_read_bytes=4096)
    _same_model(header, read_header(path))
    assert {r.status for r in hub_server.requests if r.server == "cdn"} == {200}


def test_a_corrupt_file_on_the_hub_names_it(hub_server: HubServer) -> None:
    hub_server.add_repo("owner/repo", {"bad.gguf": b"GGUF\x03\x00\x00\x00" + b"\xff" * 64})
    with pytest.raises(GGUFError, match=r"hf://owner/repo/bad\.gguf: .*claims") as info:
        read_hub_header("owner/repo", "bad.gguf")
    assert info.value.offset == 8


def test_offline_mode_makes_no_requests(
    hub_server: HubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (path,) = write_llama(tmp_path / "m.gguf")
    hub_server.add_repo("owner/repo", {"m.gguf": path})
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(NetworkError, match="HF_HUB_OFFLINE"):
        read_hub_header("owner/repo", "m.gguf")
    assert hub_server.requests == []


@pytest.mark.parametrize("damage", ["truncate", "huge-count", "huge-string", "bad-type"])
def test_damaged_files_on_the_hub_give_gguf_errors(
    hub_server: HubServer, tmp_path: Path, damage: str
) -> None:
    import struct

    (path,) = write_llama(tmp_path / "m.gguf", n_vocab=12_000)
    header_end = read_header(path).data_offset
    data = bytearray(path.read_bytes())
    tokens_key = b"tokenizer.ggml.tokens"
    first_token = data.find(tokens_key) + len(tokens_key) + 4 + 4 + 8  # its length field
    token_500 = first_token
    for _ in range(500):
        token_500 += 8 + struct.unpack_from("<Q", data, token_500)[0]
    if damage == "truncate":
        del data[len(data) // 3 :]
    elif damage == "huge-count":
        data[8:16] = struct.pack("<Q", 2**62)
    elif damage == "huge-string":
        data[token_500 : token_500 + 8] = struct.pack("<Q", 2**50)
    else:
        data[first_token - 12 : first_token - 8] = struct.pack("<I", 77)  # the array's element type
    hub_server.add_repo("owner/repo", {"m.gguf": bytes(data)})
    with pytest.raises(GGUFError, match=r"^hf://owner/repo/m\.gguf: .*at byte offset \d+"):
        read_hub_header("owner/repo", "m.gguf", initial_read_bytes=4096)
    fetched = sum(_body_bytes(r) for r in _ranged_gets(hub_server))
    assert fetched <= 2 * header_end + 4096  # never more than the header and its read-ahead

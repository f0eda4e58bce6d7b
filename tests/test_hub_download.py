"""Downloads against the stand-in Hub with faults injected: after every case the final path
holds either the verified file or nothing."""

from __future__ import annotations

import errno
import hashlib
import os
import socket
import time
from pathlib import Path
from typing import Any, BinaryIO

import pytest

import picker.hub.storage as storage
import picker.hub.transfer as transfer
from picker.errors import InsufficientResourcesError, NetworkError, NotFoundError, RuntimeFailureError
from picker.hub import DownloadResult, HubFiles, RetryPolicy, download_files, download_target
from picker.hub.failures import AccessDeniedError, ServerError
from tests.hub_server import (
    HubServer,
    corrupt_body,
    cut_connection,
    error_status,
    slow_body,
    stall,
)

REPO = "owner/model-GGUF"
NAME = "model-Q4_K_M.gguf"
SIZE = 9_000_000


@pytest.fixture
def data() -> bytes:
    return os.urandom(SIZE)


@pytest.fixture
def repo(hub_server: HubServer, data: bytes) -> str:
    hub_server.add_repo(REPO, {NAME: data, "README.md": b"# card\n"})
    return REPO


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "hf-cache"


def get(hub_server: HubServer, cache: Path, waits: list[float], target: str = f"hf://{REPO}/{NAME}",
        **options: Any) -> DownloadResult:
    policy = options.pop("policy", RetryPolicy(sleep=waits.append))
    return download_target(target, endpoint=hub_server.endpoint, cache_dir=cache, policy=policy, **options)


def blob_dir(cache: Path, repo: str = REPO) -> Path:
    return cache / f"models--{repo.replace('/', '--')}" / "blobs"


def assert_verified_or_absent(cache: Path, data: bytes, present: bool) -> None:
    """The invariant: the blob and its snapshot link hold exactly the Hub's bytes, or do not exist."""
    sha = hashlib.sha256(data).hexdigest()
    blob = blob_dir(cache) / sha
    snapshots = list((cache / f"models--{REPO.replace('/', '--')}" / "snapshots").glob(f"*/{NAME}"))
    if present:
        assert hashlib.sha256(blob.read_bytes()).hexdigest() == sha
        assert len(snapshots) == 1 and snapshots[0].resolve() == blob.resolve()
    else:
        assert not blob.exists()
        assert not [s for s in snapshots if s.exists()]


def cdn_ranges(hub_server: HubServer) -> list[str | None]:
    return [r.range for r in hub_server.requests if r.server == "cdn" and r.method == "GET"]


def part_path(cache: Path, data: bytes) -> Path:
    return blob_dir(cache) / (hashlib.sha256(data).hexdigest() + ".part")


def test_download_lands_in_the_hf_cache_where_huggingface_hub_finds_it(
    hub_server: HubServer, repo: str, data: bytes, cache: Path, waits: list[float]
) -> None:
    from huggingface_hub import hf_hub_download, try_to_load_from_cache

    events: list[Any] = []
    result = get(hub_server, cache, waits, progress=events.append)
    assert_verified_or_absent(cache, data, present=True)
    assert result.path.read_bytes() == data
    assert result.files[0].sha256 == hashlib.sha256(data).hexdigest()
    assert result.to_json()["resumed_from_bytes"] == 0 and result.to_json()["size_bytes"] == SIZE
    assert events[0].kind == "resolved" and events[-1].kind == "done"
    assert events[-2].done_bytes == SIZE
    assert not part_path(cache, data).exists()
    # Other tools see the file: huggingface_hub finds it and does not fetch it again.
    assert try_to_load_from_cache(REPO, NAME, cache_dir=cache) == str(result.path)
    hub_server.clear_log()
    assert hf_hub_download(REPO, NAME, cache_dir=cache) == str(result.path)
    assert cdn_ranges(hub_server) == []


def test_a_verified_file_is_not_fetched_again(
    hub_server: HubServer, repo: str, data: bytes, cache: Path, waits: list[float]
) -> None:
    get(hub_server, cache, waits)
    hub_server.clear_log()
    again = get(hub_server, cache, waits)
    assert again.files[0].already_present and again.files[0].fetched_bytes == 0
    assert cdn_ranges(hub_server) == []


def test_a_cut_connection_resumes_from_the_bytes_received(
    hub_server: HubServer, repo: str, data: bytes, cache: Path, waits: list[float]
) -> None:
    hub_server.hooks.append(cut_connection(3_000_000, times=2))
    result = get(hub_server, cache, waits)
    assert cdn_ranges(hub_server) == [None, "bytes=3000000-", "bytes=6000000-"]
    assert waits == [0.5, 0.5]  # progress was made each time, so the wait never grew
    assert result.files[0].fetched_bytes == SIZE
    assert_verified_or_absent(cache, data, present=True)


def test_server_errors_are_retried(
    hub_server: HubServer, repo: str, data: bytes, cache: Path, waits: list[float]
) -> None:
    hub_server.hooks.append(error_status(500, times=2))
    get(hub_server, cache, waits)
    assert waits == [0.5, 1.0]
    assert_verified_or_absent(cache, data, present=True)


def test_lasting_server_errors_give_up_keeping_the_partial_then_resume(
    hub_server: HubServer, repo: str, data: bytes, cache: Path, waits: list[float]
) -> None:
    hub_server.hooks.extend([cut_connection(2_000_000, times=1), error_status(503, times=None)])
    with pytest.raises(ServerError) as caught:
        get(hub_server, cache, waits)
    message = caught.value.message
    assert "HTTP 503" in message and "resume" in message and "try again" in message
    assert caught.value.exit_code == 4
    assert part_path(cache, data).stat().st_size == 2_000_000
    assert_verified_or_absent(cache, data, present=False)
    hub_server.hooks.clear()
    hub_server.clear_log()
    result = get(hub_server, cache, waits)
    assert result.files[0].resumed_from_bytes == 2_000_000
    assert cdn_ranges(hub_server) == ["bytes=2000000-"]
    assert_verified_or_absent(cache, data, present=True)


def test_a_stalled_server_times_out_and_the_download_resumes(
    hub_server: HubServer, repo: str, data: bytes, cache: Path, waits: list[float]
) -> None:
    hub_server.hooks.append(stall(1.5, times=1))
    policy = RetryPolicy(read_timeout_seconds=0.3, sleep=waits.append)
    started = time.monotonic()
    get(hub_server, cache, waits, policy=policy)
    assert time.monotonic() - started < 10
    assert len(waits) == 1
    assert_verified_or_absent(cache, data, present=True)


def test_a_gated_repo_says_how_to_log_in_and_a_token_opens_it(
    hub_server: HubServer, data: bytes, cache: Path, waits: list[float]
) -> None:
    hub_server.add_repo(REPO, {NAME: data}, gated=True)
    with pytest.raises(AccessDeniedError) as caught:
        get(hub_server, cache, waits, token="")
    assert "hf auth login" in caught.value.message and "HF_TOKEN" in caught.value.message
    assert_verified_or_absent(cache, data, present=False)
    secret = "hf_" + "x" * 30
    hub_server.tokens.add(secret)
    hub_server.clear_log()
    get(hub_server, cache, waits, token=secret)
    assert_verified_or_absent(cache, data, present=True)
    hub_requests = [r for r in hub_server.requests if r.server == "hub"]
    cdn_requests = [r for r in hub_server.requests if r.server == "cdn"]
    assert hub_requests and all(r.authorization == f"Bearer {secret}" for r in hub_requests)
    assert cdn_requests and all(r.authorization is None for r in cdn_requests)  # no token off the Hub


def test_a_wrong_token_on_a_gated_repo_is_not_printed(
    hub_server: HubServer, data: bytes, cache: Path, waits: list[float]
) -> None:
    hub_server.add_repo(REPO, {NAME: data}, gated=True)
    with pytest.raises(AccessDeniedError) as caught:
        get(hub_server, cache, waits, token="hf_wrongwrongwrong")
    assert "request access" in caught.value.message and "wrongwrong" not in caught.value.message


def test_missing_file_repo_and_revision(hub_server: HubServer, repo: str, cache: Path,
                                        waits: list[float]) -> None:
    with pytest.raises(NotFoundError, match=r"nope\.gguf not found in owner/model-GGUF"):
        get(hub_server, cache, waits, target=f"hf://{REPO}/nope.gguf")
    with pytest.raises(NotFoundError, match="repo owner/absent not found"):
        get(hub_server, cache, waits, target="hf://owner/absent/x.gguf", token="")
    with pytest.raises(NotFoundError, match="revision 'v9' not found"):
        get(hub_server, cache, waits, target=f"hf://{REPO}/{NAME}@v9")
    assert cdn_ranges(hub_server) == []


def test_a_wrong_sha256_discards_the_file(
    hub_server: HubServer, repo: str, data: bytes, cache: Path, waits: list[float]
) -> None:
    hub_server.hooks.append(corrupt_body(times=None))
    with pytest.raises(RuntimeFailureError, match=r"corrupt: its sha256 is .* but the Hub says"):
        get(hub_server, cache, waits)
    assert not part_path(cache, data).exists()
    assert_verified_or_absent(cache, data, present=False)


def test_disk_full_mid_download_keeps_the_partial_and_says_how_much_is_needed(
    hub_server: HubServer, repo: str, data: bytes, cache: Path, waits: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_write = transfer.write_chunk
    room = {"bytes": 4_000_000}

    def small_disk(part: BinaryIO, chunk: bytes) -> None:
        if len(chunk) > room["bytes"]:
            real_write(part, chunk[: room["bytes"]])
            room["bytes"] = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        room["bytes"] -= len(chunk)
        real_write(part, chunk)

    monkeypatch.setattr(transfer, "write_chunk", small_disk)
    with pytest.raises(InsufficientResourcesError) as caught:
        get(hub_server, cache, waits)
    assert "disk full" in caught.value.message and "free at least" in caught.value.message
    assert part_path(cache, data).stat().st_size == 4_000_000
    assert_verified_or_absent(cache, data, present=False)
    monkeypatch.setattr(transfer, "write_chunk", real_write)
    hub_server.clear_log()
    result = get(hub_server, cache, waits)
    assert result.files[0].resumed_from_bytes == 4_000_000
    assert cdn_ranges(hub_server) == ["bytes=4000000-"]
    assert_verified_or_absent(cache, data, present=True)


def test_too_little_free_space_is_refused_before_starting(
    hub_server: HubServer, repo: str, data: bytes, cache: Path, waits: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(storage, "free_bytes", lambda folder: 5 * 1024 * 1024)
    with pytest.raises(InsufficientResourcesError) as caught:
        get(hub_server, cache, waits)
    assert "needs 72.6 MiB" in caught.value.message and "5.0 MiB is free" in caught.value.message
    assert cdn_ranges(hub_server) == []


def test_every_part_of_a_split_model(hub_server: HubServer, cache: Path, waits: list[float]) -> None:
    parts = {f"q8/M-Q8_0-{i:05d}-of-00003.gguf": os.urandom(1_000_000 + i) for i in (1, 2, 3)}
    hub_server.add_repo(REPO, parts)
    result = get(hub_server, cache, waits, target=f"hf://{REPO}/q8/M-Q8_0-00002-of-00003.gguf")
    assert [f.filename for f in result.files] == sorted(parts)
    for item in result.files:
        assert item.path.read_bytes() == parts[item.filename]
    assert result.path.name == "M-Q8_0-00001-of-00003.gguf"
    assert result.to_json()["size_bytes"] == sum(len(b) for b in parts.values())
    # The catalog's hook may name only the first part: the others still come (already here).
    again = download_files(HubFiles(REPO, ("q8/M-Q8_0-00001-of-00003.gguf",)),
                           endpoint=hub_server.endpoint, cache_dir=cache)
    assert [f.filename for f in again.files] == sorted(parts)
    assert all(f.already_present for f in again.files)


def test_into_a_folder_and_a_small_git_file(
    hub_server: HubServer, repo: str, data: bytes, tmp_path: Path, waits: list[float]
) -> None:
    folder = tmp_path / "models"
    result = download_files(
        HubFiles(REPO, (NAME, "README.md")), folder,
        endpoint=hub_server.endpoint, policy=RetryPolicy(sleep=waits.append),
    )
    assert (folder / NAME).read_bytes() == data and (folder / "README.md").read_bytes() == b"# card\n"
    assert result.files[1].sha256 is None  # not LFS: verified against its git blob id instead
    assert not list((folder / ".cache" / "picker").glob("*.part"))
    # A file changed behind picker's back is re-checked and replaced.
    (folder / NAME).write_bytes(b"x" * SIZE)
    again = download_files(HubFiles(REPO, (NAME,)), folder, endpoint=hub_server.endpoint)
    assert not again.files[0].already_present and (folder / NAME).read_bytes() == data


def test_an_unreachable_hub_fails_at_once(cache: Path, waits: list[float]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(NetworkError, match=r"cannot reach the Hub at http://127\.0\.0\.1"):
        download_target(f"hf://{REPO}/{NAME}", endpoint=f"http://127.0.0.1:{port}", cache_dir=cache,
                        policy=RetryPolicy(sleep=waits.append))
    assert time.monotonic() - started < 3 and waits == []


@pytest.mark.parametrize("how", ["keyboard_interrupt", "cancel_event"])
def test_interrupted_from_the_progress_callback_then_resumed(
    hub_server: HubServer, repo: str, data: bytes, cache: Path, waits: list[float], how: str
) -> None:
    """The TUI cancels (or Ctrl-C lands) between two chunks: the part and its hash state stay."""
    import threading

    from picker.errors import InterruptedByUserError
    from picker.hub import ProgressEvent
    from picker.hub.hashing import state_saving_available

    cancel = threading.Event()

    def cancel_at_half(event: ProgressEvent) -> None:
        if event.kind == "progress" and event.done_bytes >= SIZE // 2:
            if how == "cancel_event":
                cancel.set()
            else:
                raise KeyboardInterrupt

    hub_server.hooks.append(slow_body(10_000_000))  # flushed to disk every 0.25 s: ~2.5 MB steps
    with pytest.raises(InterruptedByUserError) as caught:
        get(hub_server, cache, waits, progress=cancel_at_half, cancel=cancel)
    assert caught.value.exit_code == 130 and "resume" in caught.value.message
    kept = part_path(cache, data).stat().st_size
    assert SIZE // 2 <= kept < SIZE
    state = part_path(cache, data).with_name(part_path(cache, data).name + ".state")
    assert state.exists() == state_saving_available()
    hub_server.hooks.clear()
    result = get(hub_server, cache, waits)
    assert result.files[0].resumed_from_bytes == kept
    assert_verified_or_absent(cache, data, present=True)
    assert not state.exists()


def test_a_complete_part_left_by_a_killed_run_is_verified_not_fetched(
    hub_server: HubServer, repo: str, data: bytes, cache: Path, waits: list[float]
) -> None:
    part = part_path(cache, data)
    part.parent.mkdir(parents=True)
    part.write_bytes(data)  # the process died between the last byte and the rename
    result = get(hub_server, cache, waits)
    assert result.files[0].resumed_from_bytes == SIZE and cdn_ranges(hub_server) == []
    assert_verified_or_absent(cache, data, present=True)


def test_a_folder_that_cannot_be_written_is_one_clear_error(
    hub_server: HubServer, repo: str, tmp_path: Path, waits: list[float]
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(RuntimeFailureError, match=r"cannot write .*not-a-folder"):
        download_files(HubFiles(REPO, (NAME,)), blocker / "models", endpoint=hub_server.endpoint,
                       policy=RetryPolicy(sleep=waits.append))


def test_an_expired_cdn_link_is_asked_for_again(
    hub_server: HubServer, repo: str, data: bytes, cache: Path, waits: list[float]
) -> None:
    hub_server.hooks.append(error_status(403, times=1))
    get(hub_server, cache, waits)
    heads = [r for r in hub_server.requests if r.server == "hub" and r.method == "HEAD"]
    assert len(heads) == 2 and waits == []
    assert_verified_or_absent(cache, data, present=True)


def test_a_file_huggingface_hub_downloaded_is_checked_once_and_reused(
    hub_server: HubServer, repo: str, data: bytes, cache: Path, waits: list[float]
) -> None:
    from huggingface_hub import hf_hub_download

    hf_hub_download(REPO, NAME, cache_dir=cache)
    hub_server.clear_log()
    events: list[Any] = []
    result = get(hub_server, cache, waits, progress=events.append)
    assert result.files[0].already_present and cdn_ranges(hub_server) == []
    hashed = [e.done_bytes for e in events if e.kind == "verifying" and e.message is None]
    assert hashed and hashed[-1] == SIZE
    events.clear()
    get(hub_server, cache, waits, progress=events.append)  # now on record: not hashed again
    assert not [e for e in events if e.kind == "verifying"]


def test_rate_limits_wait_as_long_as_the_hub_asks(
    hub_server: HubServer, repo: str, data: bytes, cache: Path, waits: list[float]
) -> None:
    hub_server.hooks.append(error_status(429, times=1, retry_after_seconds=7))
    hub_server.hooks.append(error_status(500, times=1, server="hub", method="POST"))  # paths-info
    get(hub_server, cache, waits)
    assert waits == [0.5, 7.0]
    assert_verified_or_absent(cache, data, present=True)


def test_a_server_that_ignores_range_restarts_the_file_cleanly(
    hub_server: HubServer, repo: str, data: bytes, cache: Path, waits: list[float]
) -> None:
    def ignore_range(handler: Any, record: Any) -> bool:
        if record.server == "cdn" and "Range" in handler.headers:
            del handler.headers["Range"]  # answer 200 with the whole file, as some proxies do
        return False

    hub_server.hooks.extend([cut_connection(3_000_000, times=1), ignore_range])
    result = get(hub_server, cache, waits)
    assert cdn_ranges(hub_server) == [None, "bytes=3000000-"]
    assert [r.status for r in hub_server.requests if r.server == "cdn"] == [200, 200]
    assert result.files[0].resumed_from_bytes == 0
    assert_verified_or_absent(cache, data, present=True)


def test_a_file_already_there_needs_no_free_space(
    hub_server: HubServer, repo: str, data: bytes, cache: Path, waits: list[float],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from huggingface_hub import hf_hub_download

    hf_hub_download(REPO, NAME, cache_dir=cache)
    monkeypatch.setattr(storage, "free_bytes", lambda folder: 0)
    assert get(hub_server, cache, waits).files[0].already_present


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_without_the_hub_a_verified_copy_is_handed_over_with_a_warning(
    hub_server: HubServer, repo: str, data: bytes, cache: Path, tmp_path: Path, waits: list[float]
) -> None:
    first = get(hub_server, cache, waits)
    folder = tmp_path / "models"
    download_files(HubFiles(REPO, (NAME,)), folder, endpoint=hub_server.endpoint)
    gone = f"http://127.0.0.1:{_closed_port()}"
    offline = download_target(f"hf://{REPO}/{NAME}", endpoint=gone, cache_dir=cache)
    assert offline.path == first.path and offline.files[0].already_present
    assert offline.files[0].sha256 == hashlib.sha256(data).hexdigest()
    assert "cannot reach the Hub" in offline.warnings[0] and "verified earlier" in offline.warnings[0]
    in_folder = download_files(HubFiles(REPO, (NAME,)), folder, endpoint=gone)
    assert in_folder.path == folder / NAME
    (folder / NAME).write_bytes(b"changed")  # no longer what was verified: no fallback
    with pytest.raises(NetworkError):
        download_files(HubFiles(REPO, (NAME,)), folder, endpoint=gone)
    with pytest.raises(NetworkError):  # never downloaded
        download_target(f"hf://{REPO}/README.md", endpoint=gone, cache_dir=cache)

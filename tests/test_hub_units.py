"""Pieces of the downloader that need no server: targets, split names, resumable hashing, progress."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import pytest

from picker.errors import UsageError
from picker.hub.hasher import CHECKPOINT_EVERY_BYTES, Hasher
from picker.hub.hashing import new_git_blob_sha1, new_sha256, state_saving_available
from picker.hub.progress import JsonLines, ProgressEvent, ProgressTracker, StderrBar
from picker.hub.target import parse_target, split_parts


def test_target_with_revision_and_folder() -> None:
    files = parse_target("hf://owner/repo-GGUF/sub/dir/model-Q4_K_M.gguf@v1.0")
    assert files.repo_id == "owner/repo-GGUF"
    assert files.filenames == ("sub/dir/model-Q4_K_M.gguf",)
    assert files.revision == "v1.0"


def test_target_defaults_to_main() -> None:
    assert parse_target("hf://o/r/m.gguf").revision == "main"


@pytest.mark.parametrize(
    "text", ["o/r/m.gguf", "hf://o/r", "hf://o//m.gguf", "hf://o/r/m.gguf@", "hf://o/r/../m.gguf", "hf://o/r/"]
)
def test_bad_targets_say_how_to_write_one(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_target(text)
    assert "hf://" in caught.value.message or "may not" in caught.value.message


def test_any_part_of_a_split_brings_every_part() -> None:
    parts = split_parts("q/Model-Q8_0-00002-of-00003.gguf")
    assert parts == (
        "q/Model-Q8_0-00001-of-00003.gguf",
        "q/Model-Q8_0-00002-of-00003.gguf",
        "q/Model-Q8_0-00003-of-00003.gguf",
    )
    assert split_parts("model-Q8_0.gguf") == ("model-Q8_0.gguf",)
    assert split_parts("bad-00004-of-00003.gguf") == ("bad-00004-of-00003.gguf",)


def test_saved_sha256_state_continues_in_a_new_object() -> None:
    data = os.urandom(1_000_003)
    first = new_sha256()
    first.update(data[:400_001])
    state = first.state()
    if not state_saving_available():
        assert state is None
        return
    assert state is not None
    second = new_sha256(state)
    second.update(data[400_001:])
    assert second.hexdigest() == hashlib.sha256(data).hexdigest()


def test_git_blob_id_matches_git() -> None:
    running = new_git_blob_sha1(5)
    running.update(b"hello")
    assert running.hexdigest() == "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0"  # git hash-object


def _hash_with(tmp_path: Path, data: bytes, prefix: int, feed_from: int) -> Hasher:
    part = tmp_path / "f.part"
    part.write_bytes(data[:prefix])
    sha = hashlib.sha256(data).hexdigest()
    hasher = Hasher(part, tmp_path / "f.part.state", sha, sha, len(data), prefix)
    for start in range(feed_from, len(data), 1 << 20):
        hasher.feed(data[start : start + (1 << 20)])
    return hasher


def test_hasher_resumes_from_saved_state_and_from_disk(tmp_path: Path) -> None:
    data = os.urandom(CHECKPOINT_EVERY_BYTES + 3_000_000)
    sha = hashlib.sha256(data).hexdigest()
    first = _hash_with(tmp_path, data, 0, 0)
    assert first.finish() == sha
    # A run that stopped after the checkpoint: the next one restores the state and hashes
    # only what lies past it on disk, then the new chunks.
    part_bytes = CHECKPOINT_EVERY_BYTES + 1_000_000
    second = _hash_with(tmp_path, data, part_bytes, part_bytes)
    if state_saving_available():
        saved = json.loads((tmp_path / "f.part.state").read_text())
        assert saved["offset"] == CHECKPOINT_EVERY_BYTES
        assert second.restored_bytes == CHECKPOINT_EVERY_BYTES
    assert second.finish() == sha


def test_hasher_ignores_a_state_for_other_content(tmp_path: Path) -> None:
    data = os.urandom(3_000_000)
    (tmp_path / "f.part.state").write_text(json.dumps({"content_id": "other", "offset": 10, "state": "00"}))
    hasher = _hash_with(tmp_path, data, 1_000_000, 1_000_000)
    assert hasher.restored_bytes == 0
    assert hasher.finish() == hashlib.sha256(data).hexdigest()


def test_progress_rate_eta_and_renderers() -> None:
    events: list[ProgressEvent] = []
    tracker = ProgressTracker(events.append, "m.gguf", 1, 2, 1000, max_per_second=1e9)
    tracker.start(100)
    tracker.advance(400)
    tracker.advance(1000)
    last = events[-1]
    assert last.done_bytes == 1000 and last.resumed_from_bytes == 100
    assert last.eta_seconds == 0.0
    lines = io.StringIO()
    JsonLines(lines)(last)
    parsed = json.loads(lines.getvalue())
    assert parsed["event"] == "progress" and parsed["total_bytes"] == 1000
    bar = io.StringIO()
    StderrBar(bar)(last)
    assert "[1/2] m.gguf" in bar.getvalue() and "100.0%" in bar.getvalue()


def test_timeouts_follow_huggingface_hubs_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    from picker.hub.settings import resolve_settings

    monkeypatch.setenv("HF_HUB_DOWNLOAD_TIMEOUT", "42")
    monkeypatch.setenv("HF_HUB_ETAG_TIMEOUT", "nonsense")
    policy = resolve_settings(token="").policy
    assert policy.read_timeout_seconds == 42.0 and policy.connect_timeout_seconds == 10.0
    assert [policy.wait_seconds(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.0, 2.0, 4.0, 4.0]


def test_cache_folder_follows_hf_variables(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from picker.hub.settings import default_cache_dir

    monkeypatch.setenv("HF_HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
    assert default_cache_dir() == tmp_path / "cache"


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_bar_redraws_one_line_on_a_terminal() -> None:
    screen = _Terminal()
    bar = StderrBar(screen)
    tracker = ProgressTracker(bar, "m.gguf", 1, 1, 2000, max_per_second=1e9)
    tracker.start(0)
    tracker.advance(1000)
    tracker.event("retry", "connection lost at 1000 B; resuming in 0.5 s")
    tracker.advance(2000)
    tracker.event("done")
    text = screen.getvalue()
    assert text.count("\r") == 2 and " 50.0% " in text and "100.0%" in text
    assert "\nm.gguf" not in text and "\n[1/1] m.gguf: connection lost" in text  # message on its own line
    assert text.endswith("[1/1] m.gguf: done, sha256 verified\n")

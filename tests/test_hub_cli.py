"""`picker download` as a process: killed, interrupted, run twice at once, and its output contract."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.cli_helpers import run_picker
from tests.hub_server import HubServer, pause_body

REPO = "owner/model-GGUF"
NAME = "model-Q4_K_M.gguf"
TARGET = f"hf://{REPO}/{NAME}"
SIZE = 12_000_000
RATE = 6_000_000  # bytes per second: a 2-second download, long enough to stop it midway


@pytest.fixture
def data(hub_server: HubServer) -> bytes:
    payload = os.urandom(SIZE)
    hub_server.add_repo(REPO, {NAME: payload})
    return payload


def hub_cache() -> Path:
    return Path(os.environ["HF_HOME"]) / "hub" / f"models--{REPO.replace('/', '--')}"


def part_of(data: bytes) -> Path:
    return hub_cache() / "blobs" / (hashlib.sha256(data).hexdigest() + ".part")


def final_of(data: bytes) -> Path:
    return hub_cache() / "blobs" / hashlib.sha256(data).hexdigest()


def start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "picker", "download", TARGET, *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )


def assert_verified_or_absent(data: bytes) -> None:
    final = final_of(data)
    if final.exists():
        assert hashlib.sha256(final.read_bytes()).hexdigest() == hashlib.sha256(data).hexdigest()


def cdn_gets(hub_server: HubServer) -> list[str | None]:
    return [r.range for r in hub_server.requests if r.server == "cdn" and r.method == "GET"]


def wait_until(condition: Callable[[], bool], process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def part_size(data: bytes) -> int:
    path = part_of(data)
    return path.stat().st_size if path.exists() else 0


def test_killed_with_sigkill_then_resumed_fetches_only_the_missing_bytes(
    hub_server: HubServer, data: bytes
) -> None:
    release = threading.Event()
    pause_at = random.randint(3_000_000, SIZE - 1_000_000)
    hub_server.hooks.append(pause_body(pause_at, release, bytes_per_second=RATE))
    process = start("--json")
    try:
        wait_until(lambda: part_size(data) >= 1_000_000, process)
        time.sleep(random.uniform(0.0, 0.4))  # somewhere before, at or after the pause
        process.kill()
        process.communicate()
    finally:
        release.set()
    kept = part_size(data)
    assert 0 < kept <= pause_at
    assert not final_of(data).exists()
    hub_server.hooks.clear()
    hub_server.clear_log()
    resumed = run_picker("download", TARGET, "--json")
    assert resumed.returncode == 0, resumed.stderr
    document = resumed.json()["download"]
    assert document["resumed_from_bytes"] == kept and document["fetched_bytes"] == SIZE - kept
    assert cdn_gets(hub_server) == [f"bytes={kept}-"]
    assert Path(document["path"]).read_bytes() == data
    assert_verified_or_absent(data)


def test_ctrl_c_exits_130_keeping_every_byte_received(hub_server: HubServer, data: bytes) -> None:
    release = threading.Event()
    hub_server.hooks.append(pause_body(5_000_000, release, bytes_per_second=RATE))
    process = start()
    try:
        wait_until(lambda: part_size(data) >= 1_000_000, process)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        release.set()
    assert process.returncode == 130
    lines = [line for line in stderr.splitlines() if line.startswith("picker: error:")]
    assert len(lines) == 1 and "kept in" in lines[0] and "resume" in lines[0], stderr
    assert "Traceback" not in stderr
    assert 1_000_000 <= part_size(data) <= 5_000_000  # flushed on the way out
    assert not final_of(data).exists()


def test_two_downloads_of_one_file_at_once(hub_server: HubServer, data: bytes) -> None:
    release = threading.Event()
    hub_server.hooks.append(pause_body(2_000_000, release))
    first = start("--json")
    second: subprocess.Popen[str] | None = None
    try:
        wait_until(lambda: bool(cdn_gets(hub_server)), first)  # the first holds the lock
        second = start("--json")
        wait_until(lambda: len(hub_server.requests_to("/paths-info/", "POST")) == 2, second)
        time.sleep(1.0)  # the second is now at the lock
    finally:
        release.set()
    assert second is not None
    outputs = [process.communicate(timeout=60) for process in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    documents = [json.loads(stdout)["download"] for stdout, _ in outputs]
    assert documents[0]["fetched_bytes"] == SIZE
    assert documents[1]["files"][0]["already_present"] is True
    assert '"waiting_for_lock"' in outputs[1][1]
    assert cdn_gets(hub_server) == [None]  # the file crossed the wire once
    assert_verified_or_absent(data)
    assert Path(documents[1]["path"]).read_bytes() == data


def test_json_progress_on_stderr_and_one_document_on_stdout(hub_server: HubServer, data: bytes) -> None:
    result = run_picker("download", TARGET, "--json")
    assert result.returncode == 0, result.stderr
    document = result.json()
    assert document["schema_version"] >= 1
    download = document["download"]
    assert download["size_bytes"] == SIZE and download["sha256"] == hashlib.sha256(data).hexdigest()
    assert download["seconds"] > 0 and download["resumed_from_bytes"] == 0
    events = [json.loads(line) for line in result.stderr.splitlines() if line.startswith("{")]
    kinds = [event["event"] for event in events]
    assert kinds[0] == "resolved" and kinds[-1] == "done" and "progress" in kinds
    assert events[-2]["done_bytes"] == SIZE and events[-2]["total_bytes"] == SIZE


def test_people_get_a_summary_and_a_clear_error(hub_server: HubServer, data: bytes, tmp_path: Path) -> None:
    result = run_picker("download", TARGET, "--dir", str(tmp_path / "models"))
    assert result.returncode == 0, result.stderr
    assert "sha256" in result.stdout and str(tmp_path / "models" / NAME) in result.stdout
    assert (tmp_path / "models" / NAME).read_bytes() == data
    missing = run_picker("download", f"hf://{REPO}/other.gguf")
    assert missing.returncode == 3
    assert missing.stderr.count("\n") == 1 and "other.gguf not found" in missing.stderr


def test_an_unreachable_hub_is_reported_at_once() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    started = time.monotonic()
    result = run_picker("download", TARGET, env={"HF_ENDPOINT": f"http://127.0.0.1:{port}"})
    assert result.returncode == 4
    assert "cannot reach the Hub" in result.stderr and result.stderr.count("\n") == 1
    assert time.monotonic() - started < 15


def test_hf_token_from_the_environment_opens_a_gated_repo_and_is_never_printed(
    hub_server: HubServer,
) -> None:
    secret = "hf_" + "s3cr3t" * 6
    hub_server.add_repo(REPO, {NAME: os.urandom(100_000)}, gated=True)
    hub_server.tokens.add(secret)
    wrong = run_picker("download", TARGET, "--json", env={"HF_TOKEN": "hf_" + "wrong" * 6})
    assert wrong.returncode == 3 and "request access" in wrong.stderr
    allowed = run_picker("download", TARGET, "--json", env={"HF_TOKEN": secret})
    assert allowed.returncode == 0, allowed.stderr
    for result in (wrong, allowed):
        printed = result.stdout + result.stderr
        assert "s3cr3t" not in printed and "wrongwrong" not in printed
    assert any(r.authorization == f"Bearer {secret}" for r in hub_server.requests if r.server == "hub")


def test_a_catalog_id_downloads_the_catalog_file(hub_server: HubServer) -> None:
    """`MODEL_ID:QUANT` goes through the catalog's hook; the Hub's file wins over a stale size."""
    from picker.catalog import hub_files
    from picker.catalog.loader import load_catalog
    from picker.errors import PickerError

    def single_file_ids() -> Iterator[tuple[str, Any]]:
        for model in load_catalog().models:
            for quant in model.quantizations:
                catalog_id = f"{model.id}:{quant.type}"
                try:
                    files = hub_files(catalog_id)
                except PickerError:  # local models, unknown split names
                    continue
                if len(files.filenames) == 1:
                    yield catalog_id, files

    found = next(single_file_ids(), None)
    assert found is not None, "the catalog has no downloadable quantization"
    catalog_id, files = found
    payload = os.urandom(200_000)
    hub_server.add_repo(files.repo_id, {files.filenames[0]: payload})
    result = run_picker("download", catalog_id, "--json")
    assert result.returncode == 0, result.stderr
    assert Path(result.json()["download"]["path"]).read_bytes() == payload
    if files.expected_sizes:
        assert "the catalog expects" in result.stderr


def test_offline_mode_hands_over_the_verified_file(hub_server: HubServer, data: bytes) -> None:
    assert run_picker("download", TARGET).returncode == 0
    hub_server.clear_log()
    offline = run_picker("download", TARGET, "--json", env={"HF_HUB_OFFLINE": "1"})
    assert offline.returncode == 0, offline.stderr
    assert "HF_HUB_OFFLINE" in offline.stderr and hub_server.requests == []
    assert Path(offline.json()["download"]["path"]).read_bytes() == data
    missing = run_picker("download", f"hf://{REPO}/other.gguf", env={"HF_HUB_OFFLINE": "1"})
    assert missing.returncode == 4 and "HF_HUB_OFFLINE" in missing.stderr

"""Ctrl-C stops `picker download` within a second in every phase, keeping what can be resumed.

The real CLI in a child process against the stand-in Hub, made slow or broken in the
phase under test; SIGINT is sent once the download is in that phase.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli_helpers import run_picker
from tests.hub_server import Fault, HubServer, Lies, error_status, slow_body
from tests.test_hub_cli import wait_until

REPO = "owner/model-GGUF"
NAME = "model-Q4_K_M.gguf"
PAYLOAD = os.urandom(4_000_000)
SHA = hashlib.sha256(PAYLOAD).hexdigest()
EXIT_WITHIN_SECONDS = 1.0


def storage() -> Path:
    return Path(os.environ["HF_HOME"]) / "hub" / f"models--{REPO.replace('/', '--')}"


def start() -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "picker", "download", f"hf://{REPO}/{NAME}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )


def interrupt(process: subprocess.Popen[str]) -> tuple[float, str]:
    """SIGINT; the seconds until the process ended, and its stderr."""
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    elapsed = time.monotonic() - sent
    _, stderr = process.communicate()
    return elapsed, stderr


def assert_stopped_cleanly(process: subprocess.Popen[str], elapsed: float, stderr: str) -> None:
    assert process.returncode == 130, stderr
    assert elapsed < EXIT_WITHIN_SECONDS, f"took {elapsed:.2f} s to stop"
    errors = [line for line in stderr.splitlines() if line.startswith("picker: error:")]
    assert len(errors) == 1 and "interrupted" in errors[0], stderr
    assert "Traceback" not in stderr
    assert not (storage() / "blobs" / SHA).exists()  # nothing unverified at the final path


def hang(server: str, method: str) -> Fault:
    """A server that takes the request and never answers (until the test ends)."""
    return Fault(lambda handler, _: time.sleep(30), server=server, method=method, times=None)


@pytest.fixture
def hub(hub_server: HubServer) -> HubServer:
    hub_server.add_repo(REPO, {NAME: PAYLOAD})
    return hub_server


def test_while_connecting(hub: HubServer) -> None:
    hub.hooks.append(hang("hub", "HEAD"))
    process = start()
    wait_until(lambda: bool(hub.requests_to("/resolve/", "HEAD")), process)
    time.sleep(0.2)
    assert_stopped_cleanly(process, *interrupt(process))


def test_while_waiting_for_another_download(hub: HubServer) -> None:
    from filelock import FileLock

    lock_path = Path(os.environ["HF_HOME"]) / "hub" / ".locks" / storage().name / f"{SHA}.lock"
    lock_path.parent.mkdir(parents=True)
    with FileLock(str(lock_path)):
        process = start()
        wait_until(lambda: bool(hub.requests_to("/paths-info/", "POST")), process)
        time.sleep(0.5)  # past the paths-info answer, into the wait for the lock
        assert_stopped_cleanly(process, *interrupt(process))


def test_while_transferring_and_the_part_resumes(hub: HubServer) -> None:
    hub.hooks.append(slow_body(bytes_per_second=64 * 1024, step_bytes=8 * 1024))
    process = start()
    part = storage() / "blobs" / f"{SHA}.part"
    wait_until(lambda: part.exists() and part.stat().st_size > 64 * 1024, process)
    assert_stopped_cleanly(process, *interrupt(process))
    kept = part.stat().st_size
    assert 0 < kept < len(PAYLOAD)
    hub.hooks.clear()
    resumed = run_picker("download", f"hf://{REPO}/{NAME}", "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.json()["download"]["resumed_from_bytes"] == kept


def test_while_waiting_to_retry(hub: HubServer) -> None:
    hub.hooks.append(error_status(500, times=None))
    process = start()
    wait_until(lambda: bool(hub.requests_to("/blobs/", "GET")), process)
    time.sleep(0.2)  # inside the back-off wait after the first 500
    assert_stopped_cleanly(process, *interrupt(process))


def test_while_hashing_a_file_already_in_place(hub: HubServer) -> None:
    """A file of the right size at the final path (another tool's copy) is hashed before it is
    trusted; the Hub here claims 3 GiB, so the hash of the sparse stand-in takes seconds."""
    size = 3 * 1024**3
    hub.lies = Lies(sha256="0" * 64, size=size)
    blob = storage() / "blobs" / ("0" * 64)
    blob.parent.mkdir(parents=True)
    with open(blob, "wb") as handle:
        handle.truncate(size)
    lock = Path(os.environ["HF_HOME"]) / "hub" / ".locks" / storage().name / f"{'0' * 64}.lock"
    process = start()
    wait_until(lock.exists, process)
    time.sleep(0.3)  # inside the hash of the existing file
    elapsed, stderr = interrupt(process)
    assert process.returncode == 130, stderr
    assert elapsed < EXIT_WITHIN_SECONDS, f"took {elapsed:.2f} s to stop"
    assert "checking the sha256 of the existing" in stderr and "Traceback" not in stderr, stderr
    assert blob.stat().st_size == size  # the file in place is left as it was

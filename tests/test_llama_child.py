"""The one llama.cpp child both the runtime and the memory plan's dry run use.

Ctrl-C in the parent kills the child at once (it ignores SIGINT and runs in its own
session, so nothing else would end it), and a dry run reports llama.cpp's own lines
through the same child the smoke test loads models in.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import psutil
import pytest

from picker.llama_child.process import ChildProcess
from picker.llama_settings import LlamaSettings
from picker.memory.llama_probe import ProbeRequest, run_probe
from picker.memory.synthetic import SyntheticModel, write_model


def _llama_children() -> list[psutil.Process]:
    return [child for child in psutil.Process().children(recursive=True)
            if "picker.llama_child.worker" in " ".join(child.cmdline())]


def _gone(processes: list[psutil.Process]) -> bool:
    _, alive = psutil.wait_procs(processes, timeout=1)
    return all(process.status() == psutil.STATUS_ZOMBIE for process in alive)


def test_ctrl_c_during_a_dry_run_kills_the_child(tmp_path: Path) -> None:
    spec = SyntheticModel("interrupted", n_layer=2, n_embd=256, n_vocab=4096)
    path = write_model(spec, tmp_path / "interrupted.gguf")
    seen: list[psutil.Process] = []

    def press_ctrl_c() -> None:
        deadline = time.monotonic() + 30
        while not seen and time.monotonic() < deadline:  # the child is importing llama.cpp
            seen.extend(_llama_children())
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=press_ctrl_c, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        run_probe(ProbeRequest(str(path), contexts=(LlamaSettings(n_ctx=1024),)))
        time.sleep(30)  # the probe finished before the signal came: wait for it to fail here
    assert seen, "the dry run's child never started"
    assert time.monotonic() - started < 30
    assert _gone(seen), "llama.cpp's child outlived the interrupted dry run"


def test_a_child_left_by_an_exception_is_killed_and_one_left_in_peace_exits() -> None:
    with pytest.raises(RuntimeError), ChildProcess() as child:
        raise RuntimeError("the caller failed")
    assert child.process.poll() is not None
    with ChildProcess() as polite:
        pass
    assert polite.process.returncode is not None


def test_a_dry_run_goes_through_the_runtime_child(tmp_path: Path) -> None:
    spec = SyntheticModel("shared", n_layer=2, n_embd=256, n_head=4, n_head_kv=2, head_dim=64,
                          n_ff=512, n_vocab=4096)
    path = write_model(spec, tmp_path / "shared.gguf")
    first, refused = run_probe(ProbeRequest(str(path), contexts=(
        LlamaSettings(n_ctx=1024), LlamaSettings(n_ctx=1024, type_k="q8_0", type_v="q8_0"))))
    assert first.ok and first.log.kv_cache_bytes == 2 * 1024 * 128 * 2 * 2
    assert any("llama_model_loader" in line for line in first.lines)
    assert not refused.ok and refused.error is not None and "flash_attn" in refused.error
    missing = run_probe(ProbeRequest(str(tmp_path / "missing.gguf")))
    assert [result.error for result in missing] == [f"no such file: {tmp_path / 'missing.gguf'}"]
    assert not _llama_children()

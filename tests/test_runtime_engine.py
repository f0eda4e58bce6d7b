"""The llama.cpp engine in its child process: real loads, real generation, real failures."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from picker.errors import RuntimeFailureError
from picker.llama_settings import LlamaSettings
from picker.memory.llama_log import parse_llama_log
from picker.runtime.engine import LlamaEngine
from picker.runtime.settings import RuntimeLimits

pytest_plugins = ["tests.runtime_models"]

SMALL = LlamaSettings(n_ctx=512, n_threads=1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); /proc says whether it has really ended.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


def test_a_tiny_model_loads_and_streams_text(tiny_path: Path) -> None:
    with LlamaEngine(tiny_path, SMALL) as engine:
        report = engine.load_report
        assert report is not None
        assert report.architecture == "llama"
        assert report.n_ctx == 512
        assert report.has_chat_template is False
        assert report.peak_rss_bytes is not None and report.peak_rss_bytes > 10_000_000
        pieces = list(engine.complete("hello world", max_tokens=12))
        stats = engine.last_stats
    assert stats is not None
    assert "".join(pieces) == stats.text
    assert len(pieces) >= 2
    assert stats.prompt_tokens >= 3  # BOS + "hello" + "world"
    assert 1 <= stats.generated_tokens <= 12
    assert stats.generation_tokens_per_second is not None
    assert stats.generation_tokens_per_second > 0
    assert stats.stopped is False


def test_the_load_log_carries_the_buffer_sizes(tiny_path: Path) -> None:
    with LlamaEngine(tiny_path, SMALL) as engine:
        assert engine.load_report is not None
        log = parse_llama_log(engine.load_report.log_lines)
    # 2 layers x 512 cells x 64 wide x (K + V) x f16
    assert log.bytes_of("kv") == 2 * 512 * 64 * 2 * 2
    assert log.bytes_of("model") > 0
    assert log.bytes_of("compute") > 0


def test_chat_uses_the_models_own_template(tiny_chat_path: Path) -> None:
    with LlamaEngine(tiny_chat_path, SMALL) as engine:
        assert engine.load_report is not None and engine.load_report.has_chat_template
        text = "".join(engine.chat([{"role": "system", "content": "be brief"},
                                    {"role": "user", "content": "hello world"}], max_tokens=8))
        stats = engine.last_stats
    assert stats is not None and stats.text == text
    # "<s>system: be brief\n<s>user: hello world\nassistant:" is far longer than the bare question
    assert stats.prompt_tokens > 12


def test_stop_ends_an_answer_and_the_next_one_still_works(tiny_path: Path) -> None:
    settings = LlamaSettings(n_ctx=4096, n_threads=1)
    with LlamaEngine(tiny_path, settings) as engine:
        received = []
        for piece in engine.complete("the model", max_tokens=3000):
            received.append(piece)
            if len(received) == 3:
                engine.stop()
        first = engine.last_stats
        assert first is not None and first.stopped
        assert first.generated_tokens < 3000
        list(engine.complete("hello", max_tokens=4))
        second = engine.last_stats
    assert second is not None and not second.stopped


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        ("corrupt_path", "not a valid GGUF file: invalid magic characters"),
        ("truncated_path", "truncated or corrupted"),
        ("alien_path", "does not support the model architecture 'no-such-architecture'"),
    ],
)
def test_a_model_that_cannot_load_fails_with_llama_cpps_reason(
    fixture: str, expected: str, request: pytest.FixtureRequest
) -> None:
    path = request.getfixturevalue(fixture)
    engine = LlamaEngine(path, SMALL)
    with pytest.raises(RuntimeFailureError) as caught:
        engine.start()
    assert expected in caught.value.message
    assert "\n" not in caught.value.message
    assert engine.pid is not None and not _alive(engine.pid)


def test_the_load_time_limit_kills_the_child(tiny_path: Path) -> None:
    engine = LlamaEngine(tiny_path, SMALL, RuntimeLimits(load_seconds=0.05))
    started = time.monotonic()
    with pytest.raises(RuntimeFailureError, match=r"loading the model took longer than the 0\.05 s"):
        engine.start()
    assert time.monotonic() - started < 5
    assert engine.pid is not None and not _alive(engine.pid)


def test_the_generation_time_limit_kills_the_child(tiny_path: Path) -> None:
    limits = RuntimeLimits(generation_seconds=0.05)  # 4000 tokens take far longer anywhere
    engine = LlamaEngine(tiny_path, LlamaSettings(n_ctx=4096, n_threads=1), limits)
    engine.start()
    received: list[str] = []
    with pytest.raises(RuntimeFailureError, match=r"generating took longer than the 0\.05 s limit"):
        received.extend(engine.complete("the model", max_tokens=4000))
    assert engine.pid is not None and not _alive(engine.pid)
    engine.close()


def test_a_killed_child_is_reported_and_the_parent_lives_on(tiny_path: Path) -> None:
    engine = LlamaEngine(tiny_path, LlamaSettings(n_ctx=4096, n_threads=1))
    engine.start()
    assert engine.pid is not None
    with pytest.raises(RuntimeFailureError, match=r"was killed \(SIGKILL") as caught:
        for index, _piece in enumerate(engine.complete("the model", max_tokens=4000)):
            if index == 2:
                os.kill(engine.pid, signal.SIGKILL)
    assert "while generating" in caught.value.message
    engine.close()
    with pytest.raises(RuntimeFailureError):
        list(engine.complete("again", max_tokens=2))


def test_the_child_ends_when_the_parent_goes_away(tiny_path: Path) -> None:
    engine = LlamaEngine(tiny_path, LlamaSettings(n_ctx=4096, n_threads=1))
    engine.start()
    assert engine.pid is not None
    stream = engine.complete("the model", max_tokens=4000)
    next(stream)
    child = engine._child
    assert child is not None and child.process.stdin is not None
    child.process.stdin.close()  # what the OS does when the parent dies
    child.process.wait(timeout=10)
    assert not _alive(engine.pid)


def test_a_native_abort_is_contained_and_explained(aborting_path: Path) -> None:
    engine = LlamaEngine(aborting_path, SMALL)
    with pytest.raises(RuntimeFailureError) as caught:
        engine.start()
    message = caught.value.message
    assert "GGML_ASSERT(id_to_token.size() == token_to_id.size()) failed" in message
    assert "aborted (SIGABRT) while loading the model" in message
    assert "\n" not in message


def test_out_of_memory_is_insufficient_resources_with_llama_cpps_numbers(tiny_path: Path) -> None:
    import psutil

    from picker.errors import InsufficientResourcesError

    # The KQ part of the compute buffer is 4 bytes x n_ctx x n_head (4) x n_ubatch: ask for
    # twice RAM + swap, so the allocation itself fails (nothing is touched; the KV cache
    # stays a few hundred MB) and llama.cpp logs it.
    ubatch = 4096
    ram_and_swap = psutil.virtual_memory().total + psutil.swap_memory().total
    n_ctx = (2 * ram_and_swap // (4 * 4 * ubatch) // 256 + 1) * 256
    settings = LlamaSettings(n_ctx=n_ctx, n_batch=ubatch, n_ubatch=ubatch, n_threads=1)
    engine = LlamaEngine(tiny_path, settings)
    with pytest.raises(InsufficientResourcesError) as caught:
        engine.start()
    assert caught.value.message.startswith("not enough memory for this model at these settings")
    assert "attempted to allocate" in caught.value.message


def test_an_answer_that_cannot_fit_the_context_is_an_error_and_the_model_stays(
    tiny_path: Path,
) -> None:
    with LlamaEngine(tiny_path, SMALL) as engine:
        with pytest.raises(RuntimeFailureError, match=r"exceed context window of 512"):
            list(engine.complete("hello " * 600, max_tokens=4))
        assert list(engine.complete("hello", max_tokens=4))  # still loaded, still answers

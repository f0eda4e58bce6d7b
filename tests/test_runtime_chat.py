"""`picker chat` driven through a pseudo-terminal: streamed answers, Ctrl-C, /exit, Ctrl-D."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pty_session import PtySession

pytest_plugins = ["tests.runtime_models"]


@pytest.fixture
def chat_env() -> dict[str, str]:
    return {**os.environ, "TERM": "dumb"}


@pytest.fixture
def sessions() -> Iterator[list[PtySession]]:
    opened: list[PtySession] = []
    yield opened
    for session in opened:
        session.close()


def start_chat(sessions: list[PtySession], env: dict[str, str], *args: str) -> PtySession:
    session = PtySession([sys.executable, "-m", "picker", "chat", *args], env)
    sessions.append(session)
    return session


def test_chat_streams_answers_with_the_models_template(
    tiny_chat_path: Path, chat_env: dict[str, str], sessions: list[PtySession]
) -> None:
    chat = start_chat(sessions, chat_env, str(tiny_chat_path), "--system", "be brief",
                      "--max-tokens", "16", "--temperature", "0")
    chat.expect(r"loaded in [0-9.]+ s")
    chat.expect(r"you> ")
    chat.send("hello world\n")
    answer = chat.expect(r"model> (.+?)\n\[(\d+) tokens, ([0-9.]+) tokens/s\]")
    assert answer.group(1).strip()
    assert 1 <= int(answer.group(2)) <= 16 and float(answer.group(3)) > 0
    assert "no chat template" not in chat.output
    chat.expect(r"you> ")
    chat.send("/reset\n")
    chat.expect(r"\(conversation forgotten\)")
    chat.expect(r"you> ")
    chat.send("/exit\n")
    assert chat.wait(30) == 0


def test_ctrl_c_stops_the_answer_not_the_chat(
    gemma_gguf_path: Path, chat_env: dict[str, str], sessions: list[PtySession]
) -> None:
    # Gemma 3 270M is a base model: plain completion, and slow enough to interrupt.
    chat = start_chat(sessions, chat_env, str(gemma_gguf_path), "--ctx", "2048",
                      "--max-tokens", "1500")
    chat.expect(r"no chat template \(a base model\): plain completion", timeout=120)
    chat.expect(r"you> ")
    chat.send("Once upon a time\n")
    chat.expect(r"model> [\s\S]*?\w")  # streamed text has started
    chat.send("\x03")
    stopped = chat.expect(r"\[(\d+) tokens, [0-9.]+ tokens/s, stopped\]", timeout=30)
    assert 1 <= int(stopped.group(1)) < 1500
    assert chat.wait(0) is None  # still running
    chat.expect(r"you> ")
    chat.send("\x04")  # Ctrl-D
    assert chat.wait(30) == 0


def test_a_base_model_falls_back_to_completion_and_ctrl_d_ends(
    tiny_path: Path, chat_env: dict[str, str], sessions: list[PtySession]
) -> None:
    chat = start_chat(sessions, chat_env, str(tiny_path), "--max-tokens", "8")
    chat.expect(r"no chat template \(a base model\): plain completion")
    chat.expect(r"you> ")
    chat.send("the model\n")
    chat.expect(r"\[\d+ tokens, [0-9.]+ tokens/s\]")
    chat.expect(r"you> ")
    # Ctrl-C at the prompt: a hint, not the end. A Ctrl-C that lands in the instant between
    # the prompt being printed and readline waiting for keys is only seen at the next key
    # (CPython's readline); a person presses again, and so does this test, a few times.
    for _attempt in range(5):
        chat.send("\x03")
        try:
            chat.expect(r"\(/exit or Ctrl-D ends the chat", timeout=3)
            break
        except AssertionError:
            assert chat.wait(0) is None, "Ctrl-C at the prompt ended the chat"
    else:
        raise AssertionError(f"no hint after Ctrl-C at the prompt:\n{chat.output}")
    chat.expect(r"you> ")
    chat.send("\x04")  # Ctrl-D
    assert chat.wait(30) == 0


def test_chat_speeds_are_saved_in_the_history(
    tiny_chat_path: Path, chat_env: dict[str, str], sessions: list[PtySession]
) -> None:
    from tests.cli_helpers import run_picker

    chat = start_chat(sessions, chat_env, str(tiny_chat_path), "--max-tokens", "8")
    chat.expect(r"you> ")
    chat.send("hello\n")
    chat.expect(r"\[\d+ tokens, [0-9.]+ tokens/s\]")
    chat.expect(r"you> ")
    chat.send("/exit\n")
    assert chat.wait(30) == 0
    (run,) = run_picker("history", "--json").json()["history"]["runs"]
    assert run["kind"] == "chat" and run["passed"]
    assert run["generation_tokens_per_second"] > 0 and run["answers"] == 1


def test_a_hub_model_is_downloaded_after_asking_on_the_terminal(
    tiny_chat_path: Path, hub_server: Any, chat_env: dict[str, str], sessions: list[PtySession]
) -> None:
    hub_server.add_repo("someone/chat-GGUF", {"chat.gguf": tiny_chat_path.read_bytes()})
    env = {**chat_env, "HF_ENDPOINT": hub_server.endpoint}
    declined = start_chat(sessions, env, "hf://someone/chat-GGUF/chat.gguf")
    declined.expect(r"is not downloaded yet: download [0-9.]+ KiB from someone/chat-GGUF\? \[y/N\]")
    declined.send("n\n")
    declined.expect(r"run again with --yes")
    assert declined.wait(30) == 2

    accepted = start_chat(sessions, env, "hf://someone/chat-GGUF/chat.gguf", "--max-tokens", "4")
    accepted.expect(r"\[y/N\]")
    accepted.send("y\n")
    accepted.expect(r"you> ", timeout=120)
    accepted.send("/exit\n")
    assert accepted.wait(30) == 0


def test_a_killed_llama_cpp_ends_the_chat_with_one_clear_line(
    gemma_gguf_path: Path, chat_env: dict[str, str], sessions: list[PtySession]
) -> None:
    import psutil

    chat = start_chat(sessions, chat_env, str(gemma_gguf_path), "--ctx", "2048",
                      "--max-tokens", "1500")
    chat.expect(r"you> ", timeout=120)
    chat.send("Once upon a time\n")
    chat.expect(r"model> [\s\S]*?\w")
    (worker,) = psutil.Process(chat.pid).children()
    worker.kill()
    chat.expect(r"picker: error: the llama\.cpp process was killed \(SIGKILL[^\n]*while generating")
    assert chat.wait(30) == 6
    assert "Traceback" not in chat.output

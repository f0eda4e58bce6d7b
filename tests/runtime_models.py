"""Model files for the runtime tests, generated: tiny working ones and broken ones.

The real Gemma 3 270M comes from the `gemma_gguf_path` fixture in conftest.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tiny_gguf import write_tiny_gguf

# A minimal template in the Jinja dialect llama-cpp-python renders in its sandbox.
CHAT_TEMPLATE = (
    "{% for message in messages %}<s>{{ message['role'] }}: {{ message['content'] }}\n"
    "{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}"
)


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("tiny") / "tiny.gguf")


@pytest.fixture(scope="session")
def tiny_chat_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("tiny") / "tiny-chat.gguf",
                           chat_template=CHAT_TEMPLATE)


@pytest.fixture
def corrupt_path(tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.gguf"
    path.write_bytes(b"This is not a GGUF file at all.\n" * 64)
    return path


@pytest.fixture
def truncated_path(tmp_path: Path, tiny_path: Path) -> Path:
    path = tmp_path / "truncated.gguf"
    data = tiny_path.read_bytes()
    path.write_bytes(data[: len(data) * 2 // 3])
    return path


@pytest.fixture
def alien_path(tmp_path: Path) -> Path:
    return write_tiny_gguf(tmp_path / "alien.gguf", architecture="no-such-architecture")


@pytest.fixture
def aborting_path(tmp_path: Path) -> Path:
    """Loads into a native abort (GGML_ASSERT on a duplicate token)."""
    return write_tiny_gguf(tmp_path / "duplicate-token.gguf", duplicate_token=True)

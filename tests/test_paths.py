from __future__ import annotations

from pathlib import Path

import pytest

from picker.paths import hf_cache_dir, picker_paths


def test_picker_home_moves_everything(isolated_home: Path) -> None:
    paths = picker_paths()
    for folder in (paths.data_dir, paths.cache_dir, paths.config_dir, paths.models_dir):
        assert folder.is_relative_to(isolated_home)
    assert len({paths.data_dir, paths.cache_dir, paths.config_dir}) == 3


def test_without_picker_home_the_platform_folders_are_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PICKER_HOME")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    paths = picker_paths()
    assert paths.data_dir == tmp_path / "xdg-data" / "picker"
    assert paths.cache_dir == tmp_path / "xdg-cache" / "picker"


def test_hf_cache_follows_huggingface_rules(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert hf_cache_dir() == tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "elsewhere"))
    assert hf_cache_dir() == tmp_path / "elsewhere"

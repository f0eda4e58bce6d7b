"""The TUI's Hub mode (`o`): a search box whose results carry each quantization's fit and
speed on the machine the picker shows, against the local stand-in Hub."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Input

from picker.tui.app import PickerApp
from picker.tui.screens.hub_search import HubSearchScreen
from picker.tui.widgets.model_table import ModelTable
from tests.hub_server import HubServer
from tests.test_hub_search import add, tiny
from tests.tui_helpers import GIB, static_text, wait_for_rows, wait_until, what_if

BIG_MACHINE = what_if(ram=64 * GIB, vram=[24 * GIB])


def results(app: PickerApp) -> str:
    return static_text(app.screen, "#hub-results")


async def test_o_opens_a_search_whose_results_are_planned_for_the_machine_shown(
        hub_server: HubServer, tmp_path: Path) -> None:
    add(hub_server, "bartowski/Tiny-Chat-GGUF", {"Q4_K_M": tiny(tmp_path, "a-Q4_K_M.gguf", "Q4_K")}, 500)
    app = PickerApp(BIG_MACHINE)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for_rows(pilot, app)
        await pilot.press("o")
        assert isinstance(app.screen, HubSearchScreen)
        assert app.focused is app.screen.query_one("#hub-query", Input)
        await pilot.press(*"tiny", "enter")
        await wait_until(pilot, lambda: "bartowski/Tiny-Chat-GGUF" in results(app), what="results")
        text = results(app)
        assert "planned for the what-if machine" in text
        assert "Q4_K_M" in text and " gpu " in text  # the what-if GPU, not this CPU-only box
        assert "not in the catalog: no benchmark scores" in text
        await pilot.press("escape")
        assert not isinstance(app.screen, HubSearchScreen) and app.is_running


async def test_an_empty_search_lists_other_sources_of_the_selected_model(
        hub_server: HubServer, tmp_path: Path) -> None:
    from picker.catalog import load_catalog

    app = PickerApp(BIG_MACHINE)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for_rows(pilot, app)
        row = app.query_one(ModelTable).selected_row()
        assert row is not None
        model = load_catalog().model(row.model_id)
        assert model is not None and model.hf_repo
        add(hub_server, "someone/Re-Quant-GGUF", {"Q4_K_M": tiny(tmp_path, "a-Q4_K_M.gguf", "Q4_K")},
            300, base=model.hf_repo)
        await pilot.press("o", "enter")
        await wait_until(pilot, lambda: "someone/Re-Quant-GGUF" in results(app), what="results")
        assert f"GGUF quantizations of {model.hf_repo}" in results(app)
        assert f"catalog model {model.id} (quantizes {model.hf_repo}" in results(app)


async def test_offline_without_kept_results_says_so_in_one_line(
        hub_server: HubServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    app = PickerApp(BIG_MACHINE)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for_rows(pilot, app)
        await pilot.press("o", *"qwen3", "enter")
        await wait_until(pilot, lambda: "Search failed" in results(app), what="the failure")
        assert "HF_HUB_OFFLINE" in results(app) and app.is_running
        assert not hub_server.requests

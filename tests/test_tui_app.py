"""The app's action paths, driven with Pilot against the real probe, catalog and ranking."""

from __future__ import annotations

from textual.widgets import Input

from picker.tui.app import PickerApp
from picker.tui.screens.help import HelpScreen
from picker.tui.screens.what_if import WhatIfScreen
from picker.tui.widgets.model_table import COLUMNS, ModelTable, haystack, speed_of
from tests.tui_helpers import GIB, detail_text, static_text, wait_for_rows, wait_until, what_if

BIG_MACHINE = what_if(ram=64 * GIB, vram=[24 * GIB])


async def test_main_screen_ranks_models_and_shows_the_detail() -> None:
    app = PickerApp(BIG_MACHINE)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_rows(pilot, app)
        table = app.query_one(ModelTable)
        assert table.row_count == len(app.document.records) > 0
        assert app.snapshot is not None and "gpus" in app.snapshot.overridden
        await wait_until(pilot, lambda: "Every quantization" in detail_text(app), what="detail")
        text = detail_text(app)
        assert "Memory" in text and "GPU0" in text
        assert "Why it ranks here" in text and "picker download" in text


async def test_sorting_by_each_column_and_reversing() -> None:
    app = PickerApp(BIG_MACHINE)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_rows(pilot, app)
        table = app.query_one(ModelTable)
        await pilot.press("s")  # first column: model name, ascending
        names = [row.name.lower() for row in table.visible_rows()]
        assert table.sort_column == "model" and names == sorted(names)
        await pilot.press("s", "s", "s", "s", "s")  # params, quant, size, where, tokens/s
        assert table.sort_column == "speed" and table.sort_reverse
        speeds = [speed_of(row)[0] for row in table.visible_rows()]
        assert speeds == sorted(speeds, reverse=True)
        first_cell = table.get_row_at(0)[5]
        assert str(first_cell).startswith(f"{speeds[0]:.0f}")
        table.sort_by("speed")  # the same column again reverses
        assert [speed_of(row)[0] for row in table.visible_rows()] == sorted(speeds)
        assert len(COLUMNS) == len(table.columns)


async def test_type_to_filter_and_escape_clears_it() -> None:
    app = PickerApp(BIG_MACHINE)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_rows(pilot, app)
        table = app.query_one(ModelTable)
        everything = table.row_count
        await pilot.press("slash", "q", "w", "e", "n")
        assert 0 < table.row_count < everything
        assert all("qwen" in row.name.lower() for row in table.visible_rows())
        await pilot.press("escape")
        assert table.row_count == everything
        assert app.focused is table
        await pilot.press("escape")  # Esc on the main screen never quits
        assert app.is_running


async def test_the_detail_follows_the_filter_once_typing_rests() -> None:
    app = PickerApp(BIG_MACHINE)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_rows(pilot, app)
        table = app.query_one(ModelTable)
        first = table.selected_row()
        assert first is not None
        word = "llama" if "llama" not in haystack(first) else "qwen"
        await pilot.press("slash", *word)
        selected = table.selected_row()
        assert selected is not None and selected is not first and word in haystack(selected)
        await wait_until(pilot, lambda: detail_text(app).startswith(selected.name),
                         what="the detail of the row the filter left selected")


async def test_a_long_filter_scrolls_in_its_box() -> None:
    app = PickerApp(BIG_MACHINE)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_rows(pilot, app)
        box = app.query_one("#filter", Input)
        await pilot.press("slash", *("x" * (box.size.width + 10)))
        assert box.value == "x" * (box.size.width + 10)
        assert box.scroll_offset.x > 0 and app.query_one(ModelTable).row_count == 0


async def test_use_case_and_context_change_the_ranking() -> None:
    app = PickerApp(BIG_MACHINE)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_rows(pilot, app)
        general = app.document
        assert general.settings["use_case"] == "general"
        await pilot.press("u")
        await wait_for_rows(pilot, app, general)
        coding = app.document
        assert coding.settings["use_case"] == "coding"
        order = [row.model_id for row in general.records]
        assert order != [row.model_id for row in coding.records]
        await pilot.press("c", "4", "0", "9", "6", "enter")
        await wait_for_rows(pilot, app, coding)
        assert app.document.settings["context"] == 4096
        assert {row.context for row in app.document.records} == {4096}


async def test_bad_context_is_refused_in_place() -> None:
    app = PickerApp(BIG_MACHINE)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_rows(pilot, app)
        before = app.document
        await pilot.press("c", "1", "0", "enter")
        await pilot.pause()
        assert "Context:" in static_text(app, "#status")
        assert app.document is before


async def test_what_if_and_back_to_this_machine() -> None:
    app = PickerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_rows(pilot, app)
        here = app.document
        assert app.snapshot is not None and app.snapshot.overridden == ()
        await pilot.press("w")
        assert isinstance(app.screen, WhatIfScreen)
        await pilot.press("b", "a", "n", "a", "n", "a", "enter")
        assert isinstance(app.screen, WhatIfScreen)  # refused in place, with the reason
        assert "RAM" in static_text(app.screen, "#what-if-error")
        app.screen.query_one("#ram").value = ""
        await pilot.press("tab", "4", "8", "G", "enter")
        await wait_for_rows(pilot, app, here)
        assert app.snapshot.overridden and app.snapshot.gpus[0].free_bytes == 48 * GIB
        assert any(row.placement == "gpu" for row in app.document.records)
        planned = app.document
        await pilot.press("ctrl+w")
        await wait_for_rows(pilot, app, planned)
        assert app.snapshot.overridden == ()


async def test_help_screen_opens_and_closes() -> None:
    app = PickerApp(BIG_MACHINE)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape", "escape")
        assert app.is_running


async def test_command_palette_offers_every_action() -> None:
    app = PickerApp(BIG_MACHINE)
    async with app.run_test(size=(120, 40)):
        titles = {command.title for command in app.get_system_commands(app.screen)}
        for wanted in ("Download", "Smoke test", "Chat", "What-if", "Help", "Use case", "Refresh"):
            assert wanted in titles


async def test_enter_goes_into_the_detail_and_escape_comes_back() -> None:
    app = PickerApp(BIG_MACHINE)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_rows(pilot, app)
        table = app.query_one(ModelTable)
        assert app.screen.has_class("narrow")  # the detail sits under the table at 80 columns
        await pilot.press("enter")
        assert app.focused is app.query_one("#detail")
        await pilot.press("escape")
        assert app.focused is table and app.is_running


async def test_the_footer_is_rebuilt_only_when_its_keys_change() -> None:
    from textual.widgets._footer import FooterKey

    from picker.tui.widgets.steady_footer import SteadyFooter

    app = PickerApp(BIG_MACHINE)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_rows(pilot, app)
        footer = app.query_one(SteadyFooter)
        keys = list(footer.query(FooterKey))
        assert "quit_app" in [key.action for key in keys]
        await pilot.press("enter")  # into the detail pane: the same keys apply
        await pilot.pause()
        assert app.focused is app.query_one("#detail")
        assert list(footer.query(FooterKey)) == keys
        await pilot.press("escape", "slash")  # the filter box takes printable keys: q no longer quits
        await pilot.pause()
        assert "quit_app" not in [key.action for key in footer.query(FooterKey)]
        await pilot.press("escape")
        await pilot.pause()
        assert "quit_app" in [key.action for key in footer.query(FooterKey)]

"""The TUI's status line says what the table holds: fit, shown by the filter, left out for speed,
use case, context and sort (issue 21, items 6 and 12)."""

from __future__ import annotations

from picker.tui.app import PickerApp
from picker.tui.widgets.model_table import ModelTable
from tests.tui_helpers import GIB, static_text, wait_for_rows, wait_until, what_if


async def test_the_status_line_follows_filter_sort_and_what_was_left_out() -> None:
    app = PickerApp(what_if(ram=16 * GIB))
    async with app.run_test(size=(160, 40)) as pilot:
        await wait_for_rows(pilot, app)
        assert app.document is not None
        total = len(app.document.records)
        status = static_text(app, "#status")
        assert f"{total} models fit" in status and "use case general" in status
        slow = {reason: count for reason, count in app.document.settings["excluded"].items()
                if reason.startswith("slower than")}
        for reason, count in slow.items():
            assert f"{count} left out as {reason}" in status

        await pilot.press("slash", "q", "w", "e", "n")
        table = app.query_one(ModelTable)
        await wait_until(pilot, lambda: "of" in static_text(app, "#status"), what="the filter count")
        shown = len(table.shown_keys)
        assert 0 < shown < total
        assert f"{shown} of {total} models shown (filter 'qwen')" in static_text(app, "#status")

        await pilot.press("escape", "escape")
        table.focus()
        await pilot.press("s")
        await wait_until(pilot, lambda: "sort Model ▲" in static_text(app, "#status"),
                         what="the sort in the status line")


async def test_the_context_box_shows_the_default_context() -> None:
    from textual.widgets import Input

    app = PickerApp(what_if(ram=16 * GIB))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_rows(pilot, app)
        assert app.query_one("#context", Input).placeholder == "8192 (default)"


async def test_the_help_fits_a_45_row_terminal() -> None:
    from textual.containers import VerticalScroll

    from picker.tui.screens.help import HelpScreen

    app = PickerApp(what_if(ram=16 * GIB))
    async with app.run_test(size=(120, 45)) as pilot:
        await pilot.press("question_mark")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help")
        await pilot.pause()
        body = app.screen.query_one("#help-body", VerticalScroll)
        assert body.max_scroll_y == 0  # every key is in view without scrolling


async def test_a_long_status_message_wraps_instead_of_being_cut() -> None:
    from textual.widgets import Static

    message = ("Download of qwen3-8b:Q4_K_M stopped: the Hugging Face Hub could not be reached; "
               "check the network connection or the proxy settings or set HF_HUB_OFFLINE=1 to "
               "work offline with what is already downloaded")
    app = PickerApp(what_if(ram=16 * GIB))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for_rows(pilot, app)
        app.set_status(message)
        await pilot.pause()
        status = app.query_one("#status", Static)
        assert status.size.height > 1
        shown = " ".join(line.text.rstrip() for line in status.render_lines(status.region.reset_offset))
        assert "work offline with what is already downloaded" in " ".join(shown.split())


async def test_the_chat_screen_shows_only_its_own_keys() -> None:
    from pathlib import Path

    from picker.tui.screens.chat import ChatScreen

    app = PickerApp(what_if(ram=16 * GIB))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_rows(pilot, app)
        assert "d" in app.screen.active_bindings  # the table's download key, on the main screen
        await app.push_screen(ChatScreen(Path("/nonexistent/model.gguf"), "Some model Q4_K_M"))
        await pilot.pause()
        keys = set(app.screen.active_bindings)
        assert not keys & {"d", "t", "h", "u", "w", "slash"}, keys
        assert "escape" in keys
        assert app.screen.sub_title == "chat with Some model Q4_K_M"

"""A GGUF added with `picker catalog add`, in the TUI: smoke test and quick chat from its row.

The smoke test's speed becomes the row's measured speed (`m`), and the quick chat is
recorded in the history as `picker chat` records it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from picker.tui.app import PickerApp
from picker.tui.screens.chat import ChatScreen
from picker.tui.widgets.model_table import ModelTable
from tests.cli_helpers import run_picker
from tests.tui_helpers import wait_for_rows, wait_until

pytest_plugins = ["tests.runtime_models"]


async def test_smoke_and_chat_of_an_added_file_are_remembered(
    tiny_chat_path: Path, tmp_path: Path
) -> None:
    mine = tmp_path / "models" / "my-tiny-chat-Q8_0.gguf"
    mine.parent.mkdir()
    shutil.copyfile(tiny_chat_path, mine)
    added = run_picker("catalog", "add", str(mine), "--json")
    assert added.returncode == 0, added.stderr
    app = PickerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_rows(pilot, app)
        table = app.query_one(ModelTable)
        (key,) = [r.model_id + ":" + r.quant for r in app.document.records
                  if r.files == (str(mine),)]
        table.move_cursor(row=table.get_row_index(key))
        before = app.document
        await pilot.press("t")
        await wait_until(pilot, lambda: app.last_smoke is not None, timeout=120, what="smoke")
        assert app.last_smoke["passed"], app.last_smoke["reason"]
        await wait_for_rows(pilot, app, before)
        assert str(table.get_row(key)[5]).endswith(" m")  # measured here, at the row's settings

        table.move_cursor(row=table.get_row_index(key))
        await pilot.press("h")
        await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen), what="chat screen")
        chat = app.screen
        assert isinstance(chat, ChatScreen)
        await wait_until(pilot, lambda: chat.engine is not None, timeout=120, what="model load")
        await pilot.press("h", "i", "enter")
        await wait_until(pilot, lambda: len(chat.messages) == 2 and not chat.generating,
                         timeout=120, what="an answer")
        await pilot.press("escape")
        await wait_until(pilot, lambda: chat.recorded_id is not None, timeout=60,
                         what="the chat in the history")
    runs = run_picker("history", "--json").json()["history"]["runs"]
    assert [run["kind"] for run in runs] == ["chat", "smoke"]
    assert runs[0]["settings"] == runs[1]["settings"]  # the row's settings, both times

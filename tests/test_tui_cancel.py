"""The TUI's cancel (x) gives the user control back within a second, whatever the server does."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from picker.tui.app import PickerApp
from tests.hub_server import HubServer
from tests.test_tui_actions import select_smallest, serve
from tests.tui_helpers import GIB, static_text, wait_for_rows, wait_until, what_if


async def test_cancel_while_the_server_has_not_answered(hub_server: HubServer, tmp_path: Path) -> None:
    app = PickerApp(what_if(ram=16 * GIB))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_rows(pilot, app)
        row = await select_smallest(pilot, app)
        serve(hub_server, row, tmp_path)

        def hang(handler: Any, record: Any) -> bool:
            if record.server == "cdn":
                time.sleep(8.0)  # a server that takes the request and says nothing for a while
            return False

        hub_server.hooks.append(hang)
        await pilot.press("d")
        await wait_until(pilot, lambda: bool(hub_server.requests_to("/blobs/", "GET")), what="the GET")
        pressed = time.monotonic()
        await pilot.press("x")
        await wait_until(pilot, lambda: app.downloading is None, what="the cancel")
        assert time.monotonic() - pressed < 1.0
        status = static_text(app, "#status")
        assert "stopped" in status and "cancelled" in status
        assert not list((tmp_path / "hf-home" / "hub").rglob(row["file"]))

"""The app opens, shows the probe of this machine, and quits on q."""

from __future__ import annotations

import argparse

from picker.tui.app import PickerApp


async def test_app_shows_this_machine_and_quits() -> None:
    app = PickerApp(argparse.Namespace())
    async with app.run_test(size=(80, 24)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = str(app.query_one("#hardware").render())
        assert "CPU" in text and "RAM" in text
        await pilot.press("q")
    assert app.return_code in (0, None)

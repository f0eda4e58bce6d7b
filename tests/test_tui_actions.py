"""Download (from the stand-in Hub), smoke test and chat from the app, all for real."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from picker.tui.app import PickerApp
from picker.tui.screens.chat import ChatScreen
from picker.tui.screens.confirm import ConfirmScreen
from picker.tui.widgets.model_table import ModelTable
from tests.hub_server import HubServer
from tests.tiny_gguf import write_tiny_gguf
from tests.tui_helpers import GIB, static_text, wait_for_rows, wait_until, what_if

CHAT_TEMPLATE = (
    "{% for message in messages %}<s>{{ message['role'] }}: {{ message['content'] }}</s>"
    "{% endfor %}{% if add_generation_prompt %}<s>assistant:{% endif %}"
)


async def select_smallest(pilot: Any, app: PickerApp) -> dict[str, Any]:
    """Sort by size and select the smallest recommendation (fast to serve and load)."""
    table = app.query_one(ModelTable)
    table.sort_column, table.sort_reverse = "size", False
    table.refill()
    table.move_cursor(row=0)
    await pilot.pause()
    row = table.selected_row()
    assert row is not None
    return row


def serve(hub: HubServer, row: dict[str, Any], tmp_path: Path) -> Path:
    """The stand-in Hub serves a tiny real GGUF under the recommendation's repo and file."""
    model = write_tiny_gguf(tmp_path / "tiny.gguf", chat_template=CHAT_TEMPLATE)
    hub.add_repo(row.repo, {row.file: model})
    return model


async def test_download_smoke_and_chat(hub_server: HubServer, tmp_path: Path) -> None:
    app = PickerApp()  # this machine: measurements count only for the machine they were made on
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_rows(pilot, app)
        row = await select_smallest(pilot, app)
        served = serve(hub_server, row, tmp_path)

        await pilot.press("t")  # not on disk yet: says how to get it
        await wait_until(pilot, lambda: "press d" in static_text(app, "#status"), what="hint")

        await pilot.press("d")
        await wait_until(pilot, lambda: app.downloading is None, what="the download")
        assert "Downloaded and verified" in static_text(app, "#status")
        downloaded = list((tmp_path / "hf-home" / "hub").rglob(row.file))
        assert downloaded and downloaded[0].read_bytes() == served.read_bytes()

        before = app.document
        await pilot.press("t")
        await wait_until(pilot, lambda: app.last_smoke is not None, timeout=120, what="smoke test")
        assert app.last_smoke["passed"], app.last_smoke["reason"]
        assert app.last_smoke["generation_tokens_per_second"] > 0
        # (the re-ranking it ends with draws the detail just after the rows' frame)
        await wait_until(pilot, lambda: "PASSED" in static_text(app, "#detail-text"),
                         what="the smoke report in the detail")
        await wait_for_rows(pilot, app, before)
        measured = [r for r in app.document.records
                    if r.model_id == row.model_id and r.quant == row.quant]
        assert measured and measured[0].speed.measured is not None
        assert measured[0].on_disk is True  # the Disk column marks it
        cells = app.query_one(ModelTable).get_row(f"{row.model_id}:{row.quant}")
        assert str(cells[-1]) == "●" and str(cells[5]).endswith(" m")

        table = app.query_one(ModelTable)
        table.move_cursor(row=table.get_row_index(f"{row.model_id}:{row.quant}"))
        await pilot.press("h")
        await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen), what="chat screen")
        chat = app.screen
        assert isinstance(chat, ChatScreen)
        await wait_until(pilot, lambda: chat.engine is not None, timeout=120, what="model load")
        await pilot.press("h", "e", "l", "l", "o", "enter")
        await wait_until(pilot, lambda: len(chat.messages) == 2 and not chat.generating,
                         timeout=120, what="an answer")
        transcript = chat.transcript.plain
        assert "you> hello" in transcript and "model> " in transcript
        assert "tokens/s" in static_text(chat, "#chat-status") or "done" in static_text(
            chat, "#chat-status")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ChatScreen), what="back")
        assert app.is_running


async def test_download_errors_show_in_place(hub_server: HubServer, hub_no_backoff: list[float],
                                             tmp_path: Path) -> None:
    app = PickerApp(what_if(ram=16 * GIB))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_rows(pilot, app)
        row = await select_smallest(pilot, app)
        serve(hub_server, row, tmp_path)
        hub_server.repos[row.repo].gated = True
        await pilot.press("d")
        await wait_until(pilot, lambda: app.downloading is None, what="the download")
        status = static_text(app, "#status")
        assert "stopped" in status and ("HF_TOKEN" in status or "log in" in status)
        assert not list((tmp_path / "hf-home" / "hub").rglob(row.file))


async def test_cancel_and_quit_while_downloading(hub_server: HubServer, tmp_path: Path) -> None:
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
        assert app.downloading is not None
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert app.is_running and app.downloading is not None
        await wait_until(pilot, lambda: bool(hub_server.requests_to("/blobs/", "GET")), what="the GET")
        pressed = time.monotonic()
        await pilot.press("x")
        await wait_until(pilot, lambda: app.downloading is None, what="the cancel")
        assert time.monotonic() - pressed < 1.0  # not the transfer's 10 s read timeout
        assert "stopped" in (status := static_text(app, "#status")) and "cancelled" in status
        assert not list((tmp_path / "hf-home" / "hub").rglob(row.file))


async def download_smallest(pilot: Any, app: PickerApp, hub: HubServer, tmp_path: Path) -> None:
    """The smallest model fetched from the stand-in Hub, ready to smoke-test or chat with."""
    await wait_for_rows(pilot, app)
    row = await select_smallest(pilot, app)
    serve(hub, row, tmp_path)
    await pilot.press("d")
    await wait_until(pilot, lambda: app.downloading is None, what="the download")


async def llama_children(pilot: Any) -> list[Any]:
    """llama.cpp's child process(es), once one has started."""
    import psutil

    await wait_until(pilot, lambda: bool(psutil.Process().children()), what="llama.cpp's child")
    return psutil.Process().children()


async def test_x_cancels_a_smoke_test_at_once_and_records_nothing(
    hub_server: HubServer, tmp_path: Path
) -> None:
    import psutil

    app = PickerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await download_smallest(pilot, app, hub_server, tmp_path)
        await pilot.press("t")
        children = await llama_children(pilot)
        pressed = time.monotonic()
        await pilot.press("x")
        await wait_until(pilot, lambda: "Smoke test stopped" in static_text(app, "#status"),
                         what="the cancel")
        assert time.monotonic() - pressed < 1.0
        assert "cancelled" in static_text(app, "#status") and app.last_smoke is None
        _, alive = psutil.wait_procs(children, timeout=1)
        assert not alive, "llama.cpp's child outlived the cancel"
        from picker.history.store import History

        assert History.open().runs() == []  # a cancelled smoke test is no result


async def test_leaving_the_chat_while_the_model_loads_stops_the_load(
    hub_server: HubServer, tmp_path: Path
) -> None:
    import psutil

    app = PickerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await download_smallest(pilot, app, hub_server, tmp_path)
        await pilot.press("h")
        await wait_until(pilot, lambda: isinstance(app.screen, ChatScreen), what="chat screen")
        children = await llama_children(pilot)
        pressed = time.monotonic()
        await pilot.press("escape")
        assert not isinstance(app.screen, ChatScreen)
        _, alive = psutil.wait_procs(children, timeout=1)
        assert not alive and time.monotonic() - pressed < 1.5, "the load went on after leaving"


def _streamed_finish(url: str) -> tuple[list[str], str | None]:
    """The served model ids and how a streamed chat completion from them ended."""
    import openai

    client = openai.OpenAI(base_url=url, api_key="none needed", timeout=60)
    models = [model.id for model in client.models.list()]
    stream = client.chat.completions.create(
        model=models[0], messages=[{"role": "user", "content": "hello"}], max_tokens=4,
        stream=True)
    reasons = [chunk.choices[0].finish_reason for chunk in stream if chunk.choices]
    return models, next((reason for reason in reasons if reason), None)


async def test_v_serves_the_model_until_esc(hub_server: HubServer, tmp_path: Path) -> None:
    import asyncio

    import psutil

    from picker.tui.screens.serve import ServeScreen

    app = PickerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await download_smallest(pilot, app, hub_server, tmp_path)
        row = app.query_one(ModelTable).selected_row()
        assert row is not None
        await pilot.press("v")
        await wait_until(pilot, lambda: isinstance(app.screen, ServeScreen), what="serve screen")
        screen = app.screen
        assert isinstance(screen, ServeScreen)
        await wait_until(pilot, lambda: screen.url is not None, timeout=120, what="the server")
        assert "Serving" in static_text(screen, "#serve-status")
        assert screen.url is not None
        models, finish = await asyncio.to_thread(_streamed_finish, screen.url)
        assert models == [f"{row.model_id}:{row.quant}"] and finish in ("stop", "length")
        children = psutil.Process().children()
        assert children, "the server is not picker's child"
        await pilot.press("escape")
        assert not isinstance(app.screen, ServeScreen)
        _, alive = psutil.wait_procs(children, timeout=5)
        assert not alive, "the server outlived the serve screen"

"""The first screen worked out by a child process forked at launch (picker/tui/head_start.py):
the same rows and detail as the app's own workers, and the app's own work whenever the child
fails, is overtaken by a key, or is still running when the app quits."""

from __future__ import annotations

import os
import sys
import time
from typing import Any

import pytest

from picker.tui import data, new_app
from picker.tui import head_start as head_start_module
from picker.tui.app import PickerApp
from picker.tui.data import USE_CASES, Query
from picker.tui.widgets.model_table import ModelTable
from tests.tui_helpers import GIB, detail_text, wait_for_rows, wait_until, what_if

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="picker forks on Linux only")

BIG_MACHINE = what_if(ram=64 * GIB, vram=[24 * GIB])


def child_is_gone(pid: int) -> bool:
    try:
        return os.waitpid(pid, os.WNOHANG) != (0, 0)
    except ChildProcessError:  # reaped already
        return True


async def shown_without_head_start() -> tuple[Any, str]:
    """The rows and the top row's detail as the app works them out itself."""
    app = PickerApp(BIG_MACHINE)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_rows(pilot, app)
        await wait_until(pilot, lambda: "Every quantization" in detail_text(app), what="detail")
        return app.document.records if app.document else None, detail_text(app)


async def test_the_child_shows_what_the_app_would_work_out(monkeypatch: pytest.MonkeyPatch) -> None:
    records, detail = await shown_without_head_start()
    app = new_app(BIG_MACHINE)
    child = app.head_start
    assert child is not None

    def no_ranking_here(query: Query) -> None:  # the forked child keeps the real one
        raise AssertionError("the app ranked by itself although the child answered")

    monkeypatch.setattr("picker.tui.data.recommendations", no_ranking_here)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_rows(pilot, app)
        await wait_until(pilot, lambda: "Every quantization" in detail_text(app), what="detail")
        assert app.document is not None and app.document.records == records
        assert app.query_one(ModelTable).row_count == len(records)
        assert app.snapshot is not None and app.snapshot.overridden
        assert detail_text(app) == detail
        assert app.head_start is None and child.read_fd is None and child_is_gone(child.pid)


async def test_an_answer_there_before_the_app_mounts_is_in_its_first_frame() -> None:
    app = new_app(BIG_MACHINE)
    child = app.head_start
    assert child is not None
    deadline = time.monotonic() + 60
    while os.waitpid(child.pid, os.WNOHANG) == (0, 0):  # its answer waits in the pipe (1 MiB)
        assert time.monotonic() < deadline, "the child never answered"
        time.sleep(0.02)
    async with app.run_test(size=(120, 40)):
        assert app.document is not None and app.snapshot is not None  # shown while mounting
        assert app.query_one(ModelTable).row_count == len(app.document.records) > 0
        assert child_is_gone(child.pid)


def status_text(app: PickerApp) -> str:
    from tests.tui_helpers import static_text

    return static_text(app, "#status")


async def test_a_large_catalog_shows_its_best_rows_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above TWO_STEPS_ABOVE_MODELS the child sends the best FIRST_ROWS, then every row: the
    same rows, ranked on the same probe, as the app's own ranking."""
    records, detail = await shown_without_head_start()
    monkeypatch.setattr(head_start_module, "TWO_STEPS_ABOVE_MODELS", 0)
    monkeypatch.setattr(head_start_module, "FIRST_ROWS", 3)
    real = data.recommendations

    def slower_whole(query: Query, snapshot: Any = None, on_disk: Any = None,
                     limit: int | None = None) -> Any:
        if limit is None:  # the rest, late enough to see the first rows alone
            time.sleep(1.0)
        return real(query, snapshot, on_disk, limit)

    monkeypatch.setattr(data, "recommendations", slower_whole)
    app = new_app(BIG_MACHINE)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_rows(pilot, app)
        assert app.document is not None and app.document.records == records[:3]
        assert not app.ranking_complete and app.query_one(ModelTable).row_count == 3
        assert "the best 3 models that fit (ranking the rest...)" in status_text(app)
        await wait_until(pilot, lambda: app.head_start is None, what="every row")
        await pilot.pause()
        assert app.ranking_complete and app.document.records == records
        assert app.query_one(ModelTable).row_count == len(records)
        assert f"{len(records)} models fit" in status_text(app)
        await wait_until(pilot, lambda: "Every quantization" in detail_text(app), what="detail")
        assert detail_text(app) == detail


def failing_child(query: Query) -> Any:
    print("from the child on stdout")
    print("from the child on stderr", file=sys.stderr)
    raise RuntimeError("the child fails")
    yield  # a generator, as first_screens is


async def test_a_failed_child_leaves_the_work_to_the_app(monkeypatch: pytest.MonkeyPatch,
                                                        capfd: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(head_start_module, "first_screens", failing_child)
    app = new_app(BIG_MACHINE)
    assert app.head_start is not None
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for_rows(pilot, app)
        assert app.document is not None and app.snapshot is not None
        assert app.query_one(ModelTable).row_count == len(app.document.records) > 0
    printed = capfd.readouterr()
    assert "from the child" not in printed.out + printed.err  # the terminal is the app's


@pytest.fixture
def slow_first_screen(monkeypatch: pytest.MonkeyPatch) -> None:
    """The child answers 1.5 s late."""
    real = head_start_module.first_screens

    def slow(query: Query) -> Any:
        time.sleep(1.5)
        yield from real(query)

    monkeypatch.setattr(head_start_module, "first_screens", slow)


async def test_a_use_case_chosen_before_the_child_answers_is_ranked(slow_first_screen: None) -> None:
    app = new_app(BIG_MACHINE)
    assert app.head_start is not None
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("u")  # the next use case, before the child's answer
        await wait_until(pilot, lambda: app.document is not None and app.head_start is None,
                         what="the child's answer and the new ranking")
        await pilot.pause()
        assert app.query_state.use_case == USE_CASES[1][0]
        assert app.document is not None and app.document.settings["use_case"] == USE_CASES[1][0]
        assert app.snapshot is not None


async def test_quitting_before_the_child_answers_stops_it(slow_first_screen: None) -> None:
    app = new_app(BIG_MACHINE)
    child = app.head_start
    assert child is not None
    started = time.monotonic()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("q")
    assert time.monotonic() - started < 1.5  # it did not wait for the child
    assert app.document is None and child.read_fd is None and child_is_gone(child.pid)

"""Snapshots of the app (pytest-textual-snapshot) at 80x24 and 120x40.

The machine is a fixed one (a 32 GiB workstation with a 24 GiB RTX 4090, and a fixed
CPU bandwidth), so the pictures do not depend on the machine the tests run on; the
catalog, fit engine and ranking are the real ones. After a deliberate change of the
screen, review the new pictures and accept them with `pytest --snapshot-update`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from picker.hardware.model import CpuInfo, DiskInfo, GpuInfo, HardwareSnapshot, MemoryInfo
from picker.hardware.overrides import HardwareOverrides, apply_overrides
from picker.tui.app import PickerApp
from tests.tui_helpers import GIB, wait_until

SIZES = [(80, 24), (120, 40)]
WORKSTATION = HardwareSnapshot(
    cpu=CpuInfo("Example 8-core CPU", "x86_64", 8, 16, ("AVX", "AVX2", "FMA"), 8,
                {"name": "fixture"}),
    memory=MemoryInfo(32 * GIB, 28 * GIB, 8 * GIB, 8 * GIB, {"total_bytes": "fixture"}),
    disk=DiskInfo("/models", 500 * GIB, 1000 * GIB),
    gpus=(GpuInfo(0, "nvidia", "NVIDIA GeForce RTX 4090", "dedicated", 24 * GIB, 22 * GIB,
                  "560.35.03", "8.9", source="fixture"),),
    os="Linux",
)


@pytest.fixture(autouse=True)
def fixed_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    """The probe and the CPU bandwidth probe answer as the fixed workstation would."""
    from picker.hardware import probe
    from picker.speed import cpu_bandwidth as bandwidth_module

    def probe_hardware(overrides: HardwareOverrides | None = None, **_: Any) -> HardwareSnapshot:
        return apply_overrides(WORKSTATION, overrides or HardwareOverrides())

    fixed = bandwidth_module.CpuBandwidth(
        bytes_per_second=80e9, low_bytes_per_second=75e9, threads=8, buffer_bytes=64 * 1024**2,
        probe_seconds=0.2, measured_at=0.0, machine_key=bandwidth_module.machine_key())
    monkeypatch.setattr(probe, "probe_hardware", probe_hardware)
    monkeypatch.setattr(bandwidth_module, "cpu_bandwidth", lambda refresh=False: fixed)


def laid_out(app: PickerApp) -> bool:
    """No layout, scroll or repaint pending anywhere on the screen (Textual's own flags: a
    panel updated but not yet laid out was caught at its old height)."""
    screen: Any = app.screen
    if (screen._layout_required or screen._scroll_required or screen._repaint_required
            or screen._dirty_widgets):
        return False
    return not any(widget._layout_required or widget._repaint_required
                   or widget._refresh_styles_required for widget in screen.walk_children())


def settled(app: PickerApp) -> bool:
    """Nothing left to change the screen: no worker running (probe, ranking, detail), no
    ranking waiting for the probe, no detail redraw scheduled, nothing left to lay out."""
    return (app.document is not None and not app.probing and app.pending_document is None
            and not app.detail_due and not any(worker.is_running for worker in app.workers)
            and laid_out(app))


async def wait_settled(pilot: Pilot[Any]) -> None:
    """Until the app has settled and stays so across a refresh (a condition, not a sleep: under
    load a fixed pause caught the table mid-layout)."""
    app = pilot.app
    assert isinstance(app, PickerApp)
    for _ in range(2):
        await wait_until(pilot, lambda: settled(app), what="the screen to settle")
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
    await wait_until(pilot, lambda: settled(app), what="the screen to settle")


async def ranked(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, PickerApp)
    await wait_until(pilot, lambda: app.document is not None, what="recommendations")
    await wait_until(pilot, lambda: bool(app.details), what="the detail")
    await wait_settled(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_main_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    assert snap_compare(PickerApp(argparse.Namespace()), terminal_size=size, run_before=ranked)


@pytest.mark.parametrize("size", SIZES)
def test_detail_of_another_model(snap_compare: Any, size: tuple[int, int]) -> None:
    async def second_row(pilot: Pilot[Any]) -> None:
        await ranked(pilot)
        app = pilot.app
        assert isinstance(app, PickerApp)
        before = len(app.details)
        await pilot.press("down")
        await wait_until(pilot, lambda: len(app.details) > before, what="the second detail")
        await pilot.pause()

    assert snap_compare(PickerApp(argparse.Namespace()), terminal_size=size, run_before=second_row)


@pytest.mark.parametrize("size", SIZES)
def test_download_progress(snap_compare: Any, size: tuple[int, int]) -> None:
    from picker.hub.progress import ProgressEvent

    async def downloading(pilot: Pilot[Any]) -> None:
        await ranked(pilot)
        app = pilot.app
        assert isinstance(app, PickerApp)
        app.downloading = "qwen2.5-coder-14b-instruct:Q4_K_M"
        app.query_one("#download-bar").add_class("active")
        app.download_progress(app.downloading, ProgressEvent(
            "progress", "Qwen2.5-Coder-14B-Instruct-Q4_K_M.gguf", 1, 1, 3 * GIB, 9 * GIB,
            rate_bytes_per_second=48 * 1024**2, eta_seconds=128.0))
        await pilot.pause()

    assert snap_compare(PickerApp(argparse.Namespace()), terminal_size=size, run_before=downloading)


@pytest.mark.parametrize("size", SIZES)
def test_smoke_result(snap_compare: Any, size: tuple[int, int]) -> None:
    from picker.commands.smoke import render

    async def smoked(pilot: Pilot[Any]) -> None:
        await ranked(pilot)
        app = pilot.app
        assert isinstance(app, PickerApp)
        row = app.query_one("#models").selected_row()
        document = {
            "passed": True, "reason": None, "model": {"target": f"{row.model_id}:{row.quant}"},
            "settings": {"n_ctx": row.context, "n_gpu_layers": row.n_gpu_layers,
                         "n_ubatch": 512, "flash_attn": False, "type_k": "f16", "type_v": "f16"},
            "load_seconds": 2.5, "time_to_first_token_seconds": 0.12,
            "prompt_tokens_per_second": 2100.0, "generation_tokens_per_second": 41.5,
            "peak_rss_bytes": 900 * 1024**2, "gpu_memory_used_bytes": 9 * GIB,
            "memory": {"devices": [], "measured_bytes": None, "estimated_bytes": None,
                       "error_pct": None},
            "text": " the movement of water between the sea, the air and the land.",
            "history_id": 1,
        }
        before = app.document
        app.smoke_finished(row, document, render(document))  # re-ranks, as after a real test
        await wait_until(pilot, lambda: app.document is not before, what="the new ranking")
        await wait_until(pilot, lambda: "Smoke test passed" in str(
            app.query_one("#status").content), what="the smoke result")
        await wait_settled(pilot)

    assert snap_compare(PickerApp(argparse.Namespace()), terminal_size=size, run_before=smoked)


@pytest.mark.parametrize("size", SIZES)
def test_chat_screen(snap_compare: Any, size: tuple[int, int]) -> None:
    from picker.tui.screens.chat import ChatScreen

    async def chatting(pilot: Pilot[Any]) -> None:
        app = pilot.app
        screen = ChatScreen(Path("/nonexistent/tiny-model.gguf"), "Tiny model Q8_0")
        await app.push_screen(screen)
        await wait_until(pilot, lambda: "Could not load" in str(
            screen.query_one("#chat-status").content), what="the load to fail")
        screen.append("\nyou> hello\n", "bold")
        screen.append("model> ", "bold green")
        screen.append("Hello! How can I help you today?\n")
        await pilot.pause()

    assert snap_compare(PickerApp(argparse.Namespace()), terminal_size=size, run_before=chatting)

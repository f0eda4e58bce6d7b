"""Driving the real app in tests: wait for its worker threads, read what it shows."""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot

from picker.tui.app import PickerApp

GIB = 1024**3


def what_if(**flags: Any) -> argparse.Namespace:
    """The namespace `picker --ram ... --vram ...` would give the app."""
    return argparse.Namespace(**flags)


async def wait_until(pilot: Pilot[Any], condition: Callable[[], bool], timeout: float = 60.0,
                     what: str = "the app") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)
        await pilot.pause()


async def wait_for_rows(pilot: Pilot[Any], app: PickerApp, previous: Any = None) -> None:
    """Until a (new) recommendations document is shown."""
    await wait_until(pilot, lambda: app.document is not None and app.document is not previous,
                     what="recommendations")
    await pilot.pause()


def static_text(app: Any, selector: str) -> str:
    """What a Static widget shows, as plain text."""
    import io

    from rich.console import Console
    from textual.widgets import Static

    console = Console(width=120, file=io.StringIO(), record=True)
    console.print(app.query_one(selector, Static).content)
    return console.export_text()


def detail_text(app: PickerApp) -> str:
    return static_text(app, "#detail-text")


def record(**fields: Any) -> Any:
    """A RecommendationRecord for widget tests: a CPU-placed 1B model, `fields` changed."""
    from picker.rank.records import (
        CommandsRecord,
        LicenseRecord,
        RecommendationRecord,
        SpeedRecord,
    )

    speed = SpeedRecord(estimate=20.0, range=(15.0, 25.0), measured=None, basis="estimate",
                        prompt_estimate=None, bound=None, empty_context=None, method="",
                        prompt_method=None, bandwidth_sources=(), measured_source=None)
    base = RecommendationRecord(
        rank=1, model_id="m", name="m", family="f", parameters=1e9, active_parameters=1e9,
        quant="Q4_K_M", repo=None, file=None, files=(), vision_projector=None,
        download_bytes=None, download_size_estimated=False, placement="cpu", n_gpu_layers=0,
        context=4096, memory={}, speed=speed, score=50.0, quality_basis="no benchmark",
        components={}, why={}, quant_reason=None, quality_detail={}, gpu_split=None,
        comparison=None, guidance=None, license=LicenseRecord("mit", True, False),
        capabilities=(), commands=CommandsRecord(None, "picker smoke m:Q4_K_M"), notes=())
    return base._replace(**fields)

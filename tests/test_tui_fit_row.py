"""The selected row through `picker fit`: its advice in the detail pane, its llama-server
command on the clipboard (e), each the CLI's own output for the same row and machine."""

from __future__ import annotations

import json
from typing import Any

from picker.cli import build_parser
from picker.rank.records import RecommendationRecord
from picker.tui.app import PickerApp
from picker.tui.fit_row import fit_arguments
from picker.tui.widgets.model_table import ModelTable
from tests.cli_helpers import run_picker
from tests.tui_helpers import detail_text, static_text, wait_for_rows, wait_until

# a 12 GB GPU: the 20-30B models are ranked partly on the GPU, where the advisor has advice
FLAGS = ["--ram", "64G", "--vram", "12G", "--cpu-threads", "8", "--memory-bandwidth", "80"]


def what_if_app() -> PickerApp:
    return PickerApp(build_parser("", FLAGS).parse_args(FLAGS))


def cli_fit(row: RecommendationRecord, *extra: str) -> str:
    arguments = fit_arguments(row)[1:]
    if extra:  # --json instead of --emit's command line
        arguments = arguments[: arguments.index("--emit")] + list(extra)
    result = run_picker("fit", *arguments, *FLAGS)
    assert result.returncode == 0, result.stderr
    return result.stdout


async def select(pilot: Any, app: PickerApp, wanted: dict[str, Any]) -> None:
    table = app.query_one(ModelTable)
    index = next(i for i, row in enumerate(table.visible_rows()) if row is wanted)
    table.move_cursor(row=index)
    await pilot.pause()


async def test_e_copies_the_rows_llama_server_command_as_picker_fit_prints_it() -> None:
    app = what_if_app()
    async with app.run_test(size=(160, 50)) as pilot:
        await wait_for_rows(pilot, app)
        row = app.query_one(ModelTable).visible_rows()[1]
        await select(pilot, app, row)
        await pilot.press("e")
        await wait_until(pilot, lambda: bool(app.clipboard), what="the copied command")
        copied = app.clipboard
        assert copied.startswith("llama-server ") and f" -c {row.context} " in copied
        assert f"Copied to the clipboard (picker fit {row.model_id}:{row.quant}" in \
            static_text(app, "#status")
        await wait_until(pilot, lambda: "This plan in llama-server (e copies it)"
                         in detail_text(app), what="the command in the detail")
    assert copied == cli_fit(row).strip()


async def test_a_row_partly_on_the_gpu_shows_picker_fits_advice() -> None:
    app = what_if_app()
    async with app.run_test(size=(200, 60)) as pilot:
        await wait_for_rows(pilot, app)
        rows = app.query_one(ModelTable).visible_rows()
        partly = next(row for row in rows if row.placement == "partial")
        await select(pilot, app, partly)
        await wait_until(pilot, lambda: "Settings that would help" in detail_text(app),
                         what="the advice")
        text = " ".join(detail_text(app).split())
        fitted = next(row for row in rows if row.placement == "gpu")
        await select(pilot, app, fitted)
        await wait_until(pilot, lambda: detail_text(app).startswith(fitted.name),
                         what="the next detail")
        assert "Settings that would help" not in detail_text(app)  # nothing to advise
    advice = json.loads(cli_fit(partly, "--json"))["advice"]
    assert advice["changes"], "the CLI advises this row too"
    for change in advice["changes"]:  # each change, with its flags and what it saves
        saves = f"saves {change['saves_bytes'] / 2**30:.2f} GiB"
        assert f"{change['label']} ({change['flags']}): {saves}" in text

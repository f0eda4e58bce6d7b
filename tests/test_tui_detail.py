"""The detail pane's drawing, kept per width, is the drawing of what it wraps."""

from __future__ import annotations

import io

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from picker.tui.widgets.detail import DrawnOnce


def drawn(renderable: object, width: int, styles: bool = True) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, color_system="truecolor")
    console.print(renderable)
    return console.export_text(styles=styles)


def test_drawn_once_draws_as_its_renderable_at_every_width() -> None:
    table = Table("Benchmark", "Score", "Closed models", box=None, padding=(0, 1))
    table.add_row("MMLU (5-shot)", "71.3", "GPT-4o 88.7, Claude 3.5 Sonnet 88.3, Gemini 1.5 Pro 85.9")
    group = Group(Text("Memory", style="bold underline"), table, Text("$ picker fit x", style="green"))
    once = DrawnOnce(group)
    for width in (80, 30, 80, 57):
        assert drawn(once, width) == drawn(group, width)
    assert drawn(once, 30).count("\n") > drawn(once, 80).count("\n")  # narrower: wrapped anew


def test_detail_reports_the_speed_of_the_rows_own_settings_with_its_basis() -> None:
    """The ranking's estimate for the row's quant, placement, context and GPU layers, as
    `picker recommend --json` computes it on a what-if machine, with the figures its basis
    names and the llama-bench line that measures the same runs."""
    from picker.hardware.overrides import HardwareOverrides
    from picker.rank.request import RankRequest, rank
    from picker.tui.widgets.detail import render_detail

    request = RankRequest(limit=2, overrides=HardwareOverrides(
        ram_bytes=64 << 30, cpu_threads=8, memory_bandwidth_gbps=89.6))
    ranking = rank(request)
    row = ranking.records[0]
    speed = row.speed
    assert speed.empty_context is not None and speed.prompt_estimate is not None
    text = drawn(render_detail(row, ranking.hardware, None), 200, styles=False)
    assert (f"Speed at these settings ({row.quant} · {row.placement} · context "
            f"{row.context:,} · n_gpu_layers {row.n_gpu_layers})") in text
    assert f"~{speed.estimate:.1f} tokens/s at a half-full context" in text
    assert f"(range {speed.range[0]:.1f}-{speed.range[1]:.1f})" in text
    assert f"~{speed.empty_context:.1f} at an empty one (llama-bench tg128)" in text
    assert f"~{speed.prompt_estimate:,.0f} tokens/s (llama-bench pp512" in text
    assert "89.6 GB/s peak" in text  # the stated memory system is the basis
    assert f"llama-bench -m {row.file} -ngl {row.n_gpu_layers} -t 8" in text


def test_detail_says_what_it_does_not_know() -> None:
    """No prompt estimate, no file, no bandwidth sources and a thread count the probe could
    not read: each is said as unknown or left out, never invented."""
    from picker.tui.widgets.detail import render_detail
    from tests.tui_helpers import record

    row = record(file=None)
    text = drawn(render_detail(row, {"cpu": {"inference_threads": "many"}}, None), 120,
                 styles=False)
    assert "~20.0 tokens/s at a half-full context (range 15.0-25.0)" in text
    assert "prompt      not estimated" in text
    assert "llama-bench -m MODEL.gguf -ngl 0 " in text  # no -t from an unreadable thread count
    assert "basis" not in text


def test_detail_names_the_experts_a_row_keeps_on_the_cpu() -> None:
    """A row the table marks `gpu+moe` is not said to be plain `gpu` in the detail pane: its
    title and its speed's settings say how many layers' experts stay on the CPU."""
    from picker.tui.widgets.detail import render_detail
    from tests.tui_helpers import record

    row = record(placement="gpu", n_gpu_layers=41, n_cpu_moe=30)
    text = drawn(render_detail(row, {}, None), 200, styles=False)
    assert "Q4_K_M · gpu + experts of 30 layers on CPU · context 4096 · n_gpu_layers 41" in text
    assert "(Q4_K_M · gpu + experts of 30 layers on CPU · context 4,096 · n_gpu_layers 41)" in text
    plain = drawn(render_detail(record(placement="gpu", n_gpu_layers=41), {}, None), 200,
                  styles=False)
    assert "Q4_K_M · gpu · context 4096" in plain and "experts" not in plain

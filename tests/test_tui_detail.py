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
    from picker.rank.request import RankRequest, recommendations_document
    from picker.tui.widgets.detail import render_detail

    request = RankRequest(limit=2, overrides=HardwareOverrides(
        ram_bytes=64 << 30, cpu_threads=8, memory_bandwidth_gbps=89.6))
    document = recommendations_document(request)
    row = document["recommendations"][0]
    speed = row["tokens_per_second"]
    text = drawn(render_detail(row, document, None), 200, styles=False)
    assert (f"Speed at these settings ({row['quant']} · {row['placement']} · context "
            f"{row['context']:,} · n_gpu_layers {row['n_gpu_layers']})") in text
    assert f"~{speed['estimate']:.1f} tokens/s at a half-full context" in text
    assert f"(range {speed['range'][0]:.1f}-{speed['range'][1]:.1f})" in text
    assert f"~{speed['empty_context']:.1f} at an empty one (llama-bench tg128)" in text
    assert f"~{speed['prompt_estimate']:,.0f} tokens/s (llama-bench pp512" in text
    assert "89.6 GB/s peak" in text  # the stated memory system is the basis
    assert f"llama-bench -m {row['file']} -ngl {row['n_gpu_layers']} -t 8" in text


def test_detail_without_a_usable_speed_leaves_the_section_out_or_says_unknown() -> None:
    from picker.tui.widgets.detail import render_detail

    row = {"model_id": "m", "quant": "Q4_K_M", "placement": "cpu", "context": 4096,
           "n_gpu_layers": 0}
    assert "Speed at these settings" not in drawn(render_detail(row, {}, None), 120)
    garbled = {**row, "tokens_per_second": {"estimate": "fast", "range": ["a"],
                                            "prompt_estimate": None, "bandwidth_sources": "x"}}
    text = drawn(render_detail(garbled, {"hardware": {"cpu": {"inference_threads": "many"}}},
                               None), 120, styles=False)
    assert "~? tokens/s at a half-full context" in text
    assert "prompt      not estimated" in text
    assert "llama-bench -m MODEL.gguf -ngl 0 " in text  # no -t from a garbled thread count
    assert "basis" not in text  # a string of sources is not a list of them

"""The detail pane: its speed at the settings shown and why, where the selected model's memory
goes, its scores, why it ranks there, how to run it."""

from __future__ import annotations

import re
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.markup import escape as escape_markup
from rich.measure import Measurement
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from picker.rank.records import CommandsRecord, RecommendationRecord
from picker.safetext import escape_controls
from picker.units import format_size

Row = RecommendationRecord
BAR_WIDTH = 24
SEGMENTS = (  # key in a memory plan device, label, style
    ("weights_bytes", "weights", "blue"),
    ("kv_cache_bytes", "KV cache", "magenta"),
    ("compute_bytes", "compute", "yellow"),
    ("output_bytes", "output", "cyan"),
    ("overhead_bytes", "margin", "red"),
)


class DrawnOnce:
    """A renderable drawn once per width and kept.

    Textual draws a Static's content twice per update (to measure its height, then to
    paint it) and again on every repaint (scrolling, focus); the detail's tables cost
    15-25 ms a time on a 2-core machine, more than a keystroke may take.
    """

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable
        self._drawn: dict[tuple[object, ...], list[Segment]] = {}

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        key = (id(console), options.max_width, options.min_width, options.height, options.no_wrap,
               options.overflow, options.justify, options.highlight, options.markup)
        segments = self._drawn.get(key)
        if segments is None:
            if len(self._drawn) >= 4:
                self._drawn.clear()
            segments = self._drawn[key] = list(console.render(self.renderable, options))
        yield from segments

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement.get(console, options, self.renderable)


def escaped(value: Any) -> Any:
    """Every string in a recommendation with its control characters shown escaped: names and
    sources come from GGUF files and user catalogs, and the detail draws what it is given."""
    if isinstance(value, str):
        return escape_controls(value)
    if isinstance(value, dict):
        return {escaped(key): escaped(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [escaped(item) for item in value]
    return value


def cell(value: object) -> str:
    """A table cell: Rich parses a str cell as markup, so brackets in a name are escaped."""
    return escape_markup(str(value))


def free_bytes_for(device: str, hardware: dict[str, Any]) -> int | None:
    """Free memory of a plan's device ("cpu", "gpu0", "CUDA0", ...) in the probe document."""
    if device.lower().startswith("cpu"):
        return (hardware.get("memory") or {}).get("available_bytes")
    match = re.search(r"(\d+)$", device)
    gpus = hardware.get("gpus") or []
    if match and int(match.group(1)) < len(gpus):
        free = gpus[int(match.group(1))].get("free_bytes")
        return int(free) if free is not None else None
    return None


def memory_bar(device: dict[str, Any], free_bytes: int | None) -> Text:
    """One stacked bar: each buffer's share of the device's free memory."""
    scale = max(free_bytes or 0, int(device.get("total_bytes") or 0), 1)
    bar = Text()
    used_cells = 0
    for key, _, style in SEGMENTS:
        share = int(device.get(key) or 0)
        cells = max(1, round(BAR_WIDTH * share / scale)) if share else 0
        bar.append("█" * cells, style=style)
        used_cells += cells
    bar.append("░" * max(BAR_WIDTH - used_cells, 0), style="dim")
    total = int(device.get("total_bytes") or 0)
    bar.append(f" {format_size(total)} of {format_size(free_bytes)} free")
    return bar


def memory_section(row: Row, hardware: dict[str, Any]) -> list[RenderableType]:
    listed = row.memory.get("devices")
    devices = [device for device in listed if isinstance(device, dict)] if isinstance(
        listed, list) else []
    parts: list[RenderableType] = [Text("Memory", style="bold underline")]
    for device in devices:
        name = str(device.get("device", "?"))
        free = device.get("free_bytes")
        if free is None:
            free = free_bytes_for(name, hardware)
        parts.append(Text(f"{name:<6}").append_text(memory_bar(device, free)))
    legend = Text("       ")
    for key, label, style in SEGMENTS:
        total = sum(int(device.get(key) or 0) for device in devices)
        legend.append("█", style=style).append(f" {label} {format_size(total)}  ")
    parts.append(legend)
    return parts


def quant_section(extras: dict[str, Any]) -> list[RenderableType]:
    quants = extras.get("quantizations") or []
    if not quants:
        return []
    table = Table("Quant", "Size", "Where", "GPU layers", "Max context", "Tok/s", box=None,
                  padding=(0, 1))
    for quant in quants:
        size = format_size(quant.get("download_bytes"))
        size += " ~" if quant.get("download_size_estimated") else ""
        speed = quant.get("tokens_per_second")
        table.add_row(cell(quant.get("quant", "?")), size, cell(quant.get("placement", "?")),
                      str(quant.get("n_gpu_layers", "?")), f"{quant.get('max_context') or 0:,}",
                      "-" if speed is None else f"~{speed:.0f}")
    return [Text("Every quantization on this machine", style="bold underline"), table]


def speed_section(row: Row, hardware: dict[str, Any]) -> list[RenderableType]:
    """The estimated generation and prompt speed for exactly the row's settings, with the
    basis (as `picker fit MODEL:QUANT --json`'s `speed`), and the llama-bench line that
    measures the same two figures (its tg128 is the empty-context estimate, pp512 the prompt's)."""
    speed = row.speed
    settings = (f"{row.quant} · {row.where} · "
                f"context {_count(row.context)} · n_gpu_layers {row.n_gpu_layers}")
    low, high = speed.range
    generation = f"~{_rate(speed.estimate)} tokens/s at a half-full context"
    generation += f" (range {_rate(low)}-{_rate(high)})"
    if speed.empty_context is not None:
        generation += f"; ~{_rate(speed.empty_context)} at an empty one (llama-bench tg128)"
    if speed.bound is not None:
        generation += f"; never above {_rate(speed.bound)} (full bandwidth, no overhead)"
    table = Table(box=None, show_header=False, padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row("generation", cell(generation))
    prompt = speed.prompt_estimate
    table.add_row("prompt", "not estimated" if prompt is None
                  else f"~{_count(prompt)} tokens/s (llama-bench pp512; rough, within 2x)")
    if speed.measured is not None:
        table.add_row("measured", cell(f"{_rate(speed.measured)} tokens/s generation here"
                                       + (f" ({speed.measured_source})"
                                          if speed.measured_source else "")))
    for index, source in enumerate(speed.bandwidth_sources):
        table.add_row("basis" if index == 0 else "", cell(source))
    for text in (speed.method, speed.prompt_method):
        if text:
            table.add_row("", Text(str(text), style="dim"))
    threads = (hardware.get("cpu") or {}).get("inference_threads")
    table.add_row("check", Text(f"$ {_llama_bench_line(row, threads)}", style="green"))
    return [Text(f"Speed at these settings ({settings})", style="bold underline"), table]


def _rate(value: Any) -> str:
    return f"{value:.1f}" if isinstance(value, int | float) else "?"


def _count(value: Any) -> str:
    return f"{value:,.0f}" if isinstance(value, int | float) else "?"


def _llama_bench_line(row: Row, threads: Any) -> str:
    """llama-bench with the row's GPU layers and the threads the estimate assumes: its
    default pp512 and tg128 runs."""
    line = f"llama-bench -m {row.file or 'MODEL.gguf'} -ngl {row.n_gpu_layers}"
    return line + (f" -t {threads}" if isinstance(threads, int) else "")


def benchmark_section(extras: dict[str, Any]) -> list[RenderableType]:
    benchmarks = extras.get("benchmarks") or []
    if not benchmarks:
        return [Text("Benchmarks: none published for this model in the catalog", style="dim")]
    table = Table("Benchmark", "Score", "Closed models", "Source", box=None, padding=(0, 1))
    for bench in benchmarks:
        closed = ", ".join(f"{name} {score:g}" for name, score in (bench.get("closed") or {}).items())
        setting = f" ({bench['setting']})" if bench.get("setting") else ""
        table.add_row(cell(f"{bench.get('benchmark', '?')}{setting}"), cell(bench.get("score", "?")),
                      cell(closed or "-"), cell(bench.get("source", "?")))
    return [Text("Benchmarks", style="bold underline"), table]


def why_section(row: Row) -> list[RenderableType]:
    parts: list[RenderableType] = [Text("Why it ranks here", style="bold underline")]
    parts += [Text(f"• {key}: {text}") for key, text in row.why.items()]
    return parts


def cost_section(row: Row) -> list[RenderableType]:
    """Local (electricity + the GPUs' purchase), renting the same GPUs and closed APIs, per
    month, and the source document's claim where it differs from the cited prices."""
    cost = row.cost or {}
    if not cost.get("summary"):
        return []
    parts: list[RenderableType] = [
        Text(f"Cost of {cost.get('tokens_per_month', 0):,} tokens a month", style="bold underline"),
        Text(str(cost["summary"])), Text(str(cost.get("assumptions", "")), style="dim")]
    seed = cost.get("seed_claim")
    if isinstance(seed, dict) and seed.get("differs"):
        parts.append(Text(f"Source document: {seed.get('claim', '')}. From the cited prices: "
                          f"{seed['differs']}.", style="dim"))
    return parts


def commands_section(row: Row) -> list[RenderableType]:
    commands = row.commands
    values = (commands.download, commands.smoke, commands.llama_server)
    return [Text("Run it yourself", style="bold underline"),
            *(Text(f"$ {command}", style="green") for command in values if command)]


def advice_section(fit_document: dict[str, Any] | None) -> list[RenderableType]:
    """`picker fit`'s settings advisor for a row that fits only partly on the GPUs (or not at
    all): each change with what it saves and what it costs. Nothing while it is worked out,
    or where the whole model is on the GPUs already."""
    from picker.tui.fit_row import advice_lines

    lines = advice_lines(fit_document or {})
    if not lines:
        return []
    return [Text("Settings that would help (picker fit's advisor)", style="bold underline"),
            *(Text(f"· {line}") for line in lines)]


def export_section(fit_document: dict[str, Any] | None) -> list[RenderableType]:
    """The row's plan as llama-server's command line (`picker fit ... --emit llama-server`)."""
    if not fit_document:
        return []
    if fit_document.get("error"):
        return [Text(f"picker fit: {fit_document['error']}", style="red")]
    emitted = fit_document.get("emit") or {}
    if not emitted.get("text"):
        return []
    return [Text("This plan in llama-server (e copies it)", style="bold underline"),
            Text(f"$ {emitted['text']}", style="green")]


def hosts_section(hosts_lines: list[str] | None) -> list[RenderableType]:
    """`picker --hosts ...`: this row's plan across those machines (llama.cpp RPC)."""
    if not hosts_lines:
        return []
    return [Text("These machines together (llama.cpp RPC)", style="bold underline"),
            *(Text(line, style="green" if line.startswith("on ") else "") for line in hosts_lines)]


def escaped_record(row: Row) -> Row:
    """The record with control characters shown escaped in every string the pane draws:
    names and sources come from GGUF files and user catalogs."""
    speed = row.speed
    return row._replace(
        model_id=escape_controls(row.model_id), name=escape_controls(row.name),
        quant=escape_controls(row.quant), file=escaped(row.file),
        placement=escape_controls(row.placement), memory=escaped(row.memory),
        why={escape_controls(key): escape_controls(text) for key, text in row.why.items()},
        cost=escaped(row.cost),
        commands=CommandsRecord(*(escaped(command) for command in row.commands)),
        speed=speed._replace(
            method=escape_controls(speed.method), prompt_method=escaped(speed.prompt_method),
            bandwidth_sources=tuple(escape_controls(s) for s in speed.bandwidth_sources),
            measured_source=escaped(speed.measured_source)))


def render_detail(row: Row, hardware: dict[str, Any], extras: dict[str, Any] | None = None,
                  smoke_report: str | None = None,
                  hosts_lines: list[str] | None = None,
                  fit_document: dict[str, Any] | None = None) -> RenderableType:
    """`extras` (every quant's fit, every benchmark) arrive later from a worker; until then
    those sections say they are being worked out. `hosts_lines`: the plan across the
    machines of `picker --hosts`. `fit_document`: `picker fit`'s for the row (its advice and
    its llama-server line), from a worker too."""
    row, extras = escaped_record(row), escaped(extras)  # the hardware is read for sizes only
    fit_document = escaped(fit_document)
    hosts_lines = escaped(hosts_lines)
    smoke_report = escape_controls(smoke_report, keep_newlines=True) if smoke_report else None
    title = Text(row.name or row.model_id, style="bold")
    title.append(f"  {row.quant} · {row.where} · "
                 f"context {row.context} · n_gpu_layers {row.n_gpu_layers}")
    sections: list[RenderableType] = [title]
    if smoke_report:
        sections += [Text(""), Text("Smoke test on this machine", style="bold underline"),
                     Text(smoke_report)]
    if extras is None:
        pending: list[RenderableType] = [Text("Planning every quantization...", style="dim")]
        middle = [pending]
    else:
        middle = [quant_section(extras), benchmark_section(extras)]
    for section in (memory_section(row, hardware), speed_section(row, hardware),
                    advice_section(fit_document), hosts_section(hosts_lines), why_section(row),
                    *middle, cost_section(row), commands_section(row),
                    export_section(fit_document)):
        if section:
            sections += [Text(""), *section]
    return Group(*sections)

"""The model table: one row per recommendation, sortable by column, filtered as you type."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from picker.rank.records import RecommendationRecord
from picker.safetext import escape_controls
from picker.tui.widgets.cached_table import CachedTable

Row = RecommendationRecord  # what --json prints for a row, typed

# (key, label, sort key) for every column; the sort key reads a recommendation.
COLUMNS: tuple[tuple[str, str, Callable[[Row], str | float | int | bool]], ...] = (
    ("model", "Model", lambda r: (r.name or r.model_id).lower()),
    ("params", "Params", lambda r: r.parameters or 0),
    ("quant", "Quant", lambda r: r.quant),
    ("size", "Size", lambda r: r.download_bytes or 0),
    ("placement", "Where", lambda r: {"gpu": 0, "partial": 1, "cpu": 2}.get(r.placement, 3)
     + (0.5 if r.n_cpu_moe else 0)),  # experts on the CPU: after whole on the GPU
    ("speed", "Tok/s", lambda r: speed_of(r)[0]),
    ("score", "Score", lambda r: score_of(r)),
    ("fit", "Free", lambda r: fit_fraction(r)),
    ("disk", "Disk", lambda r: r.on_disk),
)
NAME_WIDTH = 24
DESCENDING_BY_DEFAULT = {"params", "size", "speed", "score", "disk"}


def speed_of(row: Row) -> tuple[float, bool]:
    """(tokens per second, measured?) of a recommendation."""
    if row.speed.measured:
        return row.speed.measured, True
    return row.speed.estimate, False


def fit_fraction(row: Row) -> float:
    """Share of the memory that stays free with this model loaded (0..1)."""
    fit = row.components.get("fit")
    return float(fit.value or 0.0) if fit is not None else 0.0


def fit_label(row: Row) -> Text:
    fraction = fit_fraction(row)
    style = "green" if fraction >= 0.3 else "yellow" if fraction >= 0.1 else "red"
    return Text(f"{fraction:.0%}", style=style)


def shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def compact_size(size_bytes: int | None) -> str:
    """Table-width sizes: 0.1G, 4.7G, 140G."""
    if not size_bytes:
        return "?"
    gib = size_bytes / 1024**3
    return f"{gib:.1f}G" if gib < 100 else f"{gib:.0f}G"


def score_cell(row: Row) -> Text:
    """The score; dim with a mark when it rests on no use-case benchmark (ranked after those)."""
    basis = row.quality_basis
    if basis.startswith("no benchmark"):
        return Text(f"{score_of(row):.0f}?", style="dim")
    if basis.startswith("other"):
        return Text(f"{score_of(row):.0f}*", style="dim")
    return Text(f"{score_of(row):.0f}")


def score_of(row: Row) -> float:
    return row.score


def format_params(count: float | int | None) -> str:
    if not count:
        return "?"
    billions = count / 1e9
    return f"{billions:.1f}B" if billions < 10 else f"{billions:.0f}B"


def row_cells(row: Row) -> list[Text | str]:
    speed, measured = speed_of(row)
    placement = row.placement
    placement_style = {"gpu": "green", "partial": "yellow", "cpu": "cyan"}.get(placement, "red")
    if row.n_cpu_moe:  # MoE experts of some layers on the CPU (the detail pane says how many)
        placement, placement_style = f"{placement}+moe", "yellow"
    return [  # names from a GGUF or a user catalog: Text (never parsed as markup), escaped
        Text(shorten(escape_controls(row.name or row.model_id), NAME_WIDTH)),
        format_params(row.parameters),
        Text(escape_controls(row.quant)),
        compact_size(row.download_bytes),
        Text(placement, style=placement_style),
        Text(f"{speed:.0f}" + (" m" if measured else " ~"), style="bold" if measured else ""),
        score_cell(row),
        fit_label(row),
        "●" if row.on_disk else "",
    ]


def haystack(row: Row) -> str:
    """What type-to-filter searches: the model's name, id, family, quant and placement."""
    return " ".join((row.name, row.model_id, row.family, row.quant, row.placement)).lower()


class ModelTable(CachedTable):
    """Rows keyed by `model_id:quant`; keeps its data so sorting and filtering need no recompute."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.rows_data: list[Row] = []
        self.filter_text = ""
        self.sort_column: str | None = None
        self.sort_reverse = False
        self.shown_keys: list[str] = []
        # Per row, until set_rows: its key, what the filter searches, and its cells.
        self.prepared: list[tuple[Row, str, str]] = []
        self.cells: dict[str, list[Text | str]] = {}

    def on_mount(self) -> None:
        for key, label, _ in COLUMNS:
            self.add_column(label, key=key)

    def set_rows(self, rows: Sequence[Row]) -> None:
        self.rows_data = list(rows)
        self.prepared = [(row, row_key(row), haystack(row)) for row in self.rows_data]
        self.cells.clear()
        self.forget()
        self.refill()

    def set_filter(self, text: str) -> None:
        self.filter_text = text.strip()
        self.refill(force=False)

    def sort_by(self, column: str) -> None:
        if self.sort_column == column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column = column
            self.sort_reverse = column in DESCENDING_BY_DEFAULT
        self.refill()

    def visible_rows(self) -> list[Row]:
        words = self.filter_text.lower().split()
        rows = [row for row, _, text in self.prepared if all(word in text for word in words)]
        if self.sort_column is not None:
            key = next(sort_key for name, _, sort_key in COLUMNS if name == self.sort_column)
            rows.sort(key=key, reverse=self.sort_reverse)
        return rows

    def refill(self, force: bool = True) -> None:
        rows = self.visible_rows()
        keys = [row_key(row) for row in rows]
        if not force and keys == self.shown_keys:
            return  # typing narrowed nothing: the table stays as it is, no redraw
        self.shown_keys = keys
        selected = self.selected_key()
        self.clear()
        cells = self.cells
        for row, key in zip(rows, keys, strict=True):
            if key not in cells:
                cells[key] = row_cells(row)
        self.add_rows_at_once([(key, cells[key]) for key in keys])
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected))

    def selected_key(self) -> str | None:
        if self.row_count == 0:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key
        except Exception:
            return None
        return str(key.value) if key.value is not None else None

    def selected_row(self) -> Row | None:
        key = self.selected_key()
        return next((row for row in self.rows_data if row_key(row) == key), None)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))


def row_key(row: Row) -> str:
    return f"{row.model_id}:{row.quant}"


def detail_key(row: Row) -> str:
    """The row's quant at its context: what its detail extras and fit plans are kept under."""
    return f"{row_key(row)}@{row.context}"

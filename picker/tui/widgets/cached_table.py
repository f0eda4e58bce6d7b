"""A DataTable that keeps what it drew while its rows come and go.

picker filters its table by clearing it and adding the rows that match. Textual's
DataTable then forgets every drawn cell and measures every row again, which on this
2-core machine made a filter keystroke cost 50-200 ms. This subclass keeps both across
those changes, until `forget()` says the rows' contents changed, adds many rows at once
and measures one-line text cells from their text. It reaches into DataTable's internals
(`_render_cell`, `_update_dimensions`, `_get_row_style`, and add_row's bookkeeping;
Textual 8.2, pinned); the table tests and snapshots check that it draws exactly what
DataTable draws.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from itertools import zip_longest
from typing import Any

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey, DuplicateKey, Row, RowKey

CELL_CACHE_SIZE = 20_000  # drawn cells kept (a catalog's rows x columns x cursor/stripe states)


def _one_line_width(cell: object) -> int | None:
    """The width DataTable measures for a cell of plain text (a Text, or a str without markup
    or emoji codes) or an empty one; None for anything else."""
    if cell is None:
        return 0
    if isinstance(cell, Text):
        text = cell.plain
    elif isinstance(cell, str) and "[" not in cell and ":" not in cell:
        text = cell
    else:
        return None
    lines = text.splitlines()
    return max(map(cell_len, lines)) if lines else 0


class CachedTable(DataTable[Any]):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # Each drawn cell, with the row index it was drawn at: DataTable marks every
        # segment with its row and column, which mouse clicks read.
        self._cells: dict[tuple[Any, ...], tuple[int, list[list[Segment]]]] = {}
        self._row_meta: dict[tuple[int, int], Style] = {}
        self._measured: set[RowKey] = set()
        # Rich styles DataTable asks for on every line drawn; each walks up the DOM blending
        # colours (a third of a redraw here). Kept until this node's styles change, as
        # Textual keeps its component styles.
        self._styles: dict[object, Style] = {}

    def forget(self) -> None:
        """The rows' contents changed: draw and measure them anew."""
        self._cells.clear()
        self._measured.clear()

    def notify_style_update(self) -> None:
        self._cells.clear()
        self._styles.clear()
        super().notify_style_update()

    @property
    def rich_style(self) -> Style:
        style = self._styles.get(None)
        if style is None:
            style = self._styles[None] = super().rich_style
        return style

    def _get_row_style(self, row_index: int, base_style: Style) -> Style:
        if row_index < max(self.fixed_rows, 0) or not self.zebra_stripes:
            return super()._get_row_style(row_index, base_style)
        parity = row_index % 2
        style = self._styles.get(parity)
        if style is None:
            style = self._styles[parity] = super()._get_row_style(row_index, base_style)
        return style

    def add_rows_at_once(self, rows: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """`add_row(*cells, key=key)` for each (key, cells), one-line rows without labels.

        DataTable's add_row revalidates the cursor, sorts the columns and asks for an idle
        pass once per row (~85 us a row: 110 ms for the 1,300 rows that fit of a 5,000-model
        catalog); here once for them all, with the same result.
        """
        if not rows:
            return
        was_empty = self.row_count == 0
        column_keys = [column.key for column in self.ordered_columns]
        for key, cells in rows:
            row_key = RowKey(key)
            if row_key in self._row_locations:
                raise DuplicateKey(f"The row key {row_key!r} already exists.")
            if len(cells) > len(column_keys):
                raise ValueError("More values provided than there are columns.")
            self._row_locations[row_key] = len(self.rows)
            self._data[row_key] = dict(zip_longest(column_keys, cells))
            self.rows[row_key] = Row(row_key, 1, None, False)
            self._new_rows.add(row_key)
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        if was_empty and self.columns and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()
        self._update_count += len(rows)
        self.check_idle()

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # Column widths only grow (clear() keeps them), so a row measured once need not be again.
        unmeasured = [key for key in new_rows if key not in self._measured]
        self._measured.update(unmeasured)
        # One-line text cells are measured here from their text, as DataTable's measure() would
        # (it formats and measures each cell through the console: 0.3 ms a row).
        measure_here: dict[ColumnKey, int] = {}
        elsewhere = []
        for row_key in unmeasured:
            cells, row = self._data.get(row_key), self.rows.get(row_key)
            measured = [_one_line_width(cell) for cell in cells.values()] if cells is not None else []
            widths = [width for width in measured if width is not None]
            if (cells is None or row is None or row.label is not None or row.auto_height
                    or len(widths) < len(measured)):
                elsewhere.append(row_key)
                continue
            for column_key, width in zip(cells, widths, strict=True):
                if width > measure_here.get(column_key, 0):
                    measure_here[column_key] = width
        for column_key, width in measure_here.items():
            column = self.columns.get(column_key)
            if column is not None:
                column.content_width = max(column.content_width, width)
        super()._update_dimensions(elsewhere)

    def _render_cell(self, row_index: int, column_index: int, base_style: Style, width: int,
                     cursor: bool = False, hover: bool = False) -> list[list[Segment]]:
        if row_index < 0 or column_index < 0:  # the header: as DataTable draws it
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        key = (self._row_locations.get_key(row_index), self._column_locations.get_key(column_index),
               base_style, width, cursor, hover, self.show_cursor, self._show_hover_cursor,
               self._pseudo_class_state)
        cached = self._cells.get(key)
        if cached is None:
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
            if len(self._cells) >= CELL_CACHE_SIZE:
                self._cells.clear()
            self._cells[key] = (row_index, lines)
            return lines
        drawn_at, lines = cached
        if drawn_at == row_index:
            return lines
        # The same cell further up or down: only its row mark differs.
        meta = self._row_meta.get((row_index, column_index))
        if meta is None:
            meta = self._row_meta[row_index, column_index] = Style.from_meta(
                {"row": row_index, "column": column_index})
        return [[Segment(text, style + meta if style else meta, control) for text, style, control in line]
                for line in lines]

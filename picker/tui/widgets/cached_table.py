"""A DataTable that keeps what it drew while its rows come and go.

picker filters its table by clearing it and adding the rows that match. Textual's
DataTable then forgets every drawn cell and measures every row again, which on this
2-core machine made a filter keystroke cost 50-200 ms. This subclass keeps both across
those changes, until `forget()` says the rows' contents changed. It reaches into three
DataTable methods (`_render_cell`, `_update_dimensions`, `_get_row_style`; Textual 8);
the table tests and snapshots check that it draws exactly what DataTable draws.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.segment import Segment
from rich.style import Style
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

CELL_CACHE_SIZE = 20_000  # drawn cells kept (a catalog's rows x columns x cursor/stripe states)


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

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        # Column widths only grow (clear() keeps them), so a row measured once need not be again.
        unmeasured = [key for key in new_rows if key not in self._measured]
        self._measured.update(unmeasured)
        super()._update_dimensions(unmeasured)

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

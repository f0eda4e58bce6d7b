"""An Input of fixed size whose typing repaints only itself."""

from __future__ import annotations

from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Input


class FixedInput(Input):
    """Textual's Input stores its text width as its virtual size, a layout property: every
    keystroke would re-lay out the whole screen (~10 ms here). With a width and height set
    in CSS nothing around it can move, so the new virtual size is stored without a layout;
    the Input still scrolls its text by it."""

    def _watch_value(self, value: str) -> None:
        if not self.styles.auto_dimensions:
            self.set_reactive(Widget.virtual_size, Size(self.content_width, 1))
        super()._watch_value(value)

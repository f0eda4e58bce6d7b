"""A Footer that rebuilds its keys only when the keys it shows change."""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer

Shown = tuple[tuple[str, str, str, bool, str], ...]


def shown_bindings(screen: Screen[object]) -> Shown:
    """What a Footer shows of a screen's bindings: key, action, description, enabled, tooltip."""
    return tuple((key, active.binding.action, active.binding.description, active.enabled, active.tooltip)
                 for key, active in screen.active_bindings.items() if active.binding.show)


class SteadyFooter(Footer):
    """Textual's Footer mounts all its keys anew whenever focus moves (15-55 ms each time
    here, twice for one move); picker's keys are the app's and stay the same, so a move
    from the table to the filter box and back rebuilds nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.composed_for: Shown | None = None

    def bindings_changed(self, screen: Screen[object]) -> None:
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            self.composed_for = None  # Footer leaves itself as it was: rebuild next time
        else:
            shown = shown_bindings(screen)
            if shown == self.composed_for:
                return
            self.composed_for = shown
        super().bindings_changed(screen)

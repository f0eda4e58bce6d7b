"""The model table alone: rows drawn once are drawn again elsewhere as a filter changes them."""

from __future__ import annotations

from textual.app import App, ComposeResult

from picker.rank.records import RecommendationRecord
from picker.tui.widgets.model_table import ModelTable
from tests.tui_helpers import record

NAMES = ("alpha x", "beta x", "gamma y", "delta y", "epsilon y")


class TableOnly(App[None]):
    def compose(self) -> ComposeResult:
        yield ModelTable(id="models")


def rows() -> list[RecommendationRecord]:
    return [record(model_id=name.replace(" ", "-"), name=name, parameters=1e9 * (index + 1),
                   score=50.0 - index)
            for index, name in enumerate(NAMES)]


async def test_a_click_selects_the_row_under_it_after_a_filter_moved_it() -> None:
    """`delta y` is drawn third, then, filtered, first: the click must still reach the row
    it is drawn at (DataTable reads the row from the drawn cell)."""
    app = TableOnly()
    async with app.run_test(size=(100, 12)) as pilot:
        table = app.query_one(ModelTable)
        table.set_rows(rows())
        await pilot.pause()
        table.set_filter("y")
        await pilot.pause()
        assert [row.name for row in table.visible_rows()] == ["gamma y", "delta y", "epsilon y"]
        for index in (1, 2, 0):
            await pilot.click("#models", offset=(3, 1 + index))  # under the header line
            assert table.cursor_row == index
            assert table.selected_row() == table.visible_rows()[index]


async def test_new_rows_are_drawn_with_their_new_values() -> None:
    app = TableOnly()
    async with app.run_test(size=(100, 12)) as pilot:
        table = app.query_one(ModelTable)
        table.set_rows(rows())
        await pilot.pause()
        changed = rows()
        changed[0] = changed[0]._replace(name="alpha z")
        table.set_rows(changed)
        await pilot.pause()
        assert "alpha z" in "".join(strip.text for strip in table.render_lines(table.region.reset_offset))


async def test_a_row_is_measured_again_when_its_contents_change() -> None:
    app = TableOnly()
    async with app.run_test(size=(100, 12)) as pilot:
        table = app.query_one(ModelTable)
        table.set_rows(rows())
        await pilot.pause()
        narrow = table.columns[next(iter(table.columns))].content_width
        table.set_filter("y")  # rows removed and added again: nothing to measure anew
        table.set_filter("")
        await pilot.pause()
        assert table.columns[next(iter(table.columns))].content_width == narrow
        longer = rows()
        longer[0] = longer[0]._replace(name="alpha with a much longer name")
        table.set_rows(longer)
        await pilot.pause()
        assert table.columns[next(iter(table.columns))].content_width > narrow


async def test_kept_styles_follow_a_theme_change() -> None:
    from textual.widgets import DataTable

    app = TableOnly()
    async with app.run_test(size=(100, 12)) as pilot:
        table = app.query_one(ModelTable)
        table.set_rows(rows())
        await pilot.pause()
        dark = table.rich_style
        app.theme = "textual-light"
        await pilot.pause()
        assert table.rich_style != dark
        assert table.rich_style == super(DataTable, table).rich_style  # as Textual computes it

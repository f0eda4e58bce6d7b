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


class TwoTables(App[None]):
    def compose(self) -> ComposeResult:
        from textual.widgets import DataTable

        from picker.tui.widgets.cached_table import CachedTable

        yield CachedTable(id="cached")
        yield DataTable(id="plain")


async def test_rows_added_at_once_are_measured_and_drawn_as_datatable_does() -> None:
    """Wide characters, empty cells, several lines, markup and emoji codes in a str (those
    DataTable measures itself), a non-text cell: the same widths, height and drawing."""
    from rich.text import Text
    from textual.widgets import DataTable

    from picker.tui.widgets.cached_table import CachedTable

    rows = [
        ("a", [Text("Qwen3 大模型 🚀"), "7.0B", Text("Q4_K_M", style="bold"), None]),
        ("b", [Text(""), "", Text("two\nlines"), 1.5]),
        ("c", [Text("x"), "[b]bold[/b] markup", Text("IQ4_XS"), ":rocket: emoji code"]),
        ("d", [Text("short name"), "●", Text("MXFP4_MOE"), 12345678]),
    ]
    app = TwoTables()
    async with app.run_test(size=(160, 20)) as pilot:
        cached, plain = app.query_one(CachedTable), app.query_one("#plain", DataTable)
        for table in (cached, plain):
            for label in ("Model", "Params", "Quant", "Other"):
                table.add_column(label, key=label)
        cached.add_rows_at_once(rows)
        for key, cells in rows:
            plain.add_row(*cells, key=key)
        await pilot.pause()
        assert [column.content_width for column in cached.ordered_columns] == [
            column.content_width for column in plain.ordered_columns]
        assert cached.virtual_size == plain.virtual_size and cached.row_count == plain.row_count == 4
        assert cached.cursor_coordinate == plain.cursor_coordinate
        lines = [strip.text for strip in cached.render_lines(cached.region.reset_offset)]
        assert lines == [strip.text for strip in plain.render_lines(plain.region.reset_offset)]
        assert cached.get_row("d") == plain.get_row("d")

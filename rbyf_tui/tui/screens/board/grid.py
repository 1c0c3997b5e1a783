"""A keyboard-driven grid that draws only the lines on screen (Textual's line API), so a
1,000 x 100 matrix opens and sorts at once; DataTable measures every cell of every row."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cell = tuple[str, Style]  # text already padded to its column's width, and its style

HEADER_STYLE = Style(bold=True)
CURSOR_STYLE = Style(reverse=True, bold=True)


@dataclass(frozen=True)
class GridColumn:
    key: str
    header: str  # padded to width
    width: int


class ScoreGrid(ScrollView, can_focus=True):
    """Rows of cells under a fixed header; the first column stays put when scrolled
    sideways. The cursor is one cell (or row); a click on it posts Opened (enter is the
    screen's to bind, so that it shows in the footer)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "edge(-1)", "First row", show=False),
        Binding("end", "edge(1)", "Last row", show=False),
    ]

    cursor_row: reactive[int] = reactive(0, always_update=True)
    cursor_column: reactive[int] = reactive(0, always_update=True)

    class Moved(Message):
        """The cursor is on another cell."""

    class Opened(Message):
        """Enter (or a click) on the cursor's cell."""

    def __init__(self, *, row_cursor: bool = False, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.row_cursor = row_cursor  # the cursor is the whole row (left/right scroll)
        self.columns: list[GridColumn] = []
        self.row_keys: list[str] = []
        self.rows: list[Sequence[Cell]] = []
        self._offsets: list[int] = []

    # --- data -------------------------------------------------------------------------

    def set_data(self, columns: list[GridColumn], rows: list[tuple[str, Sequence[Cell]]],
                 cursor: tuple[int, int] | None = None) -> None:
        self.columns = columns
        self.row_keys = [key for key, _ in rows]
        self.rows = [cells for _, cells in rows]
        self._offsets = []
        x = 0
        for column in columns:
            self._offsets.append(x)
            x += column.width
        self.virtual_size = Size(x, len(rows) + 1)
        row, column = cursor if cursor is not None else (self.cursor_row, self.cursor_column)
        self.cursor_row = max(0, min(row, len(rows) - 1))
        self.cursor_column = max(0, min(column, len(columns) - 1))
        self.keep_cursor_visible()
        self.refresh()

    @property
    def cursor_key(self) -> tuple[str, str] | None:
        """(row key, column key) under the cursor."""
        if not self.rows:
            return None
        return self.row_keys[self.cursor_row], self.columns[self.cursor_column].key

    def cell_text(self, row: int) -> list[str]:
        return [text for text, _ in self.rows[row]]

    # --- drawing ----------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        if not self.columns:
            return Strip.blank(width, self.rich_style)
        scroll_x, scroll_y = self.scroll_offset
        if y == 0:
            cells: Sequence[Cell] = [(c.header, HEADER_STYLE) for c in self.columns]
            row = -1
        else:
            row = scroll_y + y - 1
            if row >= len(self.rows):
                return Strip.blank(width, self.rich_style)
            cells = self.rows[row]
        base = self.rich_style
        segments = []
        for index, (text, style) in enumerate(cells):
            if self.row_cursor:
                if row == self.cursor_row:
                    style = style + CURSOR_STYLE
            elif index == self.cursor_column and row in (self.cursor_row, -1):
                style = style + (CURSOR_STYLE if row >= 0 else Style(underline=True))
            segments.append(Segment(text, base + style))
        fixed_width = self.columns[0].width
        fixed = Strip(segments[:1], fixed_width)
        rest = Strip(segments[1:]).crop(scroll_x, scroll_x + max(0, width - fixed_width))
        return Strip.join([fixed, rest]).extend_cell_length(width, base).crop(0, width)

    # --- moving -----------------------------------------------------------------------

    def keep_cursor_visible(self) -> None:
        if not self.rows:
            return
        height = max(1, self.scrollable_content_region.height - 1)  # less the header
        top = self.scroll_offset.y
        if self.cursor_row < top:
            top = self.cursor_row
        elif self.cursor_row >= top + height:
            top = self.cursor_row - height + 1
        left = self.scroll_offset.x
        if self.cursor_column > 0:
            fixed_width = self.columns[0].width
            room = max(1, self.scrollable_content_region.width - fixed_width)
            start = self._offsets[self.cursor_column] - fixed_width
            end = start + self.columns[self.cursor_column].width
            if start < left:
                left = start
            elif end > left + room:
                left = end - room
        self.scroll_to(x=left, y=top, animate=False, immediate=True)

    def move_to(self, row: int, column: int) -> None:
        if not self.rows:
            return
        self.cursor_row = max(0, min(row, len(self.rows) - 1))
        self.cursor_column = max(0, min(column, len(self.columns) - 1))
        self.keep_cursor_visible()
        self.refresh()
        self.post_message(self.Moved())

    def action_move(self, rows: int, columns: int) -> None:
        self.move_to(self.cursor_row + rows, self.cursor_column + columns)

    def action_page(self, direction: int) -> None:
        step = max(1, self.scrollable_content_region.height - 2)
        self.move_to(self.cursor_row + direction * step, self.cursor_column)

    def action_edge(self, direction: int) -> None:
        self.move_to(0 if direction < 0 else len(self.rows) - 1, self.cursor_column)

    def action_open(self) -> None:
        if self.rows:
            self.post_message(self.Opened())

    def on_click(self, event: events.Click) -> None:
        if not self.columns or event.y < 1:
            return
        row = self.scroll_offset.y + event.y - 1
        x = event.x if event.x < self.columns[0].width else event.x + self.scroll_offset.x
        column = max(i for i, start in enumerate(self._offsets) if start <= x)
        if (row, column) == (self.cursor_row, self.cursor_column):
            self.action_open()
        else:
            self.move_to(row, column)

    def on_resize(self, event: events.Resize) -> None:
        self.keep_cursor_visible()

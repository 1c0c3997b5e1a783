"""A table of facts in columns that fit the width at hand (80 columns over SSH, or more): the
first column (a name) gets the room the others leave, up to its longest value; columns that
do not fit are left out, the last listed first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    cell: Callable[[Any], Text | str]
    right: bool = False  # numbers: aligned right
    most: int = 12  # the widest it gets; longer values end in …
    fit: Callable[[Any, int], Text] | None = None  # a value made to fit a width, if too wide


def _fit(text: Text, width: int, right: bool) -> Text:
    if text.cell_len > width:
        text = text.copy()
        text.truncate(width, overflow="ellipsis")
    pad = " " * (width - text.cell_len)
    return Text.assemble(pad, text) if right else Text.assemble(text, pad)


class FactsTable(DataTable[Text]):
    """One row per item, keyed; `show` replaces the rows and keeps the cursor's row."""

    DEFAULT_CSS = "FactsTable { scrollbar-size-vertical: 1; overflow-x: hidden; }"

    def __init__(self, columns: Sequence[Column], least: int = 14, *,
                 id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", cell_padding=0)
        self.specs = list(columns)
        self.least = least  # the first column is never narrower; other columns go first
        self.items: list[tuple[str, Any]] = []
        self.marks: dict[str, str] = {}  # column key -> a mark after its label (the sort)
        self.shown: list[str] = []  # the keys of the columns shown
        self._drawn_width = 0

    def show(self, items: Sequence[tuple[str, Any]], cursor: str | None = None) -> None:
        """Rows (key, item); the cursor on `cursor`'s row, else where it was."""
        self.items = list(items)  # before the width: the scrollbar depends on them
        self._draw(cursor if cursor is not None else self.current_key())

    def current_key(self) -> str | None:
        if not self.items or not self.row_count:
            return None
        row = min(self.cursor_row, self.row_count - 1)
        return self.coordinate_to_cell_key((row, 0)).row_key.value

    def current(self) -> Any:
        key = self.current_key()
        return next((item for k, item in self.items if k == key), None)

    def move_to(self, key: str) -> bool:
        try:
            self.move_cursor(row=self.get_row_index(key))
        except RowDoesNotExist:  # filtered out
            return False
        return True

    def on_resize(self) -> None:
        if self._width() != self._drawn_width:
            self._draw(self.current_key())

    def _width(self) -> int:
        region = self.content_region
        scrollbar = len(self.items) > region.height - 1  # rows below the header
        return max(self.least + 8, (region.width or 80) - scrollbar)

    def _draw(self, cursor: str | None) -> None:
        width = self._width()
        self._drawn_width = width
        cells = {c.key: [self._text(c, item) for _, item in self.items] for c in self.specs}
        labels = {c.key: c.label + self.marks.get(c.key, "") for c in self.specs}
        widths = {c.key: min(c.most, max([len(labels[c.key]),
                                          *(t.cell_len for t in cells[c.key])]))
                  for c in self.specs[1:]}
        shown = list(self.specs)
        while len(shown) > 1 and width - sum(widths[c.key] + 1 for c in shown[1:]) < self.least:
            shown.pop()
        room = width - sum(widths[c.key] + 1 for c in shown[1:])
        head = self.specs[0].key  # as wide as its longest value, if there is room
        first = min(room, max([self.least, len(labels[head]), *(t.cell_len for t in cells[head])]))
        self.shown = [c.key for c in shown]
        self.clear(columns=True)
        for n, c in enumerate(shown):
            w = first if n == 0 else widths[c.key]
            label = _fit(Text(labels[c.key]), w, c.right)
            self.add_column(label if n == 0 else Text.assemble(" ", label),
                            width=w if n == 0 else w + 1, key=c.key)
        for row, (key, item) in enumerate(self.items):
            self.add_row(*(self._cell(c, item, cells[c.key][row], first) if n == 0 else
                           Text.assemble(" ", self._cell(c, item, cells[c.key][row],
                                                         widths[c.key]))
                           for n, c in enumerate(shown)), key=key)
        if cursor is not None:
            self.move_to(cursor)

    @staticmethod
    def _cell(column: Column, item: Any, text: Text, width: int) -> Text:
        if text.cell_len > width and column.fit is not None:
            text = column.fit(item, width)
        return _fit(text, width, column.right)

    @staticmethod
    def _text(column: Column, item: Any) -> Text:
        value = column.cell(item)
        return value if isinstance(value, Text) else Text(value)

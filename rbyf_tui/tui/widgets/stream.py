"""The live answer: plain text that grows token by token, wrapped incrementally.

Appending costs O(new text + one row): greedy word wrapping never changes rows before the
last one, so only the last row of the last line is wrapped again. The widget paints only
the visible rows (Line API), whatever the answer's length.

Following the end, it scrolls in jumps (as xterm's jump scroll does): when the text runs
past the bottom, the last row moves to the middle of the view and the rows below it fill
in. Textual redraws every visible row whenever a view scrolls, so scrolling one row per
new row cost a full repaint each time; this costs one per half a view of text (and over
SSH sends a fraction of the bytes).

Its rows are painted as strips kept per row of text: a jump or a new row paints only the
rows not painted before, not every row in view through Textual's styles cache.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from rich.cells import get_character_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar
from textual.strip import Strip
from textual.style import Style as BoxStyle
from textual.widget import Widget


def _width(ch: str) -> int:
    return 1 if " " <= ch < "\u0300" else get_character_cell_size(ch)


def wrap_starts(line: str, start: int, width: int) -> list[int]:
    """Start offsets of the rows of `line[start:]` wrapped greedily at `width` cells."""
    starts = [start]
    row, col, brk, brk_col = start, 0, -1, 0
    for i in range(start, len(line)):
        ch = line[i]
        if ch == " ":
            if col + 1 > width:  # a space past the edge ends the row and is dropped
                row = i + 1
                starts.append(row)
                col, brk = 0, -1
                continue
            col += 1
            brk, brk_col = i + 1, col
            continue
        w = _width(ch)
        if col + w > width:
            if brk > row:  # break after the last space
                row, col = brk, col - brk_col
            else:  # a word longer than the row: cut it
                row, col = i, 0
            starts.append(row)
            brk = -1
        col += w
    return starts


def plain_box(widget: Widget) -> bool:
    """No border, padding, outline or effect: every row is painted the same way."""
    styles = widget.styles
    return (not any(styles.gutter) and not any(edge for edge, _ in styles.outline)
            and styles.opacity == 1 and styles.text_opacity == 1 and not styles.tint.a
            and styles.hatch in (None, "none"))


def paint_rows(widget: Widget, row: Callable[[int], Strip], crop: Region) -> list[Strip]:
    """`widget.render_lines(crop)` for a widget in a plain box whose row `y` is `row(y)`:
    what Textual's styles cache makes of it (the row padded to the widget's width in its
    background, the app's line filters), without its work per row on every paint."""
    if not plain_box(widget):
        return Widget.render_lines(widget, crop)
    width = widget.size.width
    base, background = widget.background_colors
    pad = BoxStyle(background=base + background).rich_style
    filters = widget.get_line_filters()
    strips = []
    for y in crop.line_range:
        strip = row(y).adjust_cell_length(width, pad)  # kept by the row: filters are too
        for line_filter in filters:
            strip = strip.apply_filter(line_filter, background)
        strips.append(strip)
    if crop.column_span != (0, width):
        strips = [strip.crop(*crop.column_span) for strip in strips]
    return strips


class StreamView(ScrollView, can_focus=True):
    """Text that only grows, wrapped to the widget's width, following its end."""

    DEFAULT_CSS = """
    StreamView {
        height: 1fr;
        scrollbar-gutter: stable;
        overflow-x: hidden;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._lines: list[str] = [""]
        self._rows: list[str] = [""]
        self._tail_row0 = 0  # index in _rows of the last line's first row
        self._tail_starts: list[int] = [0]  # row starts within the last line
        self._wrap_width = 0
        self.auto_scroll = True
        self._line_style: Style | None = None
        self._painted: dict[int, tuple[str | None, int, Strip]] = {}  # row: text, width, row

    @property
    def text(self) -> str:
        return "\n".join(self._lines)

    @property
    def row_count(self) -> int:
        return len(self._rows)

    def clear(self) -> None:
        self._lines = [""]
        self._rows = [""]
        self._tail_row0 = 0
        self._tail_starts = [0]
        self.virtual_size = Size(self._wrap_width, 1)
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    def set_text(self, text: str) -> None:
        self.clear()
        self.append(text)

    def append(self, text: str) -> None:
        """Add text at the end; repaints once, scrolls along if the end was in view."""
        if not text:
            return
        follow = self.auto_scroll and self.scroll_y >= self.max_scroll_y
        height_before, top_before = self.virtual_size.height, self.scroll_offset.y
        changed_from = self._tail_row0 + len(self._tail_starts) - 1  # the last row so far
        first, *rest = text.split("\n")
        self._extend_tail(first)
        for piece in rest:
            self._lines.append("")
            self._tail_row0 = len(self._rows)
            self._tail_starts = [0]
            self._rows.append("")
            self._extend_tail(piece)
        rows, view = len(self._rows), self.scrollable_content_region.height
        if follow and view > 0 and rows > top_before + view:
            top = rows - (view + 1) // 2  # the end past the bottom: jump
            self._grow(top + view)
            self.scroll_to(0, top, animate=False, immediate=True)
        else:
            self._grow(max(rows, height_before))  # keep the room below the end
        if self.scroll_offset.y == top_before:
            # no scroll: only the last row and the new ones below it changed, and not the
            # gutter (the scrollbar over it would be painted again for nothing)
            width = self.scrollable_content_region.width
            self.refresh(Region(0, changed_from - top_before, width, rows - changed_from))
        else:
            self.refresh()

    def _grow(self, rows: int) -> None:
        """New height without a screen layout: only this widget and its scrollbar repaint.

        (Assigning `virtual_size` would lay out the whole screen on every batch.)"""
        size = Size(self._wrap_width, rows)
        if size == self.virtual_size:
            return
        scrollbar = self.show_vertical_scrollbar
        self.set_reactive(StreamView.virtual_size, size)
        self._scroll_update(size)
        if self.show_vertical_scrollbar != scrollbar:
            self.refresh(layout=True)

    def _extend_tail(self, piece: str) -> None:
        tail = self._lines[-1] + piece
        self._lines[-1] = tail
        if self._wrap_width <= 0:
            self._rows[self._tail_row0] = tail
            return
        k = len(self._tail_starts) - 1
        new = wrap_starts(tail, self._tail_starts[k], self._wrap_width)
        del self._rows[self._tail_row0 + k:]
        del self._tail_starts[k:]
        self._tail_starts.extend(new)
        ends = [*new[1:], len(tail)]
        self._rows.extend(tail[a:b].rstrip(" ") for a, b in zip(new, ends, strict=True))

    def _rewrap(self, width: int) -> None:
        self._wrap_width = width
        lines = self._lines
        self._lines, self._rows = [""], [""]
        self._tail_row0, self._tail_starts = 0, [0]
        for n, line in enumerate(lines):
            if n:
                self._lines.append("")
                self._tail_row0 = len(self._rows)
                self._tail_starts = [0]
                self._rows.append("")
            self._extend_tail(line)
        self.virtual_size = Size(width, len(self._rows))

    def on_resize(self) -> None:
        width = self.scrollable_content_region.width
        if width > 0 and width != self._wrap_width:  # hidden (0 wide): keep the rows
            follow = self.scroll_y >= self.max_scroll_y
            self._rewrap(width)
            if follow:
                self.scroll_end(animate=False, immediate=True, x_axis=False)
            self.refresh()

    def notify_style_update(self) -> None:
        self._line_style = None
        self._painted.clear()
        super().notify_style_update()

    def _style(self) -> Style:
        # costly (it walks the ancestors): once per restyle, not once a paint or a row;
        # `is None`, not falsiness: a plain Style() is falsy and would be recomputed
        if self._line_style is None:
            self._line_style = self.rich_style
        return self._line_style

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        # a jump moves the thumb: its rows painted as the answer's are, without the styles
        # cache's work per row (the bar itself is still Textual's)
        bar = super().vertical_scrollbar
        if "render_lines" not in bar.__dict__:
            bar.render_lines = partial(paint_rows, bar, bar.render_line)  # type: ignore[method-assign]
        return bar

    def render_lines(self, crop: Region) -> list[Strip]:
        return paint_rows(self, self._kept_row, crop)

    def _kept_row(self, y: int) -> Strip:
        """Row `y` of the view, the one painted before if its text is the same."""
        index = self.scroll_offset.y + y
        text = self._rows[index] if index < len(self._rows) else None
        width = self.size.width
        kept = self._painted.get(index)
        if kept is not None and kept[0] == text and kept[1] == width:
            return kept[2]
        if len(self._painted) > 256:
            self._painted.clear()  # rows far from the view
        strip = self.render_line(y)
        self._painted[index] = (text, width, strip)
        return strip

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        style = self._style()
        if index >= len(self._rows):
            return Strip.blank(width, style)
        text = self._rows[index]
        return Strip([Segment(text, style)]).crop_extend(0, width, style)

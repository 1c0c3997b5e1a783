"""A screen compositor that renders only what a partial update shows.

For a partial update (a few rows of the answer changed), Textual's compositor takes the box
around every changed region and asks each widget whose container overlaps that box to
render, most of them whole: the title, the footer, the rating form and every pane around
the answer, row by row, on every frame. Only the changed cells reach the terminal, each
taken from the front-most widget there; the rest is thrown away. This one asks only the
widgets that are front-most somewhere in a changed region, and only for those rows: the
same output (tests/test_tui_app.py compares the two), a fraction of the work
(benchmarks/frame_cost.py).

Textual 8.2's `Compositor._get_renders(crop)` yields, per widget front to back, its
region, its clip and the strips of `region & clip`; `_render_chops` lays the strips over
`region & clip` row by row, and a front strip wins over those behind it, cell for cell.
Yielding a clip cut to some rows keeps that contract. A widget is left out when in every
changed region its visible part lies within one widget already yielded, in front of it.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual._compositor import ChopsUpdate, Compositor
from textual.geometry import Region
from textual.strip import Strip


class RowCompositor(Compositor):
    def __init__(self) -> None:
        super().__init__()
        self._changed: list[Region] | None = None  # a partial update's regions, while it renders

    def render_partial_update(self) -> ChopsUpdate | None:
        self._changed = list(self._dirty_regions)
        try:
            return super().render_partial_update()
        finally:
            self._changed = None

    def _get_renders(self, crop: Region | None = None
                     ) -> Iterable[tuple[Region, Region, list[Strip]]]:
        if crop is None:
            yield from super()._get_renders(crop)
            return
        changed = [crop] if self._changed is None else self._changed
        front: list[Region] = []  # the visible parts of the widgets yielded so far
        for widget, (region, clip) in self.visible_widgets.items():
            shown = region.intersection(clip)
            parts = [part for part in (shown.intersection(r) for r in changed) if part]
            if not parts or all(any(f.contains_region(part) for f in front) for part in parts):
                continue  # nothing of it shows in the changed cells
            front.append(shown)
            top = max(shown.y, min(part.y for part in parts))
            bottom = min(shown.bottom, max(part.bottom for part in parts))
            rows = Region(shown.x, top, shown.width, bottom - top)
            yield region, rows, widget.render_lines(rows.translate(-region.offset))

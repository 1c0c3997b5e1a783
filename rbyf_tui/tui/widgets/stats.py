"""The stats pane: the figures of the answer in view, live while it streams, a sparkline,
and the catalog's automatic checks once the answer has ended (hints, never the score)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Sparkline, Static

from rbyf_tui import checks
from rbyf_tui.metrics import fmt

BUCKET_S = 0.25  # the sparkline's resolution: tokens per second over quarter seconds


@dataclass
class LiveFigures:
    """What can be known while tokens arrive (prompt tokens come with the end)."""

    started: float
    first: float | None = None
    last: float | None = None
    tokens: int = 0
    buckets: list[int] = field(default_factory=list)

    def add(self, count: int, first: float | None, last: float | None) -> None:
        new = count - self.tokens
        self.tokens, self.first, self.last = count, first, last
        if new > 0 and first is not None and last is not None:
            index = int((last - first) / BUCKET_S)
            while len(self.buckets) <= index:
                self.buckets.append(0)
            self.buckets[index] += new

    def rates(self) -> list[float]:
        return [n / BUCKET_S for n in self.buckets]

    def figures(self, now: float | None = None) -> dict[str, Any]:
        now = time.perf_counter() if now is None else now
        ttft = None if self.first is None else self.first - self.started
        decode = None
        if self.first is not None and self.last is not None and self.tokens >= 2 \
                and self.last > self.first:
            decode = (self.tokens - 1) / (self.last - self.first)
        elapsed = now - self.started
        return {"ttft_s": ttft, "decode_tps": decode, "completion_tokens": self.tokens,
                "e2e_tps": self.tokens / elapsed if elapsed > 0 and self.tokens else None,
                "total_s": elapsed, "finish_reason": "…"}


def _num(value: Any) -> str:
    return "–" if value is None else str(value)


def stats_text(f: Mapping[str, Any]) -> str:
    """The figures, one per line, values right-aligned; '–' where a figure does not exist."""
    rows = [
        ("TTFT", fmt(f.get("ttft_s"), " s", 2)),
        ("prompt", fmt(f.get("prompt_tps"), " t/s")),
        ("decode", fmt(f.get("decode_tps"), " t/s")),
        ("e2e", fmt(f.get("e2e_tps"), " t/s")),
        ("tokens", f"{_num(f.get('prompt_tokens'))} + {_num(f.get('completion_tokens'))}"),
        ("tiktoken", f"{_num(f.get('prompt_tiktoken'))} + "
                     f"{_num(f.get('completion_tiktoken'))}"),
        ("elapsed", fmt(f.get("total_s"), " s")),
        ("finish", str(f.get("finish_reason") or "–")),
    ]
    return "\n".join(f"{name:<9}{value:>13}" for name, value in rows)


class FigureLines(Widget):
    """Lines of plain text, one a row (Line API): a new set repaints only the rows that
    changed (while an answer streams, about half of them once a second)."""

    def __init__(self, text: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines = text.split("\n")
        self._line_style: Style | None = None

    def update(self, text: str) -> None:
        lines = text.split("\n")
        old, self.lines = self.lines, lines
        if len(lines) != len(old):
            self.refresh()
            return
        width = self.size.width
        for y, (new, was) in enumerate(zip(lines, old, strict=True)):
            if new != was:
                self.refresh(Region(0, y, width, 1))

    def render(self) -> Text:  # what the lines say, e.g. for tests; painting is render_line
        return Text("\n".join(self.lines))

    def notify_style_update(self) -> None:
        self._line_style = None
        super().notify_style_update()

    def render_line(self, y: int) -> Strip:
        if self._line_style is None:  # walks the ancestors: once per restyle
            self._line_style = self.rich_style
        # unpadded, as Static's: the styles cache pads the row with the background
        text = self.lines[y] if y < len(self.lines) else ""
        return Strip([Segment(text, self._line_style)] if text else [])


class StatsPane(Vertical):
    """Figures as text, then tokens per second over the answer."""

    def compose(self) -> ComposeResult:
        yield FigureLines(stats_text({}), id="figures")
        yield Sparkline([], id="spark", summary_function=max)
        yield Static("", id="checks")

    def show(self, figures: Mapping[str, Any], rates: list[float] | None = None) -> None:
        # fixed size: no screen layout for a new set of figures
        self.query_one(FigureLines).update(stats_text(figures))
        self.query_one("#spark", Sparkline).data = rates or []
        results = checks.from_json(figures.get("checks"))
        box = self.query_one("#checks", Static)
        if results or box.display:  # a layout only when the checks come or go
            box.update(checks_text(results))
            box.display = bool(results)


    def show_live(self, figures: Mapping[str, Any], rates: list[float] | None) -> None:
        """The figures of the answer being written; the sparkline too with `rates`."""
        if rates is None:
            self.query_one(FigureLines).update(stats_text(figures))
        else:
            self.show(figures, rates)


def checks_text(results: list[checks.CheckResult]) -> Text:
    """One line a check: ✓ or ✗ (readable without colour) and what was measured."""
    text = Text()
    for n, result in enumerate(results):
        if n:
            text.append("\n")
        mark, style = ("✓ ", "green") if result.passed else ("✗ ", "yellow")
        text.append(mark, style=style)
        text.append(result.line)
    return text

"""Quality against speed: each model's mean score (y, 0-5) against its median decode
tokens/s (x), drawn in the terminal at whatever size it has."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Footer, Static

from rbyf_tui import ranking
from rbyf_tui.ranking import MAX_SCORE, Chart
from rbyf_tui.tui.screens.board.base import BACK, EMPTY_HELP, SWITCH, BoardScreen
from rbyf_tui.tui.screens.board.data import BoardData, Choices, filter_label
from rbyf_tui.tui.screens.board.styles import shorten

MARKERS = "123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
COLOURS = ("#4fc3f7", "#ffb74d", "#ba68c8", "#81c784", "#e57373", "#fff176", "#90a4ae")
Y_LABEL = 4  # " 5 ┤"


def marker(index: int) -> str:
    return MARKERS[index] if index < len(MARKERS) else "+"


def axis_number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def draw(chart: Chart, width: int, height: int) -> Text:
    """The plot with its axes as `height` lines of `width` cells."""
    plot_w, plot_h = width - Y_LABEL, height - 2
    if plot_w < 4 or plot_h < 3:
        return Text("(too small for the chart)")
    grid = [[" "] * plot_w for _ in range(plot_h)]
    styles: dict[tuple[int, int], str] = {}

    def row_of(score: float) -> int:
        return min(plot_h - 1, int((MAX_SCORE - score) / MAX_SCORE * plot_h))

    placed = chart.place(plot_w, plot_h)
    for column, _, point in placed:  # interval whiskers first, so markers sit on top
        for row in range(row_of(point.ci_high), row_of(point.ci_low) + 1):
            grid[row][column] = "│"
            styles[(row, column)] = "dim"
    taken: dict[tuple[int, int], int] = {}
    for index, (column, row, _) in enumerate(placed):
        spot = (row, column)
        grid[row][column] = "*" if spot in taken else marker(index)
        styles[spot] = "bold reverse" if spot in taken else f"bold {COLOURS[index % 7]}"
        taken[spot] = index
    for index, (column, row, point) in enumerate(placed):  # names where there is room
        if taken.get((row, column)) != index:
            continue
        name = shorten(point.model, 18)
        for start, label in ((column + 1, " " + name), (column - len(name) - 1, name + " ")):
            cells = range(start, start + len(label))
            if start >= 0 and cells.stop <= plot_w and all(grid[row][c] == " " for c in cells):
                for c, char in zip(cells, label, strict=True):
                    grid[row][c] = char
                    styles[(row, c)] = COLOURS[index % 7]
                break
    labels = {row_of(score): score for score in range(MAX_SCORE + 1)}
    text = Text(no_wrap=True, overflow="crop")
    for row in range(plot_h):
        label = f"{labels[row]:>2} ┤" if row in labels else "   │"
        text.append(f"{label:<{Y_LABEL}}", style="dim")
        for column, char in enumerate(grid[row]):
            text.append(char, style=styles.get((row, column), ""))
        text.append("\n")
    text.append("   └" + "─" * plot_w + "\n", style="dim")
    right = axis_number(chart.x_max)
    caption = "decode tokens/s"
    middle = max(0, (plot_w - len(caption)) // 2)
    axis = "0".ljust(middle) + caption
    axis = axis.ljust(plot_w - len(right)) + right
    text.append(" " * Y_LABEL + axis[:plot_w], style="dim")
    return text


class ScoreChart(Widget):
    """Redrawn at its own size, so it follows the terminal."""

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.chart: Chart | None = None

    def show(self, chart: Chart) -> None:
        self.chart = chart
        self.refresh()

    def render(self) -> Text:
        if self.chart is None:
            return Text("")
        if not self.chart.points:
            return Text("No model of this catalog has a decode speed yet (imported CSV runs "
                        "have none): rate a session run in rbyf to place it here.")
        return draw(self.chart, self.size.width, self.size.height)


def legend(chart: Chart) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    for index, point in enumerate(chart.points):
        text.append(f"{marker(index)} ", style=f"bold {COLOURS[index % 7]}")
        text.append(f"{point.model}  mean {point.mean:.2f} ({point.ci_low:.2f}–"
                    f"{point.ci_high:.2f}) · {point.decode_tps:.1f} t/s · rank {point.rank}\n")
    if chart.without_speed:
        text.append("not placed, no decode speed: " + ", ".join(chart.without_speed),
                    style="dim")
    text.rstrip()
    return text


class ChartScreen(BoardScreen):
    """Mean score against decode tokens/s, one point per model, bars for the 95% CI."""

    BINDINGS: ClassVar[list[BindingType]] = [BACK, *SWITCH]

    def __init__(self, catalog: str | None = None, rater: str | None = None) -> None:
        super().__init__(catalog, rater)
        self.data: BoardData | None = None
        self.choices: Choices | None = None

    def compose(self) -> ComposeResult:
        yield Static("Chart · loading…", id="chart-title", classes="board-title")
        yield ScoreChart(id="chart-plot")
        with VerticalScroll(id="chart-legend", classes="chart-legend"):
            yield Static("", id="chart-legend-text")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    async def show(self, data: BoardData) -> None:
        self.data = data
        self.choices = data.choices.with_catalog(self.catalog).with_rater(self.rater)
        if self.catalog is None and self.choices.catalogs:
            self.catalog = self.choices.catalogs[0]
        self.redraw()

    def show_message(self, text: str) -> None:
        self.query_one("#chart-legend-text", Static).update(text)

    def redraw(self) -> None:
        if self.data is None:
            return
        title = self.query_one("#chart-title", Static)
        text = self.query_one("#chart-legend-text", Static)
        if self.data.empty or self.catalog is None:
            title.update("Chart")
            text.update(EMPTY_HELP)
            return
        title.update(f"Mean score against decode tokens/s · "
                     f"{filter_label(self.catalog, self.rater)} · bars: 95% CI")
        chart = ranking.chart(self.data.standings, self.catalog)
        self.query_one(ScoreChart).show(chart)
        text.update(legend(chart) if chart.points or chart.without_speed else
                    f"No ratings in catalog {self.catalog} for this choice: press c or r.")

    def switchable(self) -> Choices | None:
        return self.choices

    def catalog_changed(self) -> None:
        self.redraw()

    def rater_changed(self) -> None:
        self.load()

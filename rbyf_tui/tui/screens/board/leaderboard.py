"""The leaderboard: per catalog, every rated model ranked, with its interval and speeds."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static

from rbyf_tui.comparison import model_label
from rbyf_tui.metrics import fmt
from rbyf_tui.ranking import Standing
from rbyf_tui.tui.screens.battle import BattleScreen
from rbyf_tui.tui.screens.board.base import EMPTY_HELP, SWITCH, BoardScreen
from rbyf_tui.tui.screens.board.battle_board import BattleBoardScreen, app_rater
from rbyf_tui.tui.screens.board.chart import ChartScreen
from rbyf_tui.tui.screens.board.compare import CompareScreen
from rbyf_tui.tui.screens.board.data import BoardData, Choices, filter_label
from rbyf_tui.tui.screens.board.grid import GridColumn, ScoreGrid
from rbyf_tui.tui.screens.board.matrix import MatrixScreen
from rbyf_tui.tui.screens.board.styles import shorten

# (header, least width, right-aligned) of every column but the model's.
COLUMNS: tuple[tuple[str, int, bool], ...] = (
    ("#", 2, True), ("mean", 4, True), ("95% CI", 9, True), ("rated", 5, True),
    ("total", 5, True), ("TTFT", 5, True), ("prompt", 6, True), ("decode", 6, True))
LEGEND = ("TTFT: median seconds to the first token · prompt, decode: median tokens/s · "
          "total: sum of the scores, of 5 per task rated")
PLAIN = Style()
NEEDS_RATINGS = ("next_catalog", "next_rater", "matrix", "chart", "compare", "battle_board",
                 "battle")


def standing_cells(s: Standing) -> list[str]:
    rated = f"{s.n_rated}/{s.n_tasks}" if s.n_tasks else str(s.n_rated)
    return [str(s.rank), f"{s.mean:.2f}", f"{s.ci_low:.2f}–{s.ci_high:.2f}", rated,
            f"{s.total}/{5 * s.n_rated}", fmt(s.median_ttft_s, "", 2),
            fmt(s.median_prompt_tps), fmt(s.median_decode_tps)]


def standing_detail(s: Standing) -> str:
    of = f" of {s.n_tasks}" if s.n_tasks else ""
    name = model_label(s.model, s.quantization, s.size_bytes)
    return (f"{name}: rank {s.rank}, mean {s.mean:.2f} (95% CI {s.ci_low:.2f}–"
            f"{s.ci_high:.2f}), {s.n_rated}{of} tasks rated, total {s.total}/{5 * s.n_rated}\n"
            f"median TTFT {fmt(s.median_ttft_s, ' s', 2)} · prompt "
            f"{fmt(s.median_prompt_tps, ' t/s')} · decode {fmt(s.median_decode_tps, ' t/s')}"
            + ("" if s.median_reasoning_s is None
               else f" · thinking {fmt(s.median_reasoning_s, ' s')}"))


class LeaderboardScreen(BoardScreen):
    """Models of one catalog, ranked; `c` switches catalog, `r` rater."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Back", tooltip="Back to where you were"),
        *SWITCH,
        Binding("m", "matrix", "Matrix", tooltip="Models x tasks, every score"),
        Binding("g", "chart", "Chart", tooltip="Mean score against decode speed"),
        Binding("v", "compare", "Compare", tooltip="Answers of two or more models side by side"),
        Binding("t", "battle_board", "Votes", tooltip="Models ranked by their battles (votes)"),
        Binding("b", "battle", "Battle", show=False,
                tooltip="Vote: two anonymous answers, which is better?"),
    ]

    def __init__(self, catalog: str | None = None, rater: str | None = None) -> None:
        super().__init__(catalog, rater)
        self.data: BoardData | None = None
        self._width = 0

    def compose(self) -> ComposeResult:
        yield Static("Leaderboard · loading…", id="board-title", classes="board-title")
        yield Static(EMPTY_HELP, id="board-empty", classes="board-empty")
        yield ScoreGrid(id="board-table", row_cursor=True)
        yield Static("", id="board-detail", classes="board-detail")
        yield Static(LEGEND, id="board-legend", classes="board-legend")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#board-empty").display = False
        self.load()

    # --- data -------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Without ratings there is nothing to switch to or open: keys shown dimmed.
        if action in NEEDS_RATINGS and (self.data is None or self.data.empty):
            return None
        return True

    async def show(self, data: BoardData) -> None:
        self.data = data
        self.refresh_bindings()
        if data.empty:
            self.query_one("#board-title", Static).update("Leaderboard")
            self.show_message(EMPTY_HELP)
            return
        choices = data.choices.with_catalog(self.catalog).with_rater(self.rater)
        self.data = BoardData(data.rater, data.standings, choices)
        if self.catalog is None:
            self.catalog = choices.catalogs[0]
        self.render_table()

    def show_message(self, text: str) -> None:
        empty = self.query_one("#board-empty", Static)
        empty.update(text)
        empty.display = True
        for selector in ("#board-table", "#board-detail", "#board-legend"):
            self.query_one(selector).display = False

    def standings(self) -> list[Standing]:
        return self.data.of(self.catalog) if self.data else []

    def render_table(self) -> None:
        standings = self.standings()
        n_catalogs = len(self.data.choices.catalogs) if self.data else 0
        title = f"Leaderboard · {filter_label(self.catalog, self.rater)}"
        if self.data and n_catalogs > 1:
            position = self.data.choices.catalogs.index(self.catalog) + 1
            title += f" · catalog {position}/{n_catalogs}"
        self.query_one("#board-title", Static).update(title)
        empty = self.query_one("#board-empty", Static)
        table = self.query_one("#board-table", ScoreGrid)
        if not standings:
            who = f" by {self.rater}" if self.rater else ""
            self.show_message(f"No ratings{who} in catalog {self.catalog} yet: press c for "
                              "another catalog, r for another rater.")
            return
        empty.display = False
        for selector in ("#board-table", "#board-detail", "#board-legend"):
            self.query_one(selector).display = True
        self._width = self.size.width
        values = [standing_cells(s) for s in standings]
        # Each column as wide as its widest value; the model's gets the room that is left.
        widths = [max(width, *(len(v[i]) for v in values))
                  for i, (_, width, _) in enumerate(COLUMNS)]
        fixed = sum(width + 2 for width in widths)
        longest = max(len(s.model) for s in standings)
        scrollbar = 2 if len(standings) + 8 > self.size.height else 0
        model_width = max(10, min(longest, self.size.width - fixed - 2 - scrollbar))
        headers = [(COLUMNS[0][0], widths[0], True), ("model", model_width, False),
                   *[(name, width, right) for (name, _, right), width
                     in zip(COLUMNS[1:], widths[1:], strict=True)]]

        def pad(value: str, width: int, right: bool) -> str:
            return f" {value:>{width}} " if right else f" {value:<{width}} "

        columns = [GridColumn(header, pad(header, width, right), width + 2)
                   for header, width, right in headers]
        rows = []
        for s, cells in zip(standings, values, strict=True):
            cells = [cells[0], shorten(s.model, model_width), *cells[1:]]
            rows.append((s.model_id, [(pad(value, width, right), PLAIN)
                                      for value, (_, width, right) in zip(cells, headers,
                                                                         strict=True)]))
        table.set_data(columns, rows)
        if self.focused is None:  # it was hidden (a message) when the screen opened
            table.focus()
        self.show_detail()

    def show_detail(self) -> None:
        standings = self.standings()
        table = self.query_one("#board-table", ScoreGrid)
        if standings and 0 <= table.cursor_row < len(standings):
            self.query_one("#board-detail", Static).update(
                standing_detail(standings[table.cursor_row]))

    def on_score_grid_moved(self, event: ScoreGrid.Moved) -> None:
        self.show_detail()

    def on_resize(self, event: events.Resize) -> None:
        if self.data and not self.data.empty and event.size.width != self._width:
            self.render_table()

    # --- actions ----------------------------------------------------------------------

    def _ready(self) -> bool:
        if self.data is None:
            return False
        if self.data.empty:
            self.notify("Nothing rated yet: rate a session or `rbyf import` old files.",
                        severity="warning")
            return False
        return True

    def switchable(self) -> Choices | None:
        return self.data.choices if self._ready() and self.data else None

    def catalog_changed(self) -> None:
        self.render_table()

    def rater_changed(self) -> None:
        self.query_one("#board-title", Static).update(
            f"Leaderboard · {filter_label(self.catalog, self.rater)} · loading…")
        self.load()

    def action_matrix(self) -> None:
        if self._ready() and self.data:
            self.app.push_screen(MatrixScreen(self.catalog, self.rater,
                                              choices=self.data.choices))

    def action_chart(self) -> None:
        if self._ready() and self.data:
            self.app.push_screen(ChartScreen(self.catalog, self.rater))

    def action_battle_board(self) -> None:
        if self.data is not None and self.catalog is not None:
            self.app.push_screen(BattleBoardScreen(self.catalog, self.rater))

    def action_battle(self) -> None:
        if self.data is not None and self.catalog is not None:
            self.app.push_screen(BattleScreen(self.catalog, app_rater(self)))

    def action_compare(self) -> None:
        if self._ready() and self.data:
            self.app.push_screen(CompareScreen(self.catalog, self.rater))

"""The leaderboard's battles tab: models ranked by a Bradley–Terry fit of the catalog's
votes, with bootstrap intervals, who beat whom, the left side's share of wins, and how well
the battle order agrees with the mean-score order."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static

from rbyf_tui import bradley_terry
from rbyf_tui.bradley_terry import BTReport
from rbyf_tui.store import Store
from rbyf_tui.tui.screens.board.base import BoardScreen
from rbyf_tui.tui.screens.board.styles import shorten


@dataclass(frozen=True)
class BattleBoard:
    catalog: str
    report: BTReport
    tau: float | None  # Kendall's tau against the mean-score order, models in both
    in_both: int


def load_battle_board(store: Store, catalog: str, rater: str | None) -> BattleBoard:
    report = bradley_terry.bt_reports(store, catalog, rater).get(catalog)
    report = report or bradley_terry.BTReport(rows=[])
    by_score = bradley_terry.score_order(store, catalog, rater)
    by_battle = [row.model_id for row in report.rows]
    in_both = len(set(by_score) & set(by_battle))
    return BattleBoard(catalog, report, bradley_terry.kendall_tau(by_battle, by_score), in_both)


def ranking_table(report: BTReport, width: int) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False, expand=False)
    for name, justify in (("#", "right"), ("model", "left"), ("rating", "right"),
                          ("95% CI", "right"), ("votes", "right"), ("won", "right")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    room = max(12, width - 40)
    for row in report.rows:
        table.add_row(str(row.rank), shorten(row.model, room), f"{row.rating:.0f}",
                      f"{row.ci_low:.0f}–{row.ci_high:.0f}", str(row.votes),
                      f"{100 * row.win_rate:.0f}%")
    return table


def matrix_table(report: BTReport) -> Table:
    """Row beat column: the share of their decided votes (ties half), by rank number."""
    table = Table(box=None, pad_edge=False, show_edge=False, title_justify="left")
    table.add_column("beat →", justify="right")
    ids = [row.model_id for row in report.rows]
    for n in range(1, len(ids) + 1):
        table.add_column(f"#{n}", justify="right")
    for n, a in enumerate(ids, start=1):
        cells = []
        for b in ids:
            share = report.win_matrix.get((a, b)) if a != b else None
            cells.append("·" if share is None else f"{100 * share:.0f}%")
        table.add_row(f"#{n}", *cells)
    return table


class BattleBoardScreen(BoardScreen):
    """Models ranked by their battles on one catalog."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Back", tooltip="Back to the leaderboard"),
        Binding("b", "battle", "Battle", tooltip="Vote on more battles"),
    ]

    FAILED = "Cannot rank the battles"
    DEFAULT_CSS = """
    BattleBoardScreen #bt-body { padding: 0 1; }
    BattleBoardScreen #bt-notes { margin: 1 0; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield Static("Battles · loading…", id="bt-title", classes="board-title")
        with VerticalScroll(id="bt-body"):
            yield Static("", id="bt-table")
            yield Static("", id="bt-notes")
            yield Static("", id="bt-matrix")
        yield Footer()

    def on_mount(self) -> None:
        self.load_ranking()

    @work(thread=True, exclusive=True, group="bt-load", exit_on_error=False)
    def load_ranking(self) -> BattleBoard:
        assert self.catalog is not None
        return load_battle_board(self.store, self.catalog, self.rater)

    async def show(self, board: BattleBoard) -> None:
        report = board.report
        who = f" · {self.rater}'s votes" if self.rater else ""
        title = self.query_one("#bt-title", Static)
        if not report.rows:
            title.update(f"Battles · {board.catalog}{who}")
            self.query_one("#bt-table", Static).update(
                "No votes yet on this catalog. Press b to vote on battles: two anonymous "
                "answers side by side, which is better?")
            return
        title.update(f"Battles · {board.catalog}{who} · {report.counted} votes, "
                     f"{len(report.rows)} models · Bradley–Terry, 95% bootstrap intervals")
        self.query_one("#bt-table", Static).update(ranking_table(report, self.size.width))
        notes = Text()
        if report.left_share is not None:
            notes.append(f"position bias: the left answer won {100 * report.left_share:.0f}% "
                         "of decided votes (50% is none)\n")
        if board.tau is not None:
            notes.append(f"agreement with the score leaderboard: Kendall's tau "
                         f"{board.tau:+.2f} over {board.in_both} models rated both ways\n")
        notes.append("rating: 1000 + 400·log10 of the odds against the average model · ties "
                      "and 'both bad' count half a win each")
        self.query_one("#bt-notes", Static).update(notes)
        self.query_one("#bt-matrix", Static).update(matrix_table(report))

    def show_message(self, text: str) -> None:
        self.query_one("#bt-title", Static).update(text)

    def action_battle(self) -> None:
        from rbyf_tui.tui.screens.battle import BattleScreen

        self.app.push_screen(BattleScreen(self.catalog or "", app_rater(self)))


def app_rater(screen: BoardScreen) -> str | None:
    """Who votes or rates in this app (--rater), not the leaderboard's rater filter."""
    config = getattr(screen.app, "config", None)
    return getattr(config, "rater", None)

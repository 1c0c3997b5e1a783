"""What the leaderboard's screens share: the app's store, the catalog and rater they show,
one way to show what a load brought (or why it failed), `c` and `r` to switch, `escape`
back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual import work
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from rbyf_tui.store import Store
from rbyf_tui.tui.screens.board.data import BoardData, Choices, load_board

CSS_PATH = Path(__file__).resolve().with_name("board.tcss")

EMPTY_HELP = (
    "No ratings yet.\n\n"
    "To fill the leaderboard, rate a session: start one from the home screen and score "
    "each answer from 0 to 5.\n"
    "Or bring in the old scripts' CSV and log files from a shell:\n\n"
    "    rbyf import PATH...\n\n"
    "then open the leaderboard again (l)."
)

BACK = Binding("escape,q", "close", "Back", tooltip="Back to the leaderboard")
SWITCH = [
    Binding("c", "next_catalog", "Catalog", tooltip="Show the next catalog"),
    Binding("r", "next_rater", "Rater", tooltip="Only one rater's ratings, or all"),
]


class BoardScreen(Screen[None]):
    """A screen that loads from the store in a worker thread, then shows the result."""

    CSS_PATH = CSS_PATH
    FAILED = "Cannot read the ratings"  # what a failed load's message starts with

    def __init__(self, catalog: str | None = None, rater: str | None = None) -> None:
        super().__init__()
        self.catalog = catalog
        self.rater = rater

    @property
    def store(self) -> Store:
        """The app's store: it holds the file open while the app runs and lets go when
        another rbyf process asks, so the screens read through it (from worker threads)."""
        return self.app.store  # type: ignore[attr-defined, no-any-return]

    @work(thread=True, exclusive=True, group="board-load", exit_on_error=False)
    def load(self) -> BoardData:
        """The standings and choices, in a thread (~100 ms on a million-rating store)."""
        return load_board(self.store, self.rater)

    async def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Every load ends here (a screen hears of its own workers only)."""
        if event.state == WorkerState.SUCCESS:
            await self.show(event.worker.result)
        elif event.state == WorkerState.ERROR:
            self.show_message(f"{self.FAILED}: {event.worker.error}")

    async def show(self, result: Any) -> None:
        """Show what a load returned."""
        raise NotImplementedError

    def show_message(self, text: str) -> None:
        """Show `text` (why there is nothing to show) in place of the results."""
        raise NotImplementedError

    # --- switching catalog and rater ------------------------------------------------------

    def switchable(self) -> Choices | None:
        """The catalogs and raters to switch between; None while there are none."""
        return None

    def catalog_changed(self) -> None:
        raise NotImplementedError

    def rater_changed(self) -> None:
        raise NotImplementedError

    def action_close(self) -> None:
        """Back; the home screen when this screen was the first (`rbyf battle`)."""
        app = self.app
        if len(app.screen_stack) <= 2 and hasattr(app, "go_home"):
            app.go_home()
        else:
            self.dismiss()

    def action_next_catalog(self) -> None:
        choices = self.switchable()
        if choices and choices.catalogs:
            self.catalog = choices.next_catalog(self.catalog)
            self.catalog_changed()

    def action_next_rater(self) -> None:
        choices = self.switchable()
        if choices and choices.catalogs:
            self.rater = choices.next_rater(self.rater)
            self.rater_changed()

"""What the leaderboard's screens share: the DB, the catalog and rater they show, `c` and
`r` to switch them, and `escape` back."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual import work
from textual.binding import Binding
from textual.screen import Screen

from rbyf_tui.tui.screens.board_data import (
    CSS_PATH,
    BindingCommands,
    BoardData,
    Choices,
    CommandSet,
    load_board,
)

BACK = Binding("escape,q", "close", "Back", tooltip="Back to the leaderboard")
SWITCH = [
    Binding("c", "next_catalog", "Catalog", tooltip="Show the next catalog"),
    Binding("r", "next_rater", "Rater", tooltip="Only one rater's ratings, or all"),
]


class BoardScreen(Screen[None]):
    CSS_PATH = CSS_PATH
    COMMANDS: ClassVar[CommandSet] = {BindingCommands}

    def __init__(self, db_path: Path, catalog: str | None = None,
                 rater: str | None = None) -> None:
        super().__init__()
        self.db_path = Path(db_path)
        self.catalog = catalog
        self.rater = rater

    @work(thread=True, exclusive=True, group="board-load", exit_on_error=False)
    def load(self) -> BoardData:
        """The standings and choices, in a thread (~100 ms on a million-rating store); the
        result comes to on_worker_state_changed (group "board-load")."""
        return load_board(self.db_path, self.rater)

    def switchable(self) -> Choices | None:
        """The catalogs and raters to switch between; None while there are none."""
        raise NotImplementedError

    def catalog_changed(self) -> None:
        raise NotImplementedError

    def rater_changed(self) -> None:
        raise NotImplementedError

    def action_close(self) -> None:
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

"""A comparison of three fixed, unrated sessions on the mini catalog, and an app that opens
one screen on it: blind rating and battles without loading a model."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from textual.app import App
from textual.screen import Screen

from rbyf_tui.store import Store
from rbyf_tui.tui.palette import BindingCommands

from board_app import T0, fixed_session
from helpers import mini_catalog

COMPARISON = "c0ffee" + "0" * 26
# name, decode t/s, a word each answer carries (never the name: the answers are blind)
MODELS = (("alpha-1b-q4", 80.0, "amber"), ("alpha-1b-q8", 50.0, "cobalt"),
          ("beta-2b-q4", 30.0, "olive"))


def comparison_db(path: Path, seed: int = 7) -> Path:
    """The three models' sessions, unrated, linked as one comparison (as `rbyf run --model
    … --model …` links them), the comparison's row with its seed."""
    store = Store(path)
    catalog = mini_catalog()
    sessions = []
    for n, (model, decode, word) in enumerate(MODELS):
        imported = fixed_session(catalog, model, [None, None], decode,  # type: ignore[list-item]
                                 "nobody", start=T0 + timedelta(hours=n))
        imported = replace(imported, generations=[
            replace(g, response=f"The {word} answer to {g.title}.\n\nIt says {word} twice.")
            for g in imported.generations])
        sessions.append(store.import_session(imported)[0])

    def link(con: Any) -> None:
        settings = {"models": [{"label": name} for name, _, _ in MODELS], "n_tasks": 2}
        con.execute("INSERT INTO comparisons VALUES (?, 'x', ?, ?, ?, 'run', ?)",
                    [COMPARISON, catalog.name, seed, json.dumps(settings), T0])
        for position, session_id in enumerate(sessions):
            con.execute("UPDATE sessions SET comparison_id = ?, comparison_position = ? "
                        "WHERE id = ?", [COMPARISON, position, session_id])

    store.db.write(link)
    store.close()
    return path


class ScreenApp(App[None]):
    """Holds the store as the real app does and opens one screen."""

    COMMANDS = App.COMMANDS | {BindingCommands}

    def __init__(self, db_path: Path, screen: Callable[[], Screen[Any]]) -> None:
        super().__init__()
        self.store = Store(db_path, keep_open=True)
        self.make_screen = screen

    def on_mount(self) -> None:
        self.push_screen(self.make_screen())

    def on_unmount(self) -> None:
        self.store.close()

"""After the last task: the session's total, mean score, median figures, export commands."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from rbyf_tui.catalog import Task
from rbyf_tui.metrics import fmt
from rbyf_tui.tui.progress import States, export_commands, summarize

if TYPE_CHECKING:
    from rbyf_tui.tui.app import RbyfApp


def summary_text(session_id: str, tasks: list[Task], states: States) -> str:
    s = summarize(tasks, states)
    mean = "–" if s.mean is None else f"{s.mean:.2f}"
    lines = [
        f"session {session_id}: {s.rated} of {s.tasks} tasks rated",
        "",
        f"total        {s.total} / {s.out_of}",
        f"mean score   {mean}",
        "",
        "medians over the tasks",
        f"  TTFT       {fmt(s.median_ttft_s, ' s', 2)}",
        f"  prompt     {fmt(s.median_prompt_tps, ' t/s')}",
        f"  decode     {fmt(s.median_decode_tps, ' t/s')}",
        f"  e2e        {fmt(s.median_e2e_tps, ' t/s')}",
        "",
        "export it:",
        *(f"  {command}" for command in export_commands(session_id)),
    ]
    return "\n".join(lines)


class SummaryScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "back to the session", tooltip="Review or re-rate the answers"),
        Binding("l", "leaderboard", "board", tooltip="Rank every rated model"),
        Binding("q", "quit", "quit", tooltip="Leave rbyf"),
    ]

    def __init__(self, session_id: str, tasks: list[Task], states: States,
                 catalog: str | None = None, short_id: str | None = None) -> None:
        """short_id: the id as shown and in the export commands (at 80 columns a whole id
        would wrap them): a unique prefix, which they take (store.ids)."""
        super().__init__()
        self.session_id = session_id
        self.short_id = short_id or session_id
        self.tasks = tasks
        self.states = states
        self.catalog = catalog

    def compose(self) -> ComposeResult:
        yield Static(f"rbyf · session {self.short_id} · summary", id="title")
        with VerticalScroll(id="summary"):
            yield Static(summary_text(self.short_id, self.tasks, self.states),
                         id="summary-text", markup=False)
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.query_one("#summary").border_title = "done"

    def action_back(self) -> None:
        self.dismiss()

    def action_leaderboard(self) -> None:
        app: RbyfApp = self.app  # type: ignore[assignment]
        app.open_leaderboard(self.catalog)

    def action_quit(self) -> None:
        app: RbyfApp = self.app  # type: ignore[assignment]
        app.check_stop(quit_now=True)

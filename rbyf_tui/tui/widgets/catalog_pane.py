"""The catalog pane: every task with its state; the highlighted one is the task in view."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from rbyf_tui.catalog import Task
from rbyf_tui.tui.progress import States, state_label

STATE_WIDTH = 10


def task_prompt(number: str, task: Task, label: str, width: int) -> Text:
    title_width = max(4, width - len(number) - STATE_WIDTH - 2)
    title = task.title if len(task.title) <= title_width else task.title[:title_width - 1] + "…"
    text = Text(f"{number} {title:<{title_width}} ")
    style = {"done": "bold", "error": "bold red", "generating": "bold reverse",
             "cancelled": "italic", "interrupted": "italic"}.get(label, "")
    if label.startswith("rated"):
        style = "green"
    text.append(f"{label:>{STATE_WIDTH}}", style=style)
    return text


class CatalogPane(OptionList):
    """One line per task: number, title, state (plain words, readable without colour)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tasks: list[Task] = []
        self._states: States = {}
        self._generating: str | None = None
        self._drawn_width = 0

    def _row_width(self) -> int:
        return max(24, self.scrollable_content_region.width or 30)

    def _prompt(self, index: int, label: str) -> Text:
        task = self.tasks[index]
        number = "w " if task.is_warmup else f"{index if self._has_warmup() else index + 1:>2}"
        return task_prompt(number, task, label, self._row_width())

    def _has_warmup(self) -> bool:
        return bool(self.tasks) and self.tasks[0].is_warmup

    def set_tasks(self, tasks: Sequence[Task], states: States, generating: str | None) -> None:
        self.tasks = list(tasks)
        self._states, self._generating = states, generating
        self._drawn_width = self._row_width()
        self.set_options(
            Option(self._prompt(i, state_label(states.get(t.key), t.key == generating)), id=t.key)
            for i, t in enumerate(self.tasks))

    def on_resize(self) -> None:
        if self.tasks and self._row_width() != self._drawn_width:
            self.update_states(self._states, self._generating)

    def update_states(self, states: States, generating: str | None) -> None:
        self._states, self._generating = states, generating
        self._drawn_width = self._row_width()
        for i, task in enumerate(self.tasks):
            label = state_label(states.get(task.key), task.key == generating)
            self.replace_option_prompt_at_index(i, self._prompt(i, label))

"""The rating form: a score 0–5 with its rubric line, remarks, and enter to save."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import Input, Static


class ScoreBar(Widget, can_focus=True):
    """The six scores in a row; the chosen one is marked [N] (readable without colour)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1)", "lower", show=False),
        Binding("right", "move(1)", "higher", show=False),
    ]
    DEFAULT_CSS = "ScoreBar { height: 1; width: 1fr; }"

    score: reactive[int | None] = reactive(None)

    def render(self) -> Text:
        text = Text("score ")
        for n in range(6):
            if n == self.score:
                text.append(f"[{n}]", style="bold reverse")
            else:
                text.append(f" {n} ")
        return text

    def action_move(self, step: int) -> None:
        self.score = min(5, max(0, (self.score if self.score is not None else 2) + step))


class RatingForm(Vertical):
    """Score, rubric line for it, remarks. The screen saves on enter."""

    def __init__(self, rubric: dict[int, str] | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rubric = rubric or {}

    def compose(self) -> ComposeResult:
        yield ScoreBar(id="score")
        yield Static("", id="rubric")
        yield Input(placeholder="remarks (tab here; enter saves)", id="remarks")

    def on_mount(self) -> None:
        self.watch(self.query_one(ScoreBar), "score", self._show_rubric)

    def _show_rubric(self, score: int | None) -> None:
        line = "choose 0–5" if score is None else f"{score}: {self.rubric.get(score, '')}"
        self.query_one("#rubric", Static).update(line)

    @property
    def score(self) -> int | None:
        return self.query_one(ScoreBar).score

    @score.setter
    def score(self, value: int | None) -> None:
        self.query_one(ScoreBar).score = value

    @property
    def remarks(self) -> str:
        return self.query_one("#remarks", Input).value

    def load(self, score: int | None, remarks: str | None) -> None:
        self.score = score
        self._show_rubric(score)
        self.query_one("#remarks", Input).value = remarks or ""

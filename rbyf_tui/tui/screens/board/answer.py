"""One answer in full (a matrix cell opened): the text, its score, remarks, rater, time and
figures, and the prompt it answered."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Markdown, Static

from rbyf_tui import answers
from rbyf_tui.answers import Answer
from rbyf_tui.tui.screens.board.base import BoardScreen
from rbyf_tui.tui.screens.board.styles import append_remarks, figures_line, score_text
from rbyf_tui.tui.widgets.thinking import ThinkingBox


def rating_text(answer: Answer) -> Text:
    """Score block, rater and time, then the remarks."""
    text = Text()
    if answer.score is None:
        text.append("not rated", style="italic")
    else:
        text.append("score ")
        text.append_text(score_text(answer.score))
        text.append(f" of 5 · by {answer.rater or '?'}")
        if answer.rated_at is not None:
            text.append(f" · {answer.rated_at:%Y-%m-%d %H:%M} UTC")
    append_remarks(text, answer)
    return text


def heading(answer: Answer) -> str:
    attempt = f" · attempt {answer.attempt}" if answer.attempt > 1 else ""
    status = "" if answer.status == "ok" else f" · {answer.status}"
    return (f"{answer.model} · {answer.catalog} · {answer.task_title} "
            f"({answer.task_key}){attempt}{status}")


class AnswerScreen(BoardScreen):
    """The answer behind one score."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Back", tooltip="Back to the matrix"),
        Binding("k", "toggle_thinking", "Thinking", show=False,
                tooltip="Unfold or fold the thinking"),
    ]
    FAILED = "Cannot open this answer"

    def __init__(self, generation_id: str, rater: str | None = None) -> None:
        super().__init__(rater=rater)
        self.generation_id = generation_id
        self.answer: Answer | None = None

    def compose(self) -> ComposeResult:
        yield Static("Answer · loading…", id="answer-title", classes="board-title")
        with VerticalScroll(id="answer-body", classes="board-scroll"):
            yield Static("", id="answer-rating", classes="answer-rating")
            yield Static("", id="answer-figures", classes="answer-figures")
            yield ThinkingBox(id="answer-thinking")
            yield Markdown("", id="answer-text", classes="answer-text")
            yield Static("Prompt", classes="answer-section")
            yield Static("", id="answer-prompt", classes="answer-prompt", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="answer-load", exit_on_error=False)
    def load(self) -> Answer:
        return answers.answer(self.store, self.generation_id, self.rater)

    async def show(self, answer: Answer) -> None:
        self.answer = answer
        self.query_one("#answer-title", Static).update(heading(answer))
        self.query_one("#answer-rating", Static).update(rating_text(answer))
        self.query_one("#answer-figures", Static).update(figures_line(answer.figures))
        self.query_one("#answer-prompt", Static).update(answer.prompt)
        self.query_one(ThinkingBox).show(answer.reasoning, answer.figures.get("reasoning_tokens"),
                                         answer.figures.get("reasoning_s"))
        await self.query_one("#answer-text", Markdown).update(
            answer.response or "*(no answer text)*")
        self.query_one("#answer-body").focus()

    def action_toggle_thinking(self) -> None:
        self.query_one(ThinkingBox).toggle()

    def show_message(self, text: str) -> None:
        self.query_one("#answer-title", Static).update(text)

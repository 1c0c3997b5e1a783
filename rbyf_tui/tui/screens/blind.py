"""Blind rating: a comparison task by task, its answers under letters in a shuffled order,
names and speed hidden until this rater has rated every answer of the task."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Markdown, Static
from textual.worker import Worker, WorkerState

from rbyf_tui import blind
from rbyf_tui.blind import Blinded, BlindRound, BlindTask
from rbyf_tui.comparison import member_description
from rbyf_tui.store.writes import default_rater
from rbyf_tui.tui.screens.board.base import BoardScreen
from rbyf_tui.tui.screens.board.styles import figures_line, prompt_line, score_text
from rbyf_tui.tui.screens.dialogs import TextPrompt, TextView
from rbyf_tui.tui.widgets.stats import checks_text
from rbyf_tui.tui.widgets.thinking import ThinkingBox

MIN_COLUMN = 38  # narrower than this, one answer at a time (a key switches)


def head_text(item: Blinded, revealed: bool, remark: str | None) -> Text:
    """The letter; the score this rater gave; the name and figures once revealed."""
    text = Text(f"Answer {item.letter}", style="bold")
    if revealed:
        text.append(f" · {member_description(item.member)}", style="bold")
    text.append("\n")
    answer = item.answer
    if answer is None:
        text.append("no answer to this task", style="italic")
        return text
    if answer.score is None:
        text.append("not rated yet · 0-5 rates it", style="italic")
    else:
        text.append_text(score_text(answer.score))
        text.append(" of 5")
    shown = answer.remarks if answer.score is not None else remark
    if shown:
        text.append(f"\nremarks: {shown}")
    if answer.checks:
        text.append("\n")
        text.append_text(checks_text(list(answer.checks)))
    return text


@dataclass(frozen=True)
class Saved:
    """A rating stored: the round read again, and where the rater was when they scored."""

    round: BlindRound
    at: tuple[int, int]  # (task index, answer index)


class BlindColumn(VerticalScroll):
    """One answer of the task (its letter; its model once revealed)."""

    def compose(self) -> ComposeResult:
        yield Static("", classes="compare-head")
        yield Static("", classes="compare-figures")
        yield ThinkingBox()
        yield Markdown("", classes="compare-answer")

    async def show(self, item: Blinded, revealed: bool, remark: str | None) -> None:
        self.query_one(".compare-head", Static).update(head_text(item, revealed, remark))
        answer = item.answer
        figures = self.query_one(".compare-figures", Static)
        figures.update(figures_line(answer.figures) if revealed and answer else "")
        figures.display = revealed and answer is not None
        # Its length and seconds would tell the model (and its speed) apart: after.
        self.query_one(ThinkingBox).show(
            answer.reasoning if answer else None,
            answer.figures.get("reasoning_tokens") if answer and revealed else None,
            answer.figures.get("reasoning_s") if answer and revealed else None)
        await self.query_one(Markdown).update(
            (answer.response or "*(no answer text)*") if answer else "")


class BlindScreen(BoardScreen):
    """Rate a comparison's answers without knowing whose they are."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Back", tooltip="Back to where you were"),
        Binding("0", "score(0)", "Score", key_display="0-5",
                tooltip="Score the current answer 0"),
        *(Binding(str(n), f"score({n})", f"score {n}", show=False,
                  tooltip=f"Score the current answer {n}") for n in range(1, 6)),
        Binding("a,tab", "switch(1)", "Next answer", key_display="a", priority=True,
                tooltip="The next answer of this task"),
        Binding("shift+tab", "switch(-1)", "Previous answer", show=False, priority=True,
                tooltip="The previous answer of this task"),
        Binding("e", "remark", "Remark", tooltip="A remark on the current answer"),
        Binding("n,right", "step(1)", "Next task", priority=True, tooltip="The next task"),
        Binding("p,left", "step(-1)", "Previous", show=False, priority=True,
                tooltip="The previous task"),
        Binding("t", "prompt", "Prompt", show=False, tooltip="The task's whole prompt"),
        Binding("k", "toggle_thinking", "Thinking", show=False,
                tooltip="Unfold or fold the thinking"),
    ]

    FAILED = "Cannot open the comparison"

    def __init__(self, comparison_id: str, rater: str | None = None) -> None:
        super().__init__(None, rater)
        self.comparison_id = comparison_id
        self.round: BlindRound | None = None
        self.index = 0  # the task
        self.current = 0  # the answer the score keys rate
        self.remarks: dict[str, str] = {}  # generation id -> remark not saved yet
        self.saving: tuple[str, str] | None = None  # (generation id, remark) being saved
        self.typed_ahead: list[int] = []  # scores typed while one was being saved

    def compose(self) -> ComposeResult:
        yield Static("Blind rating · loading…", id="blind-title", classes="board-title")
        yield Static("", id="blind-prompt", classes="compare-prompt", markup=False)
        yield Horizontal(id="blind-columns", classes="compare-columns")
        yield Static("", id="blind-help", classes="board-legend")
        yield Footer()

    def on_mount(self) -> None:
        self.rater = self.rater or default_rater()
        self.load_round()

    @work(thread=True, exclusive=True, group="blind-load", exit_on_error=False)
    def load_round(self) -> BlindRound:
        assert self.rater is not None
        return blind.load_round(self.store, self.comparison_id, self.rater)

    @work(thread=True, exclusive=True, group="blind-save", exit_on_error=False)
    def save(self, generation_id: str, score: int, remark: str, blind_given: bool,
             at: tuple[int, int]) -> Saved:
        assert self.rater is not None
        self.store.rate(generation_id, score, remark, self.rater, blind=blind_given)
        return Saved(blind.load_round(self.store, self.comparison_id, self.rater), at)

    async def show(self, result: BlindRound | Saved) -> None:
        first = self.round is None
        if isinstance(result, Saved):
            self.saving = None
            # On to the next answer to rate, unless the rater moved on meanwhile.
            advance = result.at == (self.index, self.current)
            result = result.round
        else:
            advance = False
        self.round = result
        if not result.tasks:
            self.show_message(f"Blind rating · {result.catalog}: no answers yet; generate "
                              f"them with rbyf run --resume {result.comparison_id[:8]}")
            return
        self.index = min(self.index, len(result.tasks) - 1)
        if first:
            self.index = result.first_open()
            self.current = self.next_unrated(-1)
        elif advance and self.task is not None and not self.task.revealed:
            self.current = self.next_unrated(self.current)
        await self.show_task()
        if self.typed_ahead and self.saving is None:  # a fast rater's next score, in order
            self.action_score(self.typed_ahead.pop(0))

    def show_message(self, text: str) -> None:
        self.query_one("#blind-title", Static).update(text)

    async def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        # Textual calls BoardScreen's handler after this one (it shows what loads return).
        if event.worker.group == "blind-save" and event.state == WorkerState.ERROR:
            if self.saving is not None:  # the remark is not lost
                self.remarks.setdefault(*self.saving)
            self.saving = None
            self.typed_ahead.clear()  # they were meant for the answers after this one
            self.notify(f"The rating was not saved: {event.worker.error}", severity="error")
            event.prevent_default()  # not a load error: the base class's handler is skipped

    @property
    def task(self) -> BlindTask | None:
        if self.round is None or not self.round.tasks:
            return None
        return self.round.tasks[self.index]

    def next_unrated(self, after: int) -> int:
        """The next answer after `after` still to rate (wrapping), else the one after."""
        task = self.task
        if task is None:
            return 0
        count = len(task.answers)
        for step in range(1, count + 1):
            item = task.answers[(after + step) % count]
            if item.answer is not None and item.answer.score is None:
                return (after + step) % count
        return max(0, after) % count

    # --- drawing ----------------------------------------------------------------------

    @property
    def side_by_side(self) -> bool:
        count = len(self.task.answers) if self.task else 1
        return self.size.width >= count * MIN_COLUMN

    async def build_columns(self) -> None:
        assert self.round is not None
        columns = self.query_one("#blind-columns", Horizontal)
        await columns.remove_children()
        task = self.task
        await columns.mount_all([BlindColumn(classes="compare-column")
                                 for _ in (task.answers if task else ())])
        self.size_columns()

    def size_columns(self) -> None:
        columns = list(self.query(BlindColumn))
        if not columns:
            return
        wide = self.side_by_side
        for n, column in enumerate(columns):
            column.display = wide or n == self.current
            column.styles.width = (self.size.width // len(columns)) if wide else "1fr"
            column.set_class(wide and n == self.current, "blind-current")

    def on_resize(self, event: events.Resize) -> None:
        self.size_columns()

    async def show_task(self) -> None:
        task, rnd = self.task, self.round
        if task is None or rnd is None:
            return
        if len(self.query(BlindColumn)) != len(task.answers):  # first, or a model added
            await self.build_columns()
        self.current = min(self.current, len(task.answers) - 1)
        letter = task.answers[self.current].letter
        state = ("names shown" if task.revealed
                 else f"{task.rated}/{task.to_rate} rated, names hidden")
        self.query_one("#blind-title", Static).update(
            f"Blind · {rnd.catalog} · task {self.index + 1}/{len(rnd.tasks)}: {task.title}"
            f" · {state}")
        self.query_one("#blind-prompt", Static).update(
            prompt_line(task.prompt, self.size.width, " (t: all of it)"))
        for column, item in zip(self.query(BlindColumn), task.answers, strict=True):
            remark = self.remarks.get(item.answer.generation_id) if item.answer else None
            await column.show(item, task.revealed, remark)
        self.size_columns()
        self.query_one("#blind-help", Static).update(self.strip(task, letter))

    def strip(self, task: BlindTask, letter: str) -> Text:
        """Every answer's letter and score (the one rated now marked), then the keys."""
        text = Text()
        for item in task.answers:
            mark = ">" if item.letter == letter else " "
            text.append(f"{mark}{item.letter} ", style="bold" if mark == ">" else "")
            score = item.answer.score if item.answer else None
            text.append_text(score_text(score) if item.answer else Text(" – ", style="dim"))
            text.append(" ")
        text.append(f" rating {letter} · a next · 0-5 score · e remark · n/p task")
        return text

    # --- keys -------------------------------------------------------------------------

    async def action_switch(self, delta: int) -> None:
        task = self.task
        if task is None:
            return
        self.current = (self.current + delta) % len(task.answers)
        await self.show_task()
        self.query(BlindColumn)[self.current].scroll_home(animate=False)

    async def action_step(self, delta: int) -> None:
        if self.round is None or not self.round.tasks:
            return
        self.index = (self.index + delta) % len(self.round.tasks)
        self.current = self.next_unrated(-1)
        await self.show_task()
        for column in self.query(BlindColumn):
            column.scroll_home(animate=False)

    def action_score(self, score: int) -> None:
        task = self.task
        if task is None:
            return
        if self.saving:  # over SSH keys run ahead of the screen: keep them in order
            self.typed_ahead.append(score)
            return
        item = task.answers[self.current]
        if item.answer is None:
            self.notify(f"Answer {item.letter}: this model has no answer to rate.",
                        severity="warning")
            return
        remark = self.remarks.pop(item.answer.generation_id, None)
        if remark is None:
            remark = item.answer.remarks or "" if item.answer.score is not None else ""
        self.saving = (item.answer.generation_id, remark)
        # Once the names show, a new score is no longer given blind.
        self.save(item.answer.generation_id, score, remark, not task.revealed,
                  (self.index, self.current))

    def action_remark(self) -> None:
        task = self.task
        if task is None:
            return
        item = task.answers[self.current]
        if item.answer is None:
            return
        answer = item.answer
        start = self.remarks.get(answer.generation_id, answer.remarks or "")

        def keep(text: str | None) -> None:
            if text is None:
                return
            if answer.score is not None:  # rated: save the remark with that score now
                self.saving = (answer.generation_id, text)
                self.save(answer.generation_id, answer.score, text, not task.revealed,
                          (self.index, self.current))
            else:
                self.remarks[answer.generation_id] = text
                self.call_after_refresh(self.show_task)

        self.app.push_screen(TextPrompt(f"Remark on answer {item.letter} (saved with its "
                                        "score; enter keeps it, escape drops it)", start), keep)

    def action_prompt(self) -> None:
        prompt = self.task.prompt if self.task else None
        if prompt:
            self.app.push_screen(TextView("The task's prompt", prompt))

    def action_toggle_thinking(self) -> None:
        for box in self.query(ThinkingBox):
            box.toggle()

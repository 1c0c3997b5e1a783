"""Side by side: two or more models' answers to each task of a catalog, with their scores,
remarks and figures; `n`/`p` step through the tasks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Markdown, SelectionList, Static

from rbyf_tui import answers
from rbyf_tui.answers import Answer, Comparison
from rbyf_tui.tui.screens.board.base import CSS_PATH, EMPTY_HELP, BoardScreen
from rbyf_tui.tui.screens.board.data import BoardData, filter_label
from rbyf_tui.tui.screens.board.styles import (
    append_remarks,
    figures_line,
    prompt_line,
    score_text,
)
from rbyf_tui.tui.widgets.thinking import ThinkingBox

Picked = tuple[str, list[str]]  # catalog, model ids
MIN_COLUMN = 38  # cells: two answers side by side at 80 columns


class ModelPicker(ModalScreen[Picked | None]):
    """Pick the models (space) and the catalog (c) to compare; enter compares."""

    CSS_PATH = CSS_PATH
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "confirm", "Compare", priority=True,
                tooltip="Compare the picked models"),
        Binding("c", "next_catalog", "Catalog", tooltip="Pick from the next catalog"),
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, data: BoardData, catalog: str, selected: Sequence[str] = ()) -> None:
        super().__init__()
        self.data = data
        self.catalog = catalog
        self.initial = list(selected)

    def compose(self) -> ComposeResult:
        with Vertical(id="picker", classes="picker"):
            yield Static("", id="picker-title", classes="board-title")
            yield SelectionList[str](id="picker-list")
            yield Static("space picks or drops a model · enter compares · c next catalog · "
                         "escape cancels", classes="board-legend")
        yield Footer()

    def on_mount(self) -> None:
        self.fill(self.initial)

    def fill(self, selected: Sequence[str]) -> None:
        standings = self.data.of(self.catalog)
        if not selected:
            selected = [s.model_id for s in standings[:2]]
        self.query_one("#picker-title", Static).update(
            f"Compare which models? · {filter_label(self.catalog, self.data.rater)}")
        picks = self.query_one("#picker-list", SelectionList)
        picks.clear_options()
        picks.add_options([(f"{s.model}  ·  mean {s.mean:.2f}, {s.n_rated} rated",
                            s.model_id, s.model_id in selected) for s in standings])
        if standings:
            picks.highlighted = 0  # so that space works at once
        picks.focus()

    def action_confirm(self) -> None:
        chosen = list(self.query_one("#picker-list", SelectionList).selected)
        if len(chosen) < 2:
            self.notify("Pick two or more models (space), then press enter.",
                        severity="warning")
            return
        self.dismiss((self.catalog, chosen))

    def action_next_catalog(self) -> None:
        self.catalog = self.data.choices.next_catalog(self.catalog) or self.catalog
        self.fill([])

    def action_cancel(self) -> None:
        self.dismiss(None)


def column_header(answer: Answer | None, model: str) -> Text:
    text = Text(model, style="bold")
    text.append("\n")
    if answer is None:
        text.append("no answer to this task", style="italic")
        return text
    if answer.score is None:
        text.append("not rated", style="italic")
    else:
        text.append_text(score_text(answer.score))
        text.append(f" of 5 · {answer.rater or '?'}")
    if answer.attempt > 1:
        text.append(f" · attempt {answer.attempt}")
    append_remarks(text, answer)
    return text


class AnswerColumn(VerticalScroll):
    """One model's answer to the current task; scrolls on its own (tab moves between)."""

    def __init__(self, model: str, **kwargs: object) -> None:
        super().__init__(classes="compare-column", **kwargs)  # type: ignore[arg-type]
        self.model = model

    def compose(self) -> ComposeResult:
        yield Static(Text(self.model, style="bold"), classes="compare-head")
        yield Static("", classes="compare-figures")
        yield ThinkingBox()
        yield Markdown("", classes="compare-answer")

    async def show(self, answer: Answer | None) -> None:
        self.query_one(".compare-head", Static).update(column_header(answer, self.model))
        self.query_one(".compare-figures", Static).update(
            figures_line(answer.figures) if answer else "")
        self.query_one(ThinkingBox).show(
            answer.reasoning if answer else None,
            answer.figures.get("reasoning_tokens") if answer else None,
            answer.figures.get("reasoning_s") if answer else None)
        await self.query_one(Markdown).update(
            (answer.response or "*(no answer text)*") if answer else "")
        self.scroll_home(animate=False)


class CompareScreen(BoardScreen):
    """Each task in turn with the picked models' answers in columns."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Back", tooltip="Back to the leaderboard"),
        Binding("n,right", "step(1)", "Next task", priority=True, tooltip="The next task"),
        Binding("p,left", "step(-1)", "Previous", priority=True, tooltip="The previous task"),
        Binding("m", "pick", "Models", tooltip="Pick other models or another catalog"),
        Binding("k", "toggle_thinking", "Thinking", show=False,
                tooltip="Unfold or fold the models' thinking"),
    ]

    FAILED = "Cannot compare"

    def __init__(self, catalog: str | None = None, rater: str | None = None,
                 models: Sequence[str] = ()) -> None:
        super().__init__(catalog, rater)
        self.models = list(models)
        self.data: BoardData | None = None
        self.comparison: Comparison | None = None
        self.index = 0

    def compose(self) -> ComposeResult:
        yield Static("Compare · loading…", id="compare-title", classes="board-title")
        yield Static("", id="compare-prompt", classes="compare-prompt", markup=False)
        yield Horizontal(id="compare-columns", classes="compare-columns")
        yield Footer()

    def on_mount(self) -> None:
        self.load()  # the standings (to pick from), then the answers

    def action_toggle_thinking(self) -> None:
        for box in self.query(ThinkingBox):
            box.toggle()

    # --- loading ----------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="compare-load", exit_on_error=False)
    def load_comparison(self, catalog: str, models: list[str]) -> Comparison:
        return answers.compare(self.store, catalog, models, self.rater)

    async def show(self, result: BoardData | Comparison) -> None:
        if isinstance(result, Comparison):
            self.comparison = result
            self.index = 0
            await self.build_columns()
            return
        self.data = result
        if self.data.empty:
            self.query_one("#compare-title", Static).update("Compare")
            self.query_one("#compare-prompt", Static).update(EMPTY_HELP)
            return
        self.catalog = self.catalog or self.data.choices.catalogs[0]
        if len(self.models) >= 2:
            self.load_comparison(self.catalog, self.models)
        else:
            self.action_pick()

    def show_message(self, text: str) -> None:
        self.query_one("#compare-title", Static).update(text)

    def action_pick(self) -> None:
        if self.data is None or self.data.empty or self.catalog is None:
            return
        current = [m.model_id for m in self.comparison.models] if self.comparison else []
        self.app.push_screen(ModelPicker(self.data, self.catalog, current), self.picked)

    def picked(self, result: Picked | None) -> None:
        if result is None:
            if self.comparison is None:
                self.dismiss()  # nothing to compare
            return
        self.catalog, self.models = result
        self.query_one("#compare-title", Static).update("Compare · loading…")
        self.load_comparison(self.catalog, self.models)

    # --- drawing ----------------------------------------------------------------------

    async def build_columns(self) -> None:
        assert self.comparison is not None
        columns = self.query_one("#compare-columns", Horizontal)
        await columns.remove_children()
        await columns.mount_all([AnswerColumn(m.name) for m in self.comparison.models])
        self.size_columns()
        await self.show_task()
        self.query(AnswerColumn).first().focus()

    def size_columns(self) -> None:
        """Share the width out, but never narrower than MIN_COLUMN: past that the columns
        scroll sideways (tab moves between them)."""
        columns = list(self.query(AnswerColumn))
        if columns:
            width = max(MIN_COLUMN, self.size.width // len(columns))
            for column in columns:
                column.styles.width = width

    def on_resize(self, event: events.Resize) -> None:
        self.size_columns()

    async def show_task(self) -> None:
        comparison = self.comparison
        if comparison is None:
            return
        if not comparison.rows:
            self.query_one("#compare-title", Static).update(
                f"Compare · {comparison.catalog}: no tasks answered by these models")
            return
        row = comparison.rows[self.index]
        self.query_one("#compare-title", Static).update(
            f"Compare · {filter_label(comparison.catalog, comparison.rater)} · task "
            f"{self.index + 1}/{len(comparison.rows)}: {row.task_title}")
        prompt = next((a.prompt for a in row.answers if a is not None), "")
        self.query_one("#compare-prompt", Static).update(prompt_line(prompt, self.size.width))
        for column, answer in zip(self.query(AnswerColumn), row.answers, strict=True):
            await column.show(answer)

    async def action_step(self, delta: int) -> None:
        if self.comparison is None or not self.comparison.rows:
            return
        self.index = (self.index + delta) % len(self.comparison.rows)
        await self.show_task()

"""Pairwise battles: two anonymous answers to one task side by side (which is left is
random); the rater says which is better; the names show after the vote, then the next."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Footer, Markdown, Static

from rbyf_tui import battles
from rbyf_tui.answers import Answer
from rbyf_tui.backends import BackendOptions
from rbyf_tui.battles import Battle, BattleKey
from rbyf_tui.store.writes import default_rater
from rbyf_tui.tui.screens.board.base import BoardScreen
from rbyf_tui.tui.screens.board.styles import figures_line, prompt_line
from rbyf_tui.tui.screens.dialogs import TextPrompt, TextView
from rbyf_tui.tui.widgets.stats import checks_text
from rbyf_tui.tui.widgets.thinking import ThinkingBox


def plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


VERDICT_WORDS = {"left": "left is better", "right": "right is better", "tie": "a tie",
                 "both_bad": "both are bad"}


@dataclass(frozen=True)
class Shown:
    """A battle with both answers read, ready to show; `none_left` when there is none."""

    battle: Battle | None
    left: Answer | None = None
    right: Answer | None = None
    catalog: str = ""


@dataclass(frozen=True)
class Voted:
    verdict: str
    vote_id: str


class Contender(VerticalScroll):
    """One side: its answer; its model's name once the vote is in."""

    def __init__(self, side: str) -> None:
        super().__init__(classes="compare-column")
        self.side = side

    def compose(self) -> ComposeResult:
        yield Static("", classes="compare-head")
        yield Static("", classes="compare-figures")
        yield ThinkingBox()
        yield Markdown("", classes="compare-answer")

    async def show(self, answer: Answer, revealed: bool, won: bool | None) -> None:
        head = Text(self.side.capitalize(), style="bold")
        if revealed:
            head.append(f" · {answer.model}", style="bold")
            if won is not None:
                head.append("  better" if won else "", style="bold reverse")
        if answer.checks:
            head.append("\n")
            head.append_text(checks_text(list(answer.checks)))
        self.query_one(".compare-head", Static).update(head)
        figures = self.query_one(".compare-figures", Static)
        figures.update(figures_line(answer.figures) if revealed else "")
        figures.display = revealed
        # Its length and seconds would tell the model (and its speed) apart: after the vote.
        self.query_one(ThinkingBox).show(
            answer.reasoning, answer.figures.get("reasoning_tokens") if revealed else None,
            answer.figures.get("reasoning_s") if revealed else None)
        await self.query_one(Markdown).update(answer.response or "*(no answer text)*")


class BattleScreen(BoardScreen):
    """Vote on battles one after the other, on one catalog."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Back", tooltip="Back to where you were"),
        Binding("left,1", "vote('left')", "Left better", key_display="←", priority=True,
                tooltip="The left answer is better"),
        Binding("right,2", "vote('right')", "Right better", key_display="→", priority=True,
                tooltip="The right answer is better"),
        Binding("t,=", "vote('tie')", "Tie", tooltip="Both are as good"),
        Binding("b", "vote('both_bad')", "Both bad", tooltip="Neither answer is good"),
        Binding("s", "skip", "Skip", tooltip="No vote on this one: the next battle"),
        Binding("e", "remark", "Remark", tooltip="A remark, saved with the vote"),
        Binding("space,n,enter", "next", "Next", show=False, priority=True,
                tooltip="The next battle (after a vote)"),
        Binding("w", "prompt", "Prompt", show=False, tooltip="The task's whole prompt"),
        Binding("k", "toggle_thinking", "Thinking", show=False,
                tooltip="Unfold or fold the thinking"),
        Binding("r", "toggle_repeat", "Repeats", show=False,
                tooltip="Allow pairs and tasks you voted on already, or not"),
        Binding("g", "toggle_missing", "Generate missing", show=False,
                tooltip="Generate answers a model lacks (loads it), or skip those tasks"),
    ]

    FAILED = "Cannot choose a battle"

    def __init__(self, catalog: str, rater: str | None = None,
                 models: Sequence[str] | None = None, seed: int | None = None,
                 *, repeat: bool = False, missing: str = "skip") -> None:
        super().__init__(catalog, rater)
        self.models = list(models) if models else None
        self.rng = random.Random(seed)
        self.repeat = repeat
        self.missing = missing  # skip | generate: a task a model has not answered
        self.shown: Shown | None = None
        self.voted: Voted | None = None
        self.remark = ""
        self.remark_sent = ""  # the remark the vote being recorded carries
        self.busy = False  # choosing (maybe generating) or recording: keys wait
        self.generating = False  # a model is loaded to answer a task
        self.stop = threading.Event()  # ends a generation (escape, quit, stop signals)
        self.passed: set[BattleKey] = set()  # skipped in this sitting
        self.votes_given = 0

    def compose(self) -> ComposeResult:
        yield Static("Battle · choosing…", id="battle-title", classes="board-title")
        yield Static("", id="battle-prompt", classes="compare-prompt", markup=False)
        with Horizontal(id="battle-columns", classes="compare-columns"):
            yield Contender("left")
            yield Contender("right")
        yield Static("", id="battle-help", classes="board-legend")
        yield Footer()

    def on_mount(self) -> None:
        self.rater = self.rater or default_rater()
        self.size_columns()
        self.busy = True
        self.choose()

    def on_resize(self) -> None:
        self.size_columns()

    def size_columns(self) -> None:
        for column in self.query(Contender):
            column.styles.width = max(1, self.size.width // 2)

    # --- loading and voting -----------------------------------------------------------

    @work(thread=True, exclusive=True, group="battle", exit_on_error=False)
    def choose(self) -> Shown:
        assert self.catalog is not None
        battle = battles.next_battle(self.store, self.catalog, self.rater, self.models,
                                     self.rng, repeat=self.repeat, missing=self.missing,
                                     passed=frozenset(self.passed))
        if battle is None:
            return Shown(None, catalog=self.catalog)
        if battle.left.generation_id is None or battle.right.generation_id is None:
            self.passed.add(battle.key)  # if it fails, s moves on to another
            self.generating = True
            try:
                battle = self.generate_missing(battle)
            finally:
                self.generating = False
            self.passed.discard(battle.key)
        left = Answer.from_row(self.store.answer(battle.left.generation_id))
        right = Answer.from_row(self.store.answer(battle.right.generation_id))
        return Shown(battle, left, right, self.catalog)

    def generate_missing(self, battle: Battle) -> Battle:
        """In the worker: load the model that lacks an answer and generate it (without
        naming it: that would give the side away)."""
        from rbyf_tui.opening import Opening

        self.app.call_from_thread(
            self.query_one("#battle-title", Static).update,
            f"Battle · {self.catalog} · one side has no answer to this task yet: generating "
            "it (its model loads)…")
        config = getattr(self.app, "config", None)
        opening = Opening(self.store, "tui", rater=self.rater,
                          max_tokens=getattr(config, "max_tokens", None),
                          **({"backend_factory": config.backend_factory} if config else {}))
        options = config.options if config is not None else BackendOptions()
        return battles.answer_missing(opening, replace(options, model=None), battle,
                                      self.stop)

    @work(thread=True, exclusive=True, group="battle", exit_on_error=False)
    def record(self, battle: Battle, verdict: str, remark: str) -> Voted:
        assert battle.left.generation_id and battle.right.generation_id
        vote_id = self.store.record_vote(battle.left.generation_id,
                                         battle.right.generation_id, verdict, remark,
                                         self.rater)
        return Voted(verdict, vote_id)

    async def show(self, result: Shown | Voted) -> None:
        self.busy = False
        if isinstance(result, Voted):
            self.voted = result
            self.votes_given += 1
            if self.remark == self.remark_sent:  # not one typed while the vote was saved
                self.remark = ""
        else:
            self.shown, self.voted, self.remark = result, None, ""
        await self.draw()
        self.stopped()

    def show_message(self, text: str) -> None:
        self.busy = False
        self.query_one("#battle-title", Static).update(
            text + (" · s another battle, g skips missing answers"
                    if self.missing == "generate" else ""))
        self.stopped()

    def stopped(self) -> None:
        """A quit or stop signal waits for the worker; tell the app it has ended."""
        check = getattr(self.app, "check_stop", None)
        if check is not None:
            check()

    # --- the app's stop protocol (as the session screen's) ------------------------------

    def stop_now(self) -> None:
        self.stop.set()

    def close_session(self) -> None:
        self.stop.set()

    async def draw(self) -> None:
        shown = self.shown
        if shown is None:
            return
        title = self.query_one("#battle-title", Static)
        help_line = self.query_one("#battle-help", Static)
        columns = self.query_one("#battle-columns")
        if shown.battle is None or shown.left is None or shown.right is None:
            columns.display = False
            self.query_one("#battle-prompt", Static).update("")
            title.update(f"Battle · {shown.catalog}: no battle left for you "
                         f"({plural(self.votes_given, 'vote')} this time)")
            help_line.update(
                "Every pair of models has your vote on every task both answered. r allows "
                "repeats; more models or tasks (rbyf run) make new battles · escape back")
            return
        columns.display = True
        left, right = shown.left, shown.right
        title.update(f"Battle · {shown.catalog} · {left.task_title} · "
                     f"{plural(self.votes_given, 'vote')} this time")
        self.query_one("#battle-prompt", Static).update(
            prompt_line(left.prompt, self.size.width, " (w: all of it)"))
        voted = self.voted
        for column, answer, side in zip(self.query(Contender), (left, right),
                                        ("left", "right"), strict=True):
            won = None if voted is None or voted.verdict not in ("left", "right") \
                else voted.verdict == side
            await column.show(answer, voted is not None, won)
        if voted is None:
            keys = "← left better · → right better · t tie · b both bad · s skip · e remark"
            help_line.update(keys + (f" · remark: {self.remark}" if self.remark else ""))
        else:
            help_line.update(f"saved: {VERDICT_WORDS[voted.verdict]} · left was {left.model}, "
                             f"right was {right.model} · space next battle")

    # --- keys -------------------------------------------------------------------------

    def action_vote(self, verdict: str) -> None:
        shown = self.shown
        if self.busy or self.voted is not None or shown is None or shown.battle is None:
            return
        self.busy = True
        self.remark_sent = self.remark
        self.record(shown.battle, verdict, self.remark)

    def action_next(self) -> None:
        if self.busy or (self.voted is None and self.shown is not None
                         and self.shown.battle is not None):
            return  # vote or skip first
        self.busy = True
        self.choose()

    def action_skip(self) -> None:
        if self.busy:
            return
        if self.voted is None and self.shown is not None and self.shown.battle is not None:
            self.passed.add(self.shown.battle.key)
        self.busy = True
        self.choose()

    def action_close(self) -> None:
        if self.generating:
            self.stop.set()  # the answer being generated ends, kept as cancelled
            self.notify("Stopping the answer being generated…")
            return
        super().action_close()

    def action_remark(self) -> None:
        if self.voted is not None or self.shown is None or self.shown.battle is None:
            return

        def keep(text: str | None) -> None:
            if text is not None:
                self.remark = text
                self.call_after_refresh(self.draw)

        self.app.push_screen(TextPrompt("Remark on this battle (saved with your vote)",
                                        self.remark), keep)

    def action_toggle_repeat(self) -> None:
        self.repeat = not self.repeat
        self.notify("Battles you voted on before may come again." if self.repeat
                    else "Only battles you have not voted on.")
        if self.voted is not None or self.shown is None or self.shown.battle is None:
            self.action_skip()

    def action_toggle_missing(self) -> None:
        self.missing = "skip" if self.missing == "generate" else "generate"
        self.notify("Tasks a model has not answered: its answer is generated (the model "
                    "loads)." if self.missing == "generate"
                    else "Tasks a model has not answered are skipped.")
        if self.voted is not None or self.shown is None or self.shown.battle is None:
            self.action_skip()

    def action_prompt(self) -> None:
        prompt = self.shown.left.prompt if self.shown and self.shown.left else None
        if prompt:
            self.app.push_screen(TextView("The task's prompt", prompt))

    def action_toggle_thinking(self) -> None:
        for box in self.query(ThinkingBox):
            box.toggle()

"""Small modal questions: quit while generating, and where the resumed model went."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, SelectionList, Static


class ConfirmQuit(ModalScreen[bool]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "yes, quit"),
        Binding("n,escape", "answer(False)", "no, go on"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question)
            yield Static("y quit (the partial answer is kept as cancelled) · n go on",
                         classes="hint")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class ModelPathPrompt(ModalScreen[str | None]):
    """The resumed session's model file moved or changed: ask where it is now."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]

    def __init__(self, problem: str) -> None:
        super().__init__()
        self.problem = problem

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.problem, id="problem")
            yield Input(placeholder="path to the .gguf file, then enter", id="path")
            yield Static("enter use this file · escape back", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextPrompt(ModalScreen[str | None]):
    """One line of text (a remark): enter keeps it, escape drops it."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self.question = question
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question)
            yield Input(value=self.value, id="text")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip())

    def action_cancel(self) -> None:
        self.dismiss(None)


class PickMany(ModalScreen[list[int] | None]):
    """Pick several of a list (space), enter confirms: the values of those picked."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "confirm", "confirm", priority=True),
        Binding("escape", "cancel", "cancel"),
    ]

    def __init__(self, question: str, choices: list[tuple[str, int]]) -> None:
        super().__init__()
        self.question = question
        self.choices = choices

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.question)
            yield SelectionList[int](*self.choices, id="picks")
            yield Static("space picks or drops · enter confirms · escape cancels",
                         classes="hint")

    def on_mount(self) -> None:
        picks = self.query_one(SelectionList)
        picks.highlighted = 0
        picks.focus()

    def action_confirm(self) -> None:
        picked = list(self.query_one(SelectionList).selected)
        if len(picked) < 2:
            self.notify("Pick two or more (space), then press enter.", severity="warning")
            return
        self.dismiss(picked)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextView(ModalScreen[None]):
    """A long text (a task's whole prompt) to read and scroll; escape closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,t,w,q", "close", "close"),
    ]
    DEFAULT_CSS = "TextView VerticalScroll { height: auto; max-height: 20; }"

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(self.title_text, classes="hint")
            with VerticalScroll():
                yield Static(self.text, markup=False)
            yield Static("escape closes", classes="hint")

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss(None)

"""A model's thinking, folded above its answer: dimmed, its tokens and seconds in the title."""

from __future__ import annotations

from textual.widget import Widget
from textual.widgets import Collapsible, Static

from rbyf_tui.metrics import thinking_line
from rbyf_tui.tui.widgets.stream import StreamView


class ThinkingBox(Collapsible):
    """Hidden when there is no thinking; folded by default (a key unfolds it)."""

    DEFAULT_CSS = """
    ThinkingBox { height: auto; padding: 0; border: none; }
    ThinkingBox .thinking-text { text-style: dim; color: $text-muted; }
    ThinkingBox > Contents { height: auto; max-height: 12; padding: 0 0 0 2; }
    ThinkingBox StreamView { height: 8; }
    """

    def __init__(self, body: Widget | None = None, *, id: str | None = None,
                 classes: str | None = None) -> None:
        self.body = body or Static("", markup=False)
        self.body.add_class("thinking-text")
        super().__init__(self.body, title="thinking", collapsed=True, id=id, classes=classes)
        self.user_toggled = False  # k pressed: the live answer no longer folds it
        self.display = False  # until there is a thought to show

    def show(self, reasoning: str | None, tokens: int | None, seconds: float | None) -> None:
        """A stored thought (Static body); none hides the box."""
        self.display = bool(reasoning)
        if reasoning:
            self.title_for(tokens, seconds)
            if isinstance(self.body, Static):
                self.body.update(reasoning)
            elif isinstance(self.body, StreamView):
                self.body.set_text(reasoning)

    def toggle(self) -> None:
        if self.display:
            self.collapsed = not self.collapsed
            self.user_toggled = True

    def title_for(self, tokens: int | None, seconds: float | None) -> None:
        self.title = f"{thinking_line(tokens, seconds)} (k)"

"""Messages the workers post to the session screen (one per event, never per token)."""

from __future__ import annotations

from textual.message import Message

from rbyf_tui.runner import Outcome, Runner


class SessionOpened(Message):
    def __init__(self, runner: Runner, rater: str | None) -> None:
        super().__init__()
        self.runner = runner
        self.rater = rater


class SessionFailed(Message):
    def __init__(self, error: str, ask_path: bool = False, stored: bool = False) -> None:
        super().__init__()
        self.error = error
        self.ask_path = ask_path  # the resumed session's model file moved or changed
        self.stored = stored  # a failed model load, kept in load_failures


class GenerationDone(Message):
    def __init__(self, key: str, outcome: Outcome | None, error: str | None = None) -> None:
        super().__init__()
        self.key = key
        self.outcome = outcome
        self.error = error  # the store failed; the runner reports backend errors in outcome


class RatingSaved(Message):
    def __init__(self, key: str, score: int) -> None:
        super().__init__()
        self.key = key
        self.score = score


class RatingFailed(Message):
    def __init__(self, key: str, error: str) -> None:
        super().__init__()
        self.key = key
        self.error = error

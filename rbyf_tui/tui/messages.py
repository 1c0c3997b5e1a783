"""Messages the workers post to the session screen (one per event, never per token).

Workers that wrote to the session read its task states before they post, so the screen
gets them with the event and never reads the DB on the UI thread.
"""

from __future__ import annotations

from textual.message import Message

from rbyf_tui.runner import Outcome, Runner
from rbyf_tui.tui.progress import States


class SessionOpened(Message):
    def __init__(self, runner: Runner, rater: str | None, states: States | None,
                 read_error: str | None = None, short_id: str | None = None) -> None:
        super().__init__()
        self.runner = runner
        self.rater = rater
        self.states = states
        self.read_error = read_error  # the states could not be read
        self.short_id = short_id  # the session id as shown (store.ids)


class SessionFailed(Message):
    def __init__(self, error: str, ask_path: bool = False, stored: bool = False) -> None:
        super().__init__()
        self.error = error
        self.ask_path = ask_path  # the resumed session's model file moved or changed
        self.stored = stored  # a failed model load, kept in load_failures


class GenerationDone(Message):
    def __init__(self, key: str, outcome: Outcome | None, error: str | None = None,
                 states: States | None = None, read_error: str | None = None) -> None:
        super().__init__()
        self.key = key
        self.outcome = outcome
        self.error = error  # the store failed; the runner reports backend errors in outcome
        self.states = states
        self.read_error = read_error


class RatingSaved(Message):
    def __init__(self, key: str, score: int, states: States | None = None,
                 read_error: str | None = None) -> None:
        super().__init__()
        self.key = key
        self.score = score
        self.states = states
        self.read_error = read_error


class RatingFailed(Message):
    def __init__(self, key: str, error: str) -> None:
        super().__init__()
        self.key = key
        self.error = error

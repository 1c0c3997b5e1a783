"""Stop signals (Ctrl+C, SIGTERM, SIGHUP) that never cut a database write in half.

While the main thread is inside `deferred()`, a stop signal is remembered, the block's
`on_stop` callbacks run (e.g. cancel the generation, so it ends at the next token and is
stored whole), and `Stopped` is raised when the block ends; elsewhere it is raised at once.
`Stopped` is a KeyboardInterrupt, so every Ctrl+C path handles the other signals too.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(KeyboardInterrupt):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_depth = 0
_pending: int | None = None
_on_stop: list[Callable[[], None]] = []


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    global _pending
    _pending = signum
    if _depth == 0:
        _pending = None
        raise Stopped(signum)
    for callback in list(_on_stop):
        callback()


def install() -> None:
    """Route the stop signals through `deferred()`; main thread only."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _on_signal)


@contextlib.contextmanager
def deferred(on_stop: Callable[[], None] | None = None) -> Iterator[None]:
    """A block a stop signal may not interrupt (other threads are never interrupted)."""
    global _depth, _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _depth += 1
    if on_stop is not None:
        _on_stop.append(on_stop)
    try:
        yield
    finally:
        if on_stop is not None:
            _on_stop.remove(on_stop)
        _depth -= 1
        if _depth == 0 and _pending is not None:
            signum, _pending = _pending, None
            raise Stopped(signum)

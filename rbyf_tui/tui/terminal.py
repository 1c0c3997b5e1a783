"""Keep native stderr output off the screen while the app owns the terminal.

llama.cpp writes to file descriptor 2 even with verbose=False, and Textual's Linux driver
draws on `sys.__stderr__` (fd 2 too). So the terminal moves to a duplicate of fd 2, the
driver draws there, and fd 2 itself points at the log file for as long as the app runs.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from rbyf_tui.backends import llama_log


class HangupSafe:
    """The terminal, as the driver's writer thread sees it: after a hang-up (an SSH drop)
    writes fail with EIO; swallowing them keeps that thread alive, so the app's queue of
    writes never blocks the event loop and the SIGHUP handler can still save and exit."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.gone = False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                self._stream.write(text)
            except (OSError, ValueError):
                self.gone = True
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._stream.flush()
            except (OSError, ValueError):
                self.gone = True

    def fileno(self) -> int:
        return self._stream.fileno()

    def isatty(self) -> bool:
        return True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def driver_on(terminal: TextIO) -> type[Any] | None:
    """Textual's own driver for this platform, drawing on `terminal` instead of fd 2."""
    if os.name != "posix":
        return None
    from textual.drivers.linux_driver import LinuxDriver

    class TerminalDriver(LinuxDriver):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._file = HangupSafe(terminal)

    return TerminalDriver


@contextlib.contextmanager
def screen_apart_from_fd2(log_path: Path) -> Iterator[type[Any] | None]:
    """Yields the driver class to give the app; fd 2 goes to `log_path` until the end."""
    if os.name != "posix" or not sys.__stderr__ or not sys.__stderr__.isatty():
        yield None
        return
    with llama_log.fd2_to(log_path) as terminal:
        yield driver_on(terminal)

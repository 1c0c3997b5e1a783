"""Keep llama.cpp's chatter off the user's terminal: its log lines and raw writes to fd 2."""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

_lock = threading.Lock()
_errors: deque[str] = deque(maxlen=20)
_state: dict[str, Any] = {}  # the log file and the ctypes callback, kept alive here

# ggml's levels: none 0, debug 1, info 2, warn 3, error 4, cont(inue the last line) 5
GGML_LOG_ERROR = 4
GGML_LOG_CONT = 5


def route_llama_logs(path: Path) -> None:
    """Write every llama.cpp log line to `path`; remember error lines for messages."""
    import llama_cpp

    with _lock:
        if _state.get("path") == path:
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        old = _state.get("file")
        _state["file"] = open(path, "a", encoding="utf-8", errors="replace")  # noqa: SIM115
        _state["path"] = path
        if old:
            old.close()

    last_level = [0]

    @llama_cpp.llama_log_callback
    def on_log(level: int, text: bytes, _user: ctypes.c_void_p) -> None:
        line = text.decode("utf-8", errors="replace")
        level = last_level[0] if level == GGML_LOG_CONT else level
        last_level[0] = level
        with _lock:
            log = _state.get("file")
            if log:
                log.write(line)
                log.flush()
            if level == GGML_LOG_ERROR and line.strip():
                _errors.append(line.strip())

    _state["callback"] = on_log
    llama_cpp.llama_log_set(on_log, ctypes.c_void_p(0))


def last_error() -> str | None:
    with _lock:
        return _errors[-1] if _errors else None


def first_error() -> str | None:
    """The first error since `clear_errors`: the cause; the lines after it are its echoes
    ("failed to load model")."""
    with _lock:
        return _errors[0] if _errors else None


def clear_errors() -> None:
    with _lock:
        _errors.clear()


@contextlib.contextmanager
def fd2_to(path: Path) -> Iterator[TextIO]:
    """Point file descriptor 2 at `path` and sys.stderr at the terminal it was.

    Yields the terminal stream. Native code writing to fd 2 lands in the file; Python code
    writing to sys.stderr (our one-line errors) still reaches the user.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    log_fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(log_fd, 2)
    os.close(log_fd)
    terminal = os.fdopen(saved, "w", buffering=1, encoding="utf-8", errors="replace")
    previous = sys.stderr
    sys.stderr = terminal
    try:
        yield terminal
    finally:
        with contextlib.suppress(OSError, ValueError):
            terminal.flush()
        os.dup2(saved, 2)
        sys.stderr = previous
        with contextlib.suppress(OSError):  # a hung-up terminal fails the last flush
            terminal.close()

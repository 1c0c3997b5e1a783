"""A download's progress in words: bytes, percent, speed and time left."""

from __future__ import annotations

import time
from collections.abc import Callable

from rbyf_tui.comparison import file_size


def duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds // 60 % 60:02d} min"


class Rate:
    """Speed over this run's bytes (a resumed download starts with bytes already there),
    once there is enough to measure."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.start: tuple[float, int] | None = None

    def line(self, done: int, total: int) -> str:
        now = self.clock()
        if self.start is None:
            self.start = (now, done)
        parts = [f"{file_size(done) or '0 B'} of {file_size(total) or '?'}"]
        if total:
            parts.append(f"{100 * done // total}%")
        seconds, since = now - self.start[0], done - self.start[1]
        if seconds >= 0.5 and since > 0:
            speed = since / seconds
            parts.append(f"{file_size(int(speed))}/s")
            if total and done < total:
                parts.append(f"{duration((total - done) / speed)} left")
        return " · ".join(parts)

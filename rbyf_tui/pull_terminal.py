"""A download from the Hub in the terminal: a progress bar on stderr, Ctrl+C (or SIGTERM,
SIGHUP) stops it leaving the partial file for a resume. Used by `rbyf pull` and by --model
hf:REPO/FILE when the file is not in the cache yet."""

from __future__ import annotations

import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rbyf_tui import stop_signals

if TYPE_CHECKING:
    from rbyf_tui.hub import HubFile

LOG_EVERY = 10.0  # seconds between progress lines in a log when no 10% step is crossed


def fetch(repo: str, file: str) -> Path:
    """--model hf:REPO/FILE not in the cache: download it with a bar, or say it stopped."""
    from rbyf_tui import hub

    choice = hub.choose(hub.list_gguf(repo), file)
    path, _ = pull_in_thread(choice)
    if path is None:
        raise hub.PullStopped(f"the download of {repo}/{file} stopped: run the same command "
                              "to resume it")
    return path


def pull_in_thread(choice: HubFile) -> tuple[Path | None, int]:
    """(the path, 0), or (None, exit code) after Ctrl+C, SIGTERM or SIGHUP. The pull runs in
    a thread and a stop sets its stop event, as the app's dialog does: the partial file
    stays for a resume."""
    from rbyf_tui import hub

    bar = Bar(choice.filename, title=f"pulling {hub.describe(choice)} from {choice.repo} into "
              f"{hub.hub_cache()}")
    stop = threading.Event()
    outcome: dict[str, object] = {}

    def work() -> None:
        try:
            outcome["path"] = hub.pull(choice, progress=bar.update, stop=stop)
        except BaseException as exc:  # handed to the main thread
            outcome["error"] = exc

    thread = threading.Thread(target=work, name="rbyf-pull", daemon=True)
    stop_signals.install()
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.2)
    except KeyboardInterrupt as exc:
        stop.set()
        thread.join(5)  # a stalled read may take longer: the partial file is a prefix anyway
        bar.close()
        return None, exc.exit_code if isinstance(exc, stop_signals.Stopped) else 130
    bar.close()
    error = outcome.get("error")
    if isinstance(error, BaseException):
        raise error
    path = outcome["path"]
    assert isinstance(path, Path)
    return path, 0


class Bar:
    """Bytes done/total, percent, speed (over the last seconds) and time left. On a terminal
    one line redrawn in place; in a log a line at each 10% step, or every LOG_EVERY seconds."""

    def __init__(self, name: str, title: str = "", stream: TextIO | None = None,
                 tty: bool | None = None, clock: Callable[[], float] = time.monotonic) -> None:
        from rbyf_tui import hub

        self.name = name.rsplit("/", 1)[-1]
        self.title = title  # shown with the first figures: an error before them stays alone
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.clock = clock
        self.rate = hub.TransferRate()
        self.step = -1
        self.logged = 0.0
        self.drawn = False
        self.lock = threading.Lock()

    def update(self, done: int, total: int) -> None:
        with self.lock:
            if self.title:
                self.stream.write(self.title + "\n")
                self.title = ""
            now = self.clock()
            self.rate.update(done, now)
            if self.tty:
                self._draw(done, total)
                return
            step = done * 10 // total if total else -1
            if step > self.step or now - self.logged >= LOG_EVERY:
                self.step = max(step, self.step)
                self.logged = now
                self.stream.write(self.figures(done, total) + "\n")
                self.stream.flush()

    def figures(self, done: int, total: int) -> str:
        from rbyf_tui import hub

        parts = []
        if total:
            parts.append(f"{done * 100 / total:5.1f}%")
            parts.append(f"{hub.format_size(done) or '0 B'} / {hub.format_size(total)}")
        else:
            parts.append(hub.format_size(done) or "0 B")
        speed = self.rate.speed
        parts.append(f"{speed / 1e6:.1f} MB/s" if speed is not None else "-- MB/s")
        if total:
            parts.append(f"{hub.format_duration(self.rate.eta(done, total))} left")
        return "  ".join(parts)

    def _draw(self, done: int, total: int) -> None:
        width = shutil.get_terminal_size((80, 24)).columns - 1
        text = self.figures(done, total)
        room = width - len(text) - 2
        name = self.name
        if len(name) > room // 2:
            name = name[: max(room // 2 - 1, 0)] + "…"
        cells = room - len(name) - 3 if total else 0
        if cells >= 10:
            filled = cells * done // total
            line = f"{name} [{'#' * filled}{'-' * (cells - filled)}]  {text}"
        else:
            line = f"{name}  {text}"[:width]
        self.stream.write("\r" + line.ljust(width))
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        with self.lock:
            if self.drawn:
                self.stream.write("\n")
                self.stream.flush()
                self.drawn = False

"""`rbyf pull REPO [FILE or QUANT]`: list a Hub repo's GGUF models, or download one into the
Hugging Face cache with a progress bar on stderr; the last line on stdout is its path."""

from __future__ import annotations

import argparse
import shutil
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from rbyf_tui import stop_signals
from rbyf_tui.commands.common import table

if TYPE_CHECKING:
    from rbyf_tui.hub import HubFile

LOG_EVERY = 10.0  # seconds between progress lines in a log when no 10% step is crossed


def main(args: argparse.Namespace) -> int:
    from rbyf_tui import hub

    repo, named = hub.parse_spec(args.repo)
    wanted = args.file or named
    files = hub.list_gguf(repo)
    if wanted is None:
        if not files:
            raise hub.PullError(f"{repo} has no GGUF model files: choose a repo whose name "
                                "usually ends in -GGUF")
        print_listing(repo, files)
        return 0
    choice = hub.choose(files, wanted)
    path, code = _pull_in_thread(choice)
    if path is None:
        print("stopped: run the same command to resume", file=sys.stderr)
        return code
    print(f"use it with: rbyf --model hf:{repo}/{choice.filename}", file=sys.stderr)
    print(path)
    return 0


def print_listing(repo: str, files: list[HubFile]) -> None:
    from rbyf_tui import hub

    rows = [[f.filename, f.quantization or "?", hub.format_size(f.size) or "?",
             len(f.shards) if len(f.shards) > 1 else ""] for f in files]
    print(table(["file", "quant", "size", "files"], rows, right=[2, 3]))
    example = files[0].filename
    quants = [f.quantization for f in files]
    for quant in ["Q4_K_M", *quants]:  # the usual choice first, then the smallest
        if quant and quants.count(quant) == 1:
            example = quant.lower()
            break
    print(f"\npull one with: rbyf pull {repo} {example}   (a quantization or a file name)")


def _pull_in_thread(choice: HubFile) -> tuple[Path | None, int]:
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

"""One answer on its way to the screen: tokens from the generation thread, frames on the UI.

The generation thread only appends to a `TokenBuffer` (never blocks for long, never touches
a widget); a UI timer drains it and hands the new text over once per tick: DRAIN_HZ times a
second when the model runs elsewhere (a server, a GPU), CPU_DRAIN_HZ when it decodes on
this machine's CPU cores. There every frame Textual paints takes a core away from the
decoder (and holds the GIL its thread needs between tokens): the text moves in fewer,
bigger steps, and a tick is passed over while the UI thread has used more than
CPU_UI_SHARE of the time (unused budget carries over for at most CPU_MAX_GAP_S; frames are
never further apart than that), so a slow machine gets fewer frames, not a slower model
(benchmarks/stream_overhead.py, benchmarks/frame_cost.py).
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable

from textual.message_pump import MessagePump
from textual.timer import Timer

from rbyf_tui.tui.widgets.stats import LiveFigures

DRAIN_HZ = 20
CPU_DRAIN_HZ = 8
CPU_UI_SHARE = 0.02
CPU_MAX_GAP_S = 1.0
# Characters shown per tick at most: a source faster than any model (a scripted one in the
# ingest benchmark, ~1M tokens/s) would otherwise make one tick wrap megabytes and freeze
# the keys; the rest waits for the next tick (this still shows ~1M characters a second).
DRAIN_CHARS = 32_768
STATS_S = 0.2  # seconds between figure updates while streaming
CPU_STATS_S = 1.0
CPU_SPARK_S = 2.0  # the sparkline, dearer to paint than the figures, less often on the CPU


class CpuPacer:
    """Allows a repaint while this thread has used at most `share` of the wall time, over
    time: budget left unused carries over, up to `share * max_gap_s` (a cheap frame pays for
    a dear one, as a jump of the answer or the figures are), and what was overspent (a dear
    frame, a garbage collection) is paid back first. A repaint is allowed anyway once
    `max_gap_s` has passed since the last one."""

    def __init__(self, share: float, max_gap_s: float) -> None:
        self.share = share
        self.max_gap_s = max_gap_s
        self.reset()

    def reset(self) -> None:
        self.cpu, self.wall = time.thread_time(), time.perf_counter()
        self.allowed = self.wall  # the last repaint
        self.credit = 0.0  # seconds of this thread's CPU still to spend

    def allows(self) -> bool:
        cpu, wall = time.thread_time(), time.perf_counter()
        earned = self.share * (wall - self.wall) - (cpu - self.cpu)
        self.credit = min(self.credit + earned, self.share * self.max_gap_s)
        self.cpu, self.wall = cpu, wall
        if self.credit < 0 and wall - self.allowed < self.max_gap_s:
            return False
        self.allowed = wall
        return True


class TokenBuffer:
    """Filled by the generation thread, emptied by the UI timer. Never blocks for long."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._parts: list[str] = []
        self._thoughts: list[str] = []
        self.count = 0  # pieces of either kind: about one a token
        self.thought = 0  # pieces of the thinking
        self.first: float | None = None
        self.last: float | None = None
        self.first_answer: float | None = None  # once the model thought

    def on_text(self, text: str) -> None:
        now = time.perf_counter()
        with self._lock:
            self._parts.append(text)
            self.count += 1
            if self.first is None:
                self.first = now
            if self.first_answer is None and self.thought:
                self.first_answer = now
            self.last = now

    def on_reasoning(self, text: str) -> None:
        now = time.perf_counter()
        with self._lock:
            self._thoughts.append(text)
            self.count += 1
            self.thought += 1
            if self.first is None:
                self.first = now
            self.last = now

    def drain(self) -> tuple[str, str, int, float | None, float | None]:
        """(answer text, thinking text) since the last drain, then the counts and times."""
        with self._lock:
            parts, self._parts = self._parts, []
            thoughts, self._thoughts = self._thoughts, []
            return "".join(parts), "".join(thoughts), self.count, self.first, self.last


class LiveStream:
    """The answer of one task while it is written. `show_text(text)` gets each drained
    piece (the screen paints it if the task is in view); `show_figures(spark)` is called at
    most every STATS_S (CPU_STATS_S on the CPU), `spark` saying whether the sparkline is due
    too (every time, or every CPU_SPARK_S on the CPU)."""

    def __init__(self, key: str, *, on_cpu: bool, show_text: Callable[[str], None],
                 show_figures: Callable[[bool], None],
                 show_reasoning: Callable[[str], None] | None = None) -> None:
        self.key = key
        self.cancel = threading.Event()
        self.done = threading.Event()  # the generation thread has stored the answer
        self.buffer = TokenBuffer()
        self.figures = LiveFigures(started=time.perf_counter())
        self.chunks: list[str] = []
        self.pacer = CpuPacer(CPU_UI_SHARE, CPU_MAX_GAP_S) if on_cpu else None
        self.ticks = 0
        self._show_text = show_text
        self._show_figures = show_figures
        self._show_reasoning = show_reasoning
        self.thoughts: list[str] = []
        self._backlog = ""  # drained but not yet shown (see DRAIN_CHARS)
        self._shown = False  # the first text is on the screen
        self._stats_at = self._spark_at = time.perf_counter()
        self._timer: Timer | None = None

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    @property
    def reasoning(self) -> str:
        return "".join(self.thoughts)

    def thinking(self, now: float | None = None) -> tuple[int, float | None]:
        """The thought so far: its pieces (about one a token) and seconds."""
        buffer = self.buffer
        if not buffer.thought or buffer.first is None:
            return 0, None
        end = buffer.first_answer or (time.perf_counter() if now is None else now)
        return buffer.thought, end - buffer.first

    def start(self, owner: MessagePump) -> None:
        """Drain on `owner`'s timer; it runs only while the answer streams."""
        hz = CPU_DRAIN_HZ if self.pacer is not None else DRAIN_HZ
        self._timer = owner.set_interval(1 / hz, self.drain)
        if self.pacer is not None:
            # A full garbage collection walks every object of the app (40-60 ms on a slow
            # machine, the GIL held): twice an answer, a third of the UI's budget. While it
            # streams, collections leave out what existed before it; they come back after.
            gc.freeze()

    def stop(self) -> list[float]:
        """Show what is left, stop the timer; the sparkline's rates of the whole answer."""
        self.drain(force=True)
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
            if self.pacer is not None:
                gc.unfreeze()
        return self.figures.rates()

    def drain(self, force: bool = False) -> None:
        """One tick: move buffered tokens to the screen in one repaint."""
        pacer = self.pacer
        if pacer is not None and self._shown and not force and not pacer.allows():
            return
        self.ticks += 1
        text, thought, count, first, last = self.buffer.drain()
        self.figures.add(count, first, last)
        if thought:
            self.thoughts.append(thought)
            if self._show_reasoning is not None:
                self._show_reasoning(thought)
        if text or self._backlog:
            text = self._backlog + text
            text, self._backlog = text[:DRAIN_CHARS], text[DRAIN_CHARS:]
            self.chunks.append(text)
            self._show_text(text)
            if not self._shown and pacer is not None:
                pacer.reset()  # the first text shows at once; pacing starts from it
            self._shown = True
        now = time.perf_counter()
        if now - self._stats_at >= (STATS_S if pacer is None else CPU_STATS_S):
            self._stats_at = now
            spark = pacer is None or now - self._spark_at >= CPU_SPARK_S
            if spark:
                self._spark_at = now
            self._show_figures(spark)

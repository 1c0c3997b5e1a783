"""Frame cost: the UI thread's CPU per repaint of a long answer streaming on the CPU.

A scripted source (tests/fakes.py) that describes itself as llama.cpp on this machine's
CPU (so the CPU pacer of widgets/live_stream.py is engaged) writes a long answer of
Markdown-like prose, paced like a model (45 tokens/s), into the real session screen
(headless App.run_test) at 80x24 and at 120x40. The headless driver skips the ANSI
encoding a terminal would get; it is done here (not written) so that a frame costs what
it costs in a terminal.

While the answer streams, the UI thread's CPU time is taken around
  - each drain tick (LiveStream.drain: wrapping the new text, the figures), and
  - each screen update that paints (Screen._on_timer_update: compositor, strips, ANSI),
and a frame is one paint with the ticks before it. It prints per size: frames a second,
answer repaints a second, CPU ms per frame (median, p90), the UI thread's share of a core
over the whole answer (the pacer's budget is CPU_UI_SHARE), and ms a second per part.
`--profile` also prints the UI thread's top functions by own time (cProfile; slower).

    python benchmarks/frame_cost.py [--tokens 1500] [--rate 45] [--sizes 80x24,120x40]
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from textual.app import App  # noqa: E402
from textual.screen import Screen  # noqa: E402

from benchmarks.tui_session import catalog_toml, open_session, until  # noqa: E402
from rbyf_tui.tui.widgets import live_stream  # noqa: E402
from rbyf_tui.tui.widgets.live_stream import LiveStream  # noqa: E402

from fakes import ScriptedBackend  # noqa: E402

VOCAB = ("the a of to and in that it is was for on with as his her they at be this from "
         "keeper light storm ship night sea wind rock lamp tower wave cold dark rope boat "
         "harbour island morning winter captain signal horizon lantern shore cliff water "
         "remembered carefully against through without suddenly another everything "
         "nothing beneath whispered listened watched climbed")


class CpuScripted(ScriptedBackend):
    name = "llama.cpp"  # described as a model decoding on this machine's CPU, no GPU


def answer_text(tokens: int) -> str:
    """Prose with paragraphs and a list now and then, as a model writes (one word a
    token)."""
    rng = random.Random(7)
    vocab = VOCAB.split()
    words = []
    for i in range(tokens):
        word = rng.choice(vocab)
        if i % 120 == 119:
            word += ":\n\n- first point\n- second point\n\n"
        elif i % 50 == 49:
            word += ".\n\n"
        elif i % 13 == 12:
            word += ","
        words.append(word)
    return " ".join(words)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Meter:
    """UI-thread CPU around drain ticks and painting screen updates, while `on`."""

    def __init__(self) -> None:
        self.on = False
        self.pending = 0.0  # tick CPU since the last paint
        self.frames: list[float] = []  # CPU of each paint plus the ticks before it
        self.paint_s = 0.0
        self.tick_s = 0.0
        self.ansi_s = 0.0
        self.ticks = 0
        self.profile: cProfile.Profile | None = None
        self.cpu0 = self.wall0 = self.cpu = self.wall = 0.0
        self.done = asyncio.Event()

    def start(self) -> None:
        self.cpu0, self.wall0 = time.thread_time(), time.perf_counter()
        self.on = True
        if self.profile is not None:
            self.profile.enable()

    def stop(self) -> None:
        """The answer has ended: what follows (the Markdown of the whole answer) is no
        frame of a streaming answer."""
        if self.on:
            if self.profile is not None:
                self.profile.disable()
            self.on = False
            self.cpu = time.thread_time() - self.cpu0
            self.wall = time.perf_counter() - self.wall0
            self.done.set()

    def patch(self) -> list[tuple[Any, str, Any]]:
        meter = self
        saved = [(LiveStream, "drain", LiveStream.drain), (LiveStream, "stop", LiveStream.stop),
                 (Screen, "_on_timer_update", Screen._on_timer_update),
                 (App, "_display", App._display)]
        drain, stop, update, display = (s[2] for s in saved)

        def stopped(self: LiveStream) -> list[float]:
            meter.stop()
            return stop(self)

        def timed_drain(self: LiveStream, force: bool = False) -> None:
            t = time.thread_time()
            drain(self, force)
            if meter.on:
                spent = time.thread_time() - t
                meter.pending += spent
                meter.tick_s += spent
                meter.ticks += 1

        def timed_update(self: Screen) -> None:
            paints = bool(self._dirty_widgets or self._layout_required
                          or self._repaint_required or self._scroll_required)
            t = time.thread_time()
            update(self)
            if meter.on and paints:
                spent = time.thread_time() - t
                meter.paint_s += spent
                meter.frames.append(spent + meter.pending)
                meter.pending = 0.0

        def encoding_display(self: App, screen: Screen, renderable: Any) -> None:
            display(self, screen, renderable)
            if renderable is not None and hasattr(renderable, "render_segments"):
                t = time.thread_time()
                renderable.render_segments(self.console)  # what a terminal would get
                meter.ansi_s += time.thread_time() - t

        LiveStream.drain = timed_drain  # type: ignore[method-assign]
        LiveStream.stop = stopped  # type: ignore[method-assign]
        Screen._on_timer_update = timed_update  # type: ignore[method-assign]
        App._display = encoding_display  # type: ignore[method-assign]
        return saved


async def one_size(size: tuple[int, int], tokens: int, rate: float, work: Path,
                   profile: cProfile.Profile | None) -> dict[str, Any]:
    backend = CpuScripted([answer_text(tokens)], rate=rate)
    meter = Meter()
    meter.profile = profile
    saved = meter.patch()
    try:
        async with open_session(work, catalog_toml(1, tokens), size=size,
                                factory=lambda options, n_ctx, seed: backend) as (
                                    _, pilot, screen):
            # measured from the 2nd second: the screen's start (focus, footer) is no frame
            # of a streaming answer
            await until(pilot, lambda: screen.live is not None
                        and screen.live.buffer.count >= min(2 * rate, tokens // 4), step=0.01)
            live = screen.live
            assert live is not None and live.pacer is not None, "the CPU pacer is not engaged"
            repaints0 = screen.stream_repaints
            meter.start()
            # no polling: every wake-up of this loop is UI-thread CPU too
            await asyncio.wait_for(meter.done.wait(), timeout=tokens / rate * 4 + 60)
            cpu, wall = meter.cpu, meter.wall
            repaints = screen.stream_repaints - repaints0
            shown = live.text
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)
    if not shown.startswith(answer_text(tokens)[:20]):
        raise RuntimeError("the answer did not reach the screen")
    frames_ms = [f * 1000 for f in meter.frames]
    if not frames_ms:
        raise RuntimeError(f"no frame was painted in the {wall:.2f} s measured: give the "
                           "answer more time (--tokens, --rate)")
    return {"size": f"{size[0]}x{size[1]}", "seconds": wall, "frames": len(frames_ms),
            "frames_per_s": len(frames_ms) / wall, "repaints_per_s": repaints / wall,
            "frame_ms_median": statistics.median(frames_ms),
            "frame_ms_p90": percentile(frames_ms, 0.9),
            "ui_share_pct": cpu / wall * 100,
            "paint_ms_per_s": meter.paint_s / wall * 1000,
            "tick_ms_per_s": meter.tick_s / wall * 1000,
            "ansi_ms_per_s": meter.ansi_s / wall * 1000,
            "other_ms_per_s": (cpu - meter.paint_s - meter.tick_s) / wall * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokens", type=int, default=1500)
    parser.add_argument("--rate", type=float, default=45.0, help="tokens a second")
    parser.add_argument("--sizes", default="80x24,120x40")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--hz", type=float, help="CPU_DRAIN_HZ to try instead of the app's")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    sizes = [tuple(int(n) for n in s.split("x")) for s in args.sizes.split(",")]
    if args.hz:
        live_stream.CPU_DRAIN_HZ = args.hz  # type: ignore[assignment]
    print(f"CPU_DRAIN_HZ {live_stream.CPU_DRAIN_HZ}, CPU_UI_SHARE {live_stream.CPU_UI_SHARE}, "
          f"{args.tokens} tokens at {args.rate:g}/s", flush=True)
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for size in sizes:
                profile = cProfile.Profile() if args.profile else None
                r = asyncio.run(one_size(size, args.tokens, args.rate, Path(tmp), profile))  # type: ignore[arg-type]
                results.append(r)

                def show(k: str, r: dict[str, Any] = r) -> str:
                    return f"{r[k]:.1f}"

                print(f"{r['size']:>6}: {r['frames_per_s']:.2f} frames/s "
                      f"({r['repaints_per_s']:.2f} answer repaints/s), CPU a frame median "
                      f"{r['frame_ms_median']:.2f} ms p90 {r['frame_ms_p90']:.2f} ms, UI "
                      f"thread {r['ui_share_pct']:.2f}% of a core (paint {show('paint_ms_per_s')}"
                      f" (ANSI {show('ansi_ms_per_s')}) + ticks {show('tick_ms_per_s')} + "
                      f"other {show('other_ms_per_s')} ms/s) over {r['seconds']:.1f} s",
                      flush=True)
                if profile is not None:
                    pstats.Stats(profile).sort_stats("tottime").print_stats(args.top)
                    pstats.Stats(profile).sort_stats("cumulative").print_stats(args.top)
    print(json.dumps([{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()}
                      for r in results]))


if __name__ == "__main__":
    main()

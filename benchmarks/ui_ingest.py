"""UI ingest ceiling: can the session screen keep up with a source far faster than a model?

A scripted source (tests/fakes.py) pushes words through the real runner into the real
session screen (headless App.run_test), in two arms alternated round by round:
  paced:    10,000 tokens/s on a schedule (twice the target); the screen must show them
            all as they come;
  flat out: as fast as the source can go (over a million words/s alone; a Python loop
           that holds the GIL far more than a model, which decodes in C without it).
For a window of a few seconds each arm measures how many tokens reached the screen, how
many times the answer was repainted, and, while score keys are pressed every 50 ms, the
time from each press to its effect. Medians and spread over the rounds, against:
  tokens/s on screen >= 5,000, answer repaints/s <= ~30, key to effect p95 < 50 ms.

    python benchmarks/ui_ingest.py [--rounds 3] [--seconds 4] [--rate 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from textual import events  # noqa: E402

from benchmarks.tui_session import catalog_toml, open_session, until  # noqa: E402
from rbyf_tui.backends.base import ChatRequest  # noqa: E402
from rbyf_tui.catalog import parse  # noqa: E402
from rbyf_tui.tui.widgets.rating import RatingForm  # noqa: E402

from fakes import ScriptedBackend  # noqa: E402

WORDS = 1_048_576  # max_tokens (the most a catalog takes): no window streams that many


def answer_text(words: int = 6000) -> str:
    # paragraphs of 60 words, as an answer would have; the source repeats it
    return " ".join(("word\n\n" if i % 60 == 59 else "word") for i in range(words))


def source_alone(text: str, seconds: float) -> float:
    """The scripted source's own rate, no runner, no screen: words per second."""
    catalog = parse(catalog_toml(1, WORDS), "bench.toml")
    request = ChatRequest.for_task(catalog.tasks[0])
    backend = ScriptedBackend([text], endless=True)
    cancel = threading.Event()
    count = 0
    start = time.perf_counter()
    for item in backend.stream(request, cancel):
        if isinstance(item, str):
            count += 1
            if count % 4096 == 0 and time.perf_counter() - start >= seconds:
                cancel.set()
    return count / (time.perf_counter() - start)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def one_round(text: str, seconds: float, work: Path,
                    rate: float | None) -> dict[str, float]:
    backend = ScriptedBackend([text], rate=rate, endless=True)
    async with open_session(work, catalog_toml(1, WORDS),
                            factory=lambda options, n_ctx, seed: backend) as (app, pilot, screen):
        await until(pilot, lambda: screen.live is not None and screen.live.buffer.count > 0)
        form = screen.query_one(RatingForm)
        per_token = (len(text) + 1) / len(text.split(" "))  # characters a token

        live = screen.live

        def shown() -> float:  # tokens whose text is on the screen
            return sum(len(chunk) for chunk in live.chunks) / per_token

        t0, shown0, paints0 = time.perf_counter(), shown(), screen.stream_repaints
        latencies: list[float] = []
        score = 0
        while time.perf_counter() - t0 < seconds:
            score = score % 5 + 1
            # a key event as the terminal driver posts it (Pilot.press would also wait for
            # the app to go idle, which a 30 Hz screen never quite does)
            pressed = time.perf_counter()
            app.post_message(events.Key(str(score), str(score)))
            while form.score != score:
                if time.perf_counter() - pressed > 30:
                    raise TimeoutError("a key press had no effect in 30 s")
                await asyncio.sleep(0.0005)
            latencies.append(time.perf_counter() - pressed)
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - t0
        on_screen = shown() - shown0
        waiting = live.buffer.count - shown()
        paints = screen.stream_repaints - paints0
        await pilot.press("escape")  # stop; the partial answer is stored as cancelled
        await until(pilot, lambda: screen.gen_key is None, timeout=120)
    return {"tokens_per_s": on_screen / elapsed, "repaints_per_s": paints / elapsed,
            "key_p50_ms": percentile(latencies, 0.5) * 1000,
            "key_p95_ms": percentile(latencies, 0.95) * 1000, "keys": len(latencies),
            "waiting": waiting}


ARMS = {"paced": "paced at {rate:,.0f} tok/s", "flat": "flat out"}
CHECKS = [("tokens/s on screen", "tokens_per_s", 5000.0, ">="),
          ("answer repaints/s", "repaints_per_s", 30.0, "<="),
          ("key to effect p95 ms", "key_p95_ms", 50.0, "<")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--rate", type=float, default=10000.0)
    args = parser.parse_args()
    text = answer_text()
    runs: dict[str, list[dict[str, float]]] = {"paced": [], "flat": []}
    alone: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(1, args.rounds + 1):
            alone.append(source_alone(text, min(args.seconds, 1.0)))
            for arm, rate in (("paced", args.rate), ("flat", None)):
                r = asyncio.run(one_round(text, args.seconds, Path(tmp), rate))
                runs[arm].append(r)
                print(f"round {n} {arm:<6}: {r['tokens_per_s']:>9,.0f} tok/s on screen "
                      f"({r['waiting']:.0f} tokens waiting at the end), "
                      f"{r['repaints_per_s']:.1f} repaints/s, key p50 {r['key_p50_ms']:.1f} "
                      f"ms p95 {r['key_p95_ms']:.1f} ms ({r['keys']:.0f} keys)", flush=True)
    report: dict[str, object] = {"rounds": args.rounds, "seconds": args.seconds,
                                 "rate": args.rate,
                                 "source_alone_tokens_per_s": round(statistics.median(alone))}
    print(f"source alone, no screen: median {statistics.median(alone):,.0f} tok/s")
    for arm, rounds in runs.items():
        print(ARMS[arm].format(rate=args.rate) + ":")
        for label, key, target, rule in CHECKS:
            values = [r[key] for r in rounds]
            value, spread = statistics.median(values), max(values) - min(values)
            ok = {">=": value >= target, "<=": value <= target, "<": value < target}[rule]
            print(f"  {label:<22} median {value:>10,.1f}  spread {spread:,.1f}  target "
                  f"{rule} {target:,.0f}  ratio {value / target:.2f}  "
                  f"{'ok' if ok else 'MISSED'}")
            report[f"{arm}_{key}"] = {"median": round(value, 2), "spread": round(spread, 2),
                                      "target": target, "ratio": round(value / target, 3)}
    print(json.dumps(report))


if __name__ == "__main__":
    main()

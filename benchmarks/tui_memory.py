"""Memory: resident memory across a long session in the app (target: < 50 MB growth).

The real session screen (headless App.run_test) and the real runner and store rate a
catalog of 100 tasks whose answers are 1,500 tokens each, streamed by a scripted source
(tests/fakes.py): each answer streams, ends, is rendered as Markdown, is rated with the
keys `3` and `enter`, and the next one starts, as a person would go. Resident memory is
read from /proc after the first task (the app, the DB and Markdown warmed up) and every
10 tasks; the growth from the first task to the last is the figure.

    python benchmarks/tui_memory.py [--tasks 100] [--tokens 1500]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))

from benchmarks.tui_session import catalog_toml, open_session, until  # noqa: E402

from fakes import ScriptedBackend  # noqa: E402

TARGET_MB = 50.0


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def answer_text(tokens: int) -> str:
    """Markdown-ish prose: paragraphs, a list now and then, as models write."""
    words = []
    for i in range(tokens):
        word = f"word{i % 97}"
        if i % 80 == 79:
            word += "\n\n- item\n- item\n\n"
        elif i % 40 == 39:
            word += ".\n\n"
        words.append(word)
    return " ".join(words)


async def session(tasks: int, tokens: int, work: Path) -> list[tuple[int, float]]:
    backend = ScriptedBackend([answer_text(tokens)])
    samples: list[tuple[int, float]] = []
    async with open_session(work, catalog_toml(tasks, tokens),
                            factory=lambda options, n_ctx, seed: backend) as (_, pilot, screen):
        for done in range(1, tasks + 1):
            key = f"t{done - 1:03d}"
            await until(pilot, lambda k=key: getattr(screen.states.get(k), "status", None) == "ok"
                        and screen.gen_key is None, timeout=300)
            await pilot.press("3")
            await pilot.press("enter")
            await until(pilot, lambda k=key: getattr(screen.states.get(k), "score", None) == 3,
                        timeout=60)
            if done == 1 or done % 10 == 0:
                gc.collect()
                samples.append((done, rss_mb()))
                print(f"after {done:>3} tasks: {samples[-1][1]:.1f} MB", flush=True)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--tokens", type=int, default=1500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        samples = asyncio.run(session(args.tasks, args.tokens, Path(tmp)))
    first, last = samples[0][1], samples[-1][1]
    growth = last - first
    print(f"resident memory after task 1: {first:.1f} MB, after task {samples[-1][0]}: "
          f"{last:.1f} MB; growth {growth:.1f} MB, target < {TARGET_MB:.0f} MB, ratio "
          f"{growth / TARGET_MB:.2f}  {'ok' if growth < TARGET_MB else 'MISSED'}")
    print(json.dumps({"tasks": args.tasks, "tokens": args.tokens, "first_mb": round(first, 1),
                      "last_mb": round(last, 1), "growth_mb": round(growth, 1),
                      "target_mb": TARGET_MB, "samples": samples}))


if __name__ == "__main__":
    main()

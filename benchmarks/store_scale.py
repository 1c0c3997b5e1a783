"""Store scale: the leaderboard and a rating write on DBs of 10k, 100k and 1M generations.

Builds one DB per size with leaderboard_scale.build (100 tasks x 10 sessions per model, so
10k generations = 10 models, 1M = 1,000 models; every answer 90% rated), then times, side
by side with the repetitions alternated across sizes and measurements:

- the leaderboard as the app computes it, bootstrap and ranks included
  (`ranking.leaderboard(store, catalog)`), against 200 ms;
- writing one rating through the public path (`Store.rate(generation_id, score, remarks,
  rater)`), against 20 ms;

each through a Store holding the file open between operations (`keep_open=True`, as the
app runs), and through one opening the file per operation (the default, as the one-shot
commands `rbyf rate` and `rbyf leaderboard` run). With --other-process, also `rbyf
leaderboard` run in another process, with the file free and while this process holds it
(the cost of asking the holder to let go). Prints every median with its spread (min-max)
and ratio to target, and the median CPU time of this process (DuckDB's threads included;
another process's work not), which shows how much of a wall time is waiting for a core.

    python benchmarks/store_scale.py                              # 10k, 100k, 1M
    python benchmarks/store_scale.py --sizes 300 --tasks 4 --sessions 2 --repeat 2
    python benchmarks/store_scale.py --code /tmp/rbyf-before      # an older checkout's rbyf

--code measures another checkout's rbyf_tui (e.g. `git archive <commit> | tar -x -C DIR`)
with this script and builder, for before/after figures; a Store without keep_open gets
only the opened-per-call measurements.
"""

from __future__ import annotations

import argparse
import inspect
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
# The checkout whose rbyf_tui is measured: --code DIR, else this one.
sys.path.insert(0, str(Path(sys.argv[sys.argv.index("--code") + 1]).resolve())
                if "--code" in sys.argv[:-1] else str(Path(__file__).resolve().parent.parent))

import duckdb

from rbyf_tui import ranking
from rbyf_tui.store import Store

LEADERBOARD_TARGET_MS = 200.0
RATE_TARGET_MS = 20.0
CAN_HOLD = "keep_open" in inspect.signature(Store).parameters  # not before issue 7


def size_label(n: int) -> str:
    for unit, div in (("M", 1_000_000), ("k", 1_000)):
        if n >= div and n % div == 0:
            return f"{n // div}{unit}"
    return str(n)


def parse_size(text: str) -> int:
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * factor)


class Case:
    """One DB: its stores and the answers left to rate."""

    def __init__(self, path: Path, generations: int, models: int, sessions: int) -> None:
        self.path = path
        self.generations = generations
        self.models = models
        con = duckdb.connect(str(path))
        # The answers rated are those of open sessions (a tenth of them, reopened here),
        # a session's answers one after another in random order, as a person rates them in
        # the app: each rating checks whether its session is now complete (the costlier
        # case; a complete session stays so unchecked).
        con.execute("UPDATE sessions SET status = 'open', finished_at = NULL WHERE id IN "
                    "(SELECT id FROM sessions ORDER BY hash(id) LIMIT ?)",
                    [max(1, models * sessions // 10)])
        rows = con.execute(
            "SELECT g.id, s.status = 'open', g.session_id FROM generations g "
            "JOIN sessions s ON s.id = g.session_id "
            "WHERE g.status = 'ok' AND NOT g.is_warmup ORDER BY hash(g.id)").fetchall()
        self.ratings = con.execute("SELECT count(*) FROM ratings").fetchone()[0]
        con.close()
        rng = random.Random(7)
        self.answers = [gen_id for gen_id, is_open, _ in rows if not is_open]
        rng.shuffle(self.answers)
        by_session: dict[str, list[str]] = {}
        for gen_id, is_open, session_id in rows:
            if is_open:
                by_session.setdefault(session_id, []).append(gen_id)
        for session_id in sorted(by_session):  # the answers are popped from the end
            self.answers += by_session[session_id]
        self.held = Store(path, keep_open=True) if CAN_HOLD else None
        # While this process holds a file, DuckDB shares the open file with every other
        # connection to it here: "opened per call" works on a copy, so that it opens the
        # file afresh while the held one stays open and warm, as in the app.
        self.copy = path.with_name(path.stem + "-copy.duckdb")
        shutil.copyfile(path, self.copy)
        self.short = Store(self.copy)

    def next_answer(self) -> str:
        return self.answers.pop()


def other_process(path: Path, folder: Path) -> Callable[[], Any]:
    """`rbyf leaderboard` of this checkout in a new process (start-up included)."""
    env = dict(os.environ, RBYF_HOME=str(folder / "home"),
               PYTHONPATH=str(Path(ranking.__file__).parent.parent))
    env.pop("RBYF_DB", None)
    command = [sys.executable, "-m", "rbyf_tui", "leaderboard", "--db", str(path),
               "--format", "json"]
    return lambda: subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10k,100k,1M",
                        help="generations per DB, comma-separated (default 10k,100k,1M)")
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--sessions", type=int, default=10, help="sessions per model")
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per measurement")
    parser.add_argument("--dir", type=Path, help="keep the DBs here (default: a temp dir)")
    parser.add_argument("--code", type=Path, help="measure this checkout's rbyf_tui")
    parser.add_argument("--other-process", action="store_true",
                        help="also time `rbyf leaderboard` in another process, with the "
                             "file free and while this process holds it (it asks, the "
                             "holder lets go)")
    args = parser.parse_args(argv)
    sizes = [parse_size(s) for s in args.sizes.split(",") if s.strip()]
    # Imported here: it puts this checkout first on sys.path, rbyf_tui is imported already.
    from leaderboard_scale import build

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        cases: dict[str, Case] = {}
        per_model = args.sessions * (args.tasks + 1)
        for size in sizes:
            models = max(1, round(size / per_model))
            path = folder / f"store-{size_label(size)}.duckdb"
            path.unlink(missing_ok=True)
            path.with_name(path.stem + "-copy.duckdb").unlink(missing_ok=True)
            build_s = build(path, models, args.tasks, args.sessions)
            case = Case(path, models * per_model, models, args.sessions)
            cases[size_label(size)] = case
            print(f"DB {size_label(size)}: {models} models x {args.tasks} tasks x "
                  f"{args.sessions} sessions = {case.generations:,} generations, "
                  f"{case.ratings:,} ratings; built in {build_s:.1f} s; "
                  f"{path.stat().st_size / 1e6:.0f} MB")
        print(f"rbyf_tui from {Path(ranking.__file__).parent.parent}"
              + ("" if CAN_HOLD else " (no keep_open: opened-per-call only)"))
        print(f"machine: {os.cpu_count()} cores, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; duckdb {duckdb.__version__}")

        measures: list[tuple[str, str, float, Callable[[], Any]]] = []
        for label, case in cases.items():
            def board(store: Store) -> Callable[[], Any]:
                return lambda: ranking.leaderboard(store, "bench")

            def rate(store: Store, case: Case = case) -> Callable[[], Any]:
                return lambda: store.rate(case.next_answer(), 4, "benchmark remark", "bench")

            def take(case: Case = case) -> None:
                # Warm the held file again (untimed) after another process made it let go.
                if case.held is not None:
                    ranking.leaderboard(case.held, "bench")
                    case.held.rate(case.next_answer(), 4, "warm-up", "bench")

            measures += [
                (label, "leaderboard, opened per call", LEADERBOARD_TARGET_MS,
                 board(case.short)),
                (label, "Store.rate, opened per call", RATE_TARGET_MS, rate(case.short)),
            ]
            if case.held is not None:
                measures += [
                    (label, "leaderboard, file held (app)", LEADERBOARD_TARGET_MS,
                     board(case.held)),
                    (label, "Store.rate, file held (app)", RATE_TARGET_MS, rate(case.held)),
                ]
            if args.other_process:
                measures.append((label, "rbyf leaderboard, other process", 0.0,
                                 other_process(case.copy, folder)))
                if case.held is not None:
                    measures += [(label, "  same, while this one holds", 0.0,
                                  other_process(case.path, folder)), (label, "", 0.0, take)]
        # One warm-up run of each (the schema check, DuckDB's first reads), then the timed
        # runs, every measurement once per round so that load changes hit them all alike.
        for _, _, _, fn in measures:
            fn()
        times: dict[tuple[str, str], list[float]] = {(m[0], m[1]): [] for m in measures}
        cpu: dict[tuple[str, str], list[float]] = {(m[0], m[1]): [] for m in measures}
        for _ in range(args.repeat):
            for label, name, _, fn in measures:
                started, cpu_started = time.perf_counter(), time.process_time()
                fn()
                times[(label, name)].append((time.perf_counter() - started) * 1000)
                cpu[(label, name)].append((time.process_time() - cpu_started) * 1000)
        for case in cases.values():
            if case.held is not None:
                case.held.close()
        measures = [m for m in measures if m[1]]

        print(f"median of {args.repeat} runs each (alternated), after one warm-up run:\n")
        print(f"{'DB':>5} {'measurement':30} {'median ms':>10} {'min-max ms':>15} "
              f"{'vs target':>14} {'CPU ms':>7}")
        verdicts = []
        for label, name, target, _ in measures:
            got = times[(label, name)]
            median = statistics.median(got)
            ratio = f"{median / target:6.2f}x {target:3.0f} ms" if target else "no target"
            print(f"{label:>5} {name:30} {median:10.1f} {min(got):7.1f}-{max(got):<7.1f} "
                  f"{ratio:>14} {statistics.median(cpu[(label, name)]):7.1f}")
            if target and ("held" in name or not CAN_HOLD):
                verdicts.append((label, name, median, target))
        biggest = list(cases)[-1]
        print()
        for label, name, median, target in verdicts:
            if label == biggest:
                verdict = "meets" if median < target else "MISSES"
                print(f"{label}: {name.split(',')[0]} {verdict} its target: {median:.1f} ms = "
                      f"{median / target:.2f} x {target:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

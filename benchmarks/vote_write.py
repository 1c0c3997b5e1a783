"""Vote write: one pairwise vote written with a million votes stored, against 20 ms.

Builds a DB with leaderboard_scale.build (100 models x 100 tasks, one session each: ~10k
answers, the scores as a person's), adds 1,000,000 votes between answers of two models to
the same task with DuckDB SQL, then times `Store.record_vote(left, right, verdict,
remarks, rater)`, the public path with all its checks, on pairs drawn at random:

- through a Store holding the file open between operations (keep_open=True, as the app's
  battle screen runs);
- through one opening the file per call (the default, as `rbyf vote` runs; on a copy of
  the file, so that it opens afresh while the held one stays warm).

Prints the median, p95 and min-max of each, and the ratio of the median to the target.

    python benchmarks/vote_write.py                   # 1,000,000 votes, 200 writes each
    python benchmarks/vote_write.py --votes 10000 --models 5 --tasks 4 --repeat 5
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb

from rbyf_tui.store import Store

TARGET_MS = 20.0

# Votes between the answers of two different models to one task: answer k of a task faces
# answer (k + 1 + n % (answers - 1)) % answers, so pairs spread over every model.
VOTES = """
    INSERT INTO votes (id, catalog_name, task_key, left_generation_id, right_generation_id,
                       left_model_id, right_model_id, verdict, remarks, rater, created_at)
    WITH answers AS (
        SELECT g.id, g.task_key, s.model_id,
               row_number() OVER (PARTITION BY g.task_key ORDER BY s.model_id) - 1 AS k,
               count(*) OVER (PARTITION BY g.task_key) AS n_answers
        FROM generations g JOIN sessions s ON s.id = g.session_id
        WHERE g.status = 'ok' AND NOT g.is_warmup
    ), pairs AS (
        SELECT a.task_key, a.id AS left_id, a.model_id AS left_model, v.n,
               (a.k + 1 + v.n % (a.n_answers - 1)) % a.n_answers AS other
        FROM answers a, range(?) v(n)
        WHERE a.n_answers > 1
    )
    SELECT md5('v' || p.left_id || ':' || p.n), 'bench', p.task_key, p.left_id, b.id,
           p.left_model, b.model_id, ['left', 'right', 'tie', 'both_bad'][1 + p.n % 4],
           NULL, 'rater' || (p.n % 5), TIMESTAMP '2025-06-01' + to_seconds(p.n)
    FROM pairs p JOIN answers b ON b.task_key = p.task_key AND b.k = p.other
    LIMIT ?
"""


def fill_votes(path: Path, votes: int) -> int:
    con = duckdb.connect(str(path))
    try:
        row = con.execute("SELECT count(*) FROM generations WHERE status = 'ok' "
                          "AND NOT is_warmup").fetchone()
        answers = row[0] if row else 0
        per_answer = -(-votes // max(1, answers))  # ceil: enough rows before the LIMIT
        con.execute(VOTES, [per_answer, votes])
        con.execute("CHECKPOINT")
        row = con.execute("SELECT count(*) FROM votes").fetchone()
        return row[0] if row else 0
    finally:
        con.close()


def pairs_to_vote(path: Path, count: int) -> list[tuple[str, str]]:
    """Random pairs of two models' answers to the same task."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = con.execute(
            "SELECT g.task_key, g.id, s.model_id FROM generations g "
            "JOIN sessions s ON s.id = g.session_id "
            "WHERE g.status = 'ok' AND NOT g.is_warmup ORDER BY g.id").fetchall()
    finally:
        con.close()
    by_task: dict[str, list[tuple[str, str]]] = {}
    for task, gen_id, model in rows:
        by_task.setdefault(task, []).append((gen_id, model))
    rng = random.Random(3)
    tasks = sorted(k for k, v in by_task.items() if len({m for _, m in v}) > 1)
    out = []
    while len(out) < count:
        (a, ma), (b, mb) = rng.sample(by_task[rng.choice(tasks)], 2)
        if ma != mb:
            out.append((a, b))
    return out


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--votes", type=int, default=1_000_000, help="votes stored first")
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=200, help="timed writes per path")
    parser.add_argument("--dir", type=Path, help="keep the DBs here (default: a temp dir)")
    args = parser.parse_args(argv)
    from leaderboard_scale import build

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.dir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "votes.duckdb"
        path.unlink(missing_ok=True)
        build_s = build(path, args.models, args.tasks, 1)
        started = time.perf_counter()
        stored = fill_votes(path, args.votes)
        fill_s = time.perf_counter() - started
        copy = folder / "votes-copy.duckdb"
        shutil.copyfile(path, copy)
        print(f"DB: {args.models} models x {args.tasks} tasks, built in {build_s:.1f} s; "
              f"{stored:,} votes added in {fill_s:.1f} s; {path.stat().st_size / 1e6:.0f} MB")
        print(f"machine: {os.cpu_count()} cores, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; duckdb {duckdb.__version__}")
        held, short = Store(path, keep_open=True), Store(copy)
        pairs = pairs_to_vote(path, 2 * (args.repeat + 1))
        verdicts = ("left", "right", "tie", "both_bad")

        def write(store: Store) -> Callable[[int], str]:
            return lambda n: store.record_vote(*pairs.pop(), verdicts[n % 4],
                                               "benchmark remark", "bench")

        measures = [("Store.record_vote, file held (app)", write(held)),
                    ("Store.record_vote, opened per call", write(short))]
        for _, fn in measures:  # one warm-up write each (schema check, first reads)
            fn(0)
        times: dict[str, list[float]] = {name: [] for name, _ in measures}
        for n in range(args.repeat):  # alternated, so that load changes hit both alike
            for name, fn in measures:
                started = time.perf_counter()
                fn(n)
                times[name].append((time.perf_counter() - started) * 1000)
        held.close()
        print(f"{args.repeat} writes each (alternated), after one warm-up write:\n")
        print(f"{'measurement':36} {'median ms':>10} {'p95 ms':>8} {'min-max ms':>15} "
              f"{'vs target':>14}")
        for name, got in times.items():
            median = statistics.median(got)
            print(f"{name:36} {median:10.1f} {p95(got):8.1f} "
                  f"{min(got):7.1f}-{max(got):<7.1f} {median / TARGET_MS:6.2f}x "
                  f"{TARGET_MS:3.0f} ms")
        median = statistics.median(times[measures[0][0]])
        verdict = "meets" if median < TARGET_MS else "MISSES"
        print(f"\n{stored:,} votes: a vote written (file held) {verdict} its target: "
              f"{median:.1f} ms = {median / TARGET_MS:.2f} x {TARGET_MS:.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Leaderboard at scale: 1,000 models x 100 tasks, about a million generations and ratings.

Builds such a DB with DuckDB SQL (seconds, no Python loops), then times side by side on it:
DuckDB's connect, the leaderboard query, the bootstrap and ranks, the whole leaderboard as
the app computes it (one connection), the previous leaderboard query (ratings joined with
generations, window per model and task) for comparison, and the matrix. Prints each median
and its ratio to the 200 ms target.

    python benchmarks/leaderboard_scale.py                      # 1000 x 100 x 10 sessions
    python benchmarks/leaderboard_scale.py --models 5 --tasks 3 --sessions 2 --repeat 1
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb

from rbyf_tui import ranking, score_matrix
from rbyf_tui.store import Store, reads, writes

TARGET_MS = 200.0

# The leaderboard query before ratings carried their task (main at issue 2), for comparison.
PREVIOUS_QUERY = """
    WITH counted AS (
        SELECT * FROM (
            SELECT s.model_id, s.catalog_name, g.task_key, r.score,
                   row_number() OVER (PARTITION BY s.model_id, s.catalog_name, g.task_key
                                      ORDER BY r.created_at DESC, r.id DESC) AS rn
            FROM ratings r JOIN generations g ON g.id = r.generation_id
            JOIN sessions s ON s.id = g.session_id
            WHERE NOT g.is_warmup
        ) WHERE rn = 1
    ), scores AS (
        SELECT model_id, catalog_name, count(*) AS n_rated, sum(score) AS total,
               avg(score) AS mean, list(score ORDER BY task_key) AS scores
        FROM counted GROUP BY model_id, catalog_name
    ), speeds AS (
        SELECT s.model_id, s.catalog_name, median(g.ttft_s) AS median_ttft_s,
               median(g.prompt_tps) AS median_prompt_tps,
               median(g.decode_tps) AS median_decode_tps
        FROM generations g JOIN sessions s ON s.id = g.session_id
        WHERE NOT g.is_warmup AND g.status = 'ok'
        GROUP BY s.model_id, s.catalog_name
    )
    SELECT sc.*, sp.median_ttft_s, sp.median_prompt_tps, sp.median_decode_tps
    FROM scores sc LEFT JOIN speeds sp USING (model_id, catalog_name)
"""


def catalog_toml(tasks: int) -> str:
    rubric = "\n".join(f'{n} = "score {n}"' for n in range(6))
    body = "\n".join(f'[[tasks]]\nkey = "task-number-{n:03d}"\ntitle = "Task {n}"\n'
                     f'prompt = "Prompt {n}."\n' for n in range(1, tasks + 1))
    return (f'name = "bench"\nversion = "1"\n\n[rubric]\n{rubric}\n\n[warmup]\nkey = "warmup"\n'
            f'prompt = "Say hi."\n\n{body}')


def build(path: Path, models: int, tasks: int, sessions: int) -> float:
    """Fill a fresh rbyf DB: every model has `sessions` sessions answering every task (plus
    the warm-up); 1% of answers failed; 90% of the rest rated, a tenth of those re-rated.
    Pseudo-random figures come from hash(), so the same sizes give the same DB. Ids look
    random, as real ones do (sequential session ids would let DuckDB's zone maps find a
    session's rows without its index)."""
    from rbyf_tui import catalog as catalogs

    Store(path).sessions()  # the schema, through rbyf's own migrations
    cat = catalogs.parse(catalog_toml(tasks), "bench.toml")
    started = time.perf_counter()
    con = duckdb.connect(str(path))
    n_sessions = models * sessions
    con.execute(
        "INSERT INTO catalogs VALUES (?, 'bench', '1', 'bench.toml', ?, TIMESTAMP '2025-01-01')",
        [cat.content_hash, cat.text])
    con.execute(f"""
        INSERT INTO models (id, name, backend, first_seen, last_used)
        SELECT 'sha256:' || sha256(m::VARCHAR), printf('model-%04d', m), 'bench',
               TIMESTAMP '2025-01-01', TIMESTAMP '2025-01-01' FROM range({models}) r(m);
        INSERT INTO sessions (id, model_id, catalog_id, catalog_name, n_tasks, backend, rater,
                              status, origin, created_at, updated_at)
        SELECT left(md5('s' || k), 8), 'sha256:' || sha256((k // {sessions})::VARCHAR),
               '{cat.content_hash}', 'bench',
               {tasks}, 'bench', 'rater' || (k % 3), 'complete', 'run',
               TIMESTAMP '2025-01-01' + to_minutes(10 * k),
               TIMESTAMP '2025-01-01' + to_minutes(10 * k)
        FROM range({n_sessions}) r(k);
        INSERT INTO generations (id, session_id, task_key, task_title, is_warmup, attempt,
            prompt, response, status, ttft_s, total_s, prompt_tokens, completion_tokens,
            prompt_tps, decode_tps, e2e_tps, checks_passed, checks_total, started_at,
            finished_at, updated_at)
        SELECT md5(k || ':' || t), left(md5('s' || k), 8),
               CASE WHEN t = 0 THEN 'warmup' ELSE printf('task-number-%03d', t) END, 'Task ' || t,
               t = 0,
               1, 'Prompt.', 'An answer.', CASE WHEN h % 100 = 0 THEN 'error' ELSE 'ok' END,
               ttft, ttft + (ct - 1) / tps, pt, ct, pt / ttft, tps, ct / (ttft + (ct - 1) / tps),
               -- automatic checks on two tasks in three, as a catalog with checks would have
               CASE WHEN t % 3 > 0 THEN hash(k, t, 4) % (t % 3 + 1) END,
               CASE WHEN t % 3 > 0 THEN t % 3 END,
               t0, t0 + to_seconds((ttft + (ct - 1) / tps)::BIGINT), t0
        FROM (
            SELECT k, t, hash(k, t) AS h, 0.2 + hash(k, t, 1) % 1000 / 500.0 AS ttft,
                   20 + hash(t) % 400 AS pt, 50 + hash(k, t, 2) % 500 AS ct,
                   10.0 + (k // {sessions}) % 80 + hash(k, t, 3) % 10 AS tps,
                   TIMESTAMP '2025-01-01' + to_minutes(10 * k) + to_seconds(t) AS t0
            FROM range({n_sessions}) a(k), range({tasks + 1}) b(t)
        );
        INSERT INTO ratings (id, generation_id, score, remarks, rater, created_at)
        SELECT md5(g.id || ':' || n), g.id,
               least(5, greatest(0, round((hash(s.model_id) % 1000) / 200.0
                                          + (hash(g.id, n) % 1000 / 1000.0 - 0.5) * 3)))::INTEGER,
               '', s.rater, g.finished_at + to_minutes(1 + n)
        FROM generations g JOIN sessions s ON s.id = g.session_id, range(2) r(n)
        WHERE g.status = 'ok' AND ((n = 0 AND hash(g.id) % 10 <> 0)
                                   OR (n = 1 AND hash(g.id) % 10 = 1));
    """)
    # Rows went in around the Store: count them as Store.rate would have, one by one.
    writes.rebuild_counted(con)
    con.execute("CHECKPOINT")
    con.close()
    return time.perf_counter() - started


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median milliseconds of `repeat` runs, after one warm-up run; and the last result."""
    result = fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--sessions", type=int, default=10, help="sessions per model")
    parser.add_argument("--repeat", type=int, default=7, help="timed runs per measurement")
    parser.add_argument("--db", type=Path, help="keep the DB here (default: a temp dir)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        path = args.db or Path(tmp) / "scale.duckdb"
        path.unlink(missing_ok=True)
        build_s = build(path, args.models, args.tasks, args.sessions)
        con = duckdb.connect(str(path), read_only=True)
        counts = con.execute("SELECT (SELECT count(*) FROM generations), "
                             "(SELECT count(*) FROM ratings)").fetchone()
        print(f"DB: {args.models} models x {args.tasks} tasks x {args.sessions} sessions = "
              f"{counts[0]:,} generations, {counts[1]:,} ratings; built in {build_s:.1f} s; "
              f"{path.stat().st_size / 1e6:.0f} MB")
        print(f"machine: {os.cpu_count()} cores, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; duckdb {duckdb.__version__}, "
              f"{con.execute('SELECT current_setting(?)', ['threads']).fetchone()[0]} threads")
        print(f"median of {args.repeat} runs each, after one warm-up run:\n")

        results: list[tuple[str, float]] = []
        con.close()

        def connect_close() -> None:
            duckdb.connect(str(path), read_only=True).close()

        # Nothing else open: DuckDB opens the file afresh, as each rbyf operation does.
        results.append(("connect + close (read-only)", timed(connect_close, args.repeat)[0]))
        store = Store(path, read_only=True)
        store.sessions()  # schema checked once per process, as in the app
        ms, standings = timed(lambda: ranking.leaderboard(store), args.repeat)
        results.append(("ranking.leaderboard(store): all of it", ms))

        def first_call() -> Any:
            return ranking.leaderboard(Store(path, read_only=True))

        results.append(("  same, new Store (+ schema check)", timed(first_call, args.repeat)[0]))
        results.append(("matrix of the catalog (not a target)",
                        timed(lambda: score_matrix.matrix(store, "bench"), args.repeat)[0]))

        # With a connection held open, DuckDB reuses the open file: connects cost ~nothing.
        con = duckdb.connect(str(path), read_only=True)
        results.append(("  connect + close, another one open", timed(connect_close,
                                                                       args.repeat)[0]))
        ms, rows = timed(lambda: reads.leaderboard(con), args.repeat)
        results.append(("leaderboard query on an open connection", ms))
        results.append(("bootstrap intervals + ranks",
                        timed(lambda: ranking.rank_rows(rows), args.repeat)[0]))
        ms, previous = timed(lambda: con.execute(PREVIOUS_QUERY).fetchall(), args.repeat)
        results.append(("previous leaderboard query (no CI)", ms))
        con.close()

        # The new counting must agree with the previous query on what it counted.
        old = {r[0]: (r[2], r[3]) for r in previous}
        assert {s.model_id: (s.n_rated, s.total) for s in standings} == old, "totals differ"
        print(f"{'measurement':40} {'median ms':>10} {'vs 200 ms':>10}")
        for name, ms in results:
            print(f"{name:40} {ms:10.1f} {ms / TARGET_MS:9.2f}x")
        whole = dict(results)["ranking.leaderboard(store): all of it"]
        verdict = "meets" if whole < TARGET_MS else "MISSES"
        print(f"\n{len(standings)} models ranked; the whole leaderboard {verdict} the target: "
              f"{whole:.0f} ms = {whole / TARGET_MS:.2f} x 200 ms; totals agree with the "
              "previous query")
    return 0


if __name__ == "__main__":
    sys.exit(main())

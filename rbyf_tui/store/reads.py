"""Read SQL. Each function takes an open connection and returns typed records (records.py)
or, for the leaderboard, matrix, compare and answer views, plain dicts."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Sequence
from typing import Any

import duckdb

from rbyf_tui.store.records import (
    BattleAnswer,
    LoadFailure,
    ModelUsage,
    PairVotes,
    RaterScore,
    SessionRef,
    SessionRow,
    TaskState,
    Vote,
)

# The rating that counts for each (session, task): the latest one, whichever attempt it rates.
COUNTED_PER_SESSION = """
    SELECT * FROM (
        SELECT r.id AS rating_id, r.generation_id, r.score, r.remarks, r.rater,
               r.created_at AS rated_at, g.session_id, g.task_key, g.is_warmup,
               row_number() OVER (PARTITION BY g.session_id, g.task_key
                                  ORDER BY r.created_at DESC, r.id DESC) AS rn
        FROM ratings r JOIN generations g ON g.id = r.generation_id
    ) WHERE rn = 1
"""


def counted_sql(catalog: str | None = None, rater: str | None = None,
                models: Sequence[str] | None = None) -> tuple[str, list[Any]]:
    """Per model, catalog and task, the rating that counts (schema.COUNTED_FILL): the latest
    given to any attempt in any session of that model, by `rater` if given; never the
    warm-up. Columns: model_id, catalog_name, task_key, score, generation_id, rating_id,
    session_id, rated_at and the answer's ttft_s, prompt_tps, decode_tps, checks_passed,
    checks_total, reasoning_s."""
    where, params = ["NOT c.all_raters AND c.rater = ?" if rater else "c.all_raters"], []
    if rater:
        params.append(rater)
    if catalog:
        where.append("c.catalog_name = ?")
        params.append(catalog)
    if models is not None:
        where.append("c.model_id IN (SELECT unnest(?::VARCHAR[]))")
        params.append(list(models))
    sql = f"""
        SELECT c.model_id, c.catalog_name, c.task_key, c.score, c.generation_id, c.rating_id,
               c.session_id, c.rated_at, c.ttft_s, c.prompt_tps, c.decode_tps,
               c.checks_passed, c.checks_total, c.reasoning_s
        FROM counted c WHERE {" AND ".join(where)}
    """
    return sql, params


# What a generation's reads return (not updated_at); records.TaskState has a field for each.
GENERATION_COLUMNS = (
    "id", "session_id", "task_key", "task_title", "is_warmup", "attempt", "system", "prompt",
    "sampling", "response", "finish_reason", "status", "error", "ttft_s", "total_s",
    "prompt_tokens", "completion_tokens", "prompt_tps", "decode_tps", "e2e_tps",
    "engine_prompt_tps", "engine_decode_tps", "prompt_tiktoken", "completion_tiktoken",
    "tokens_estimated", "checks", "checks_passed", "checks_total", "extra", "started_at",
    "finished_at", "reasoning", "answer_ttft_s", "reasoning_tokens", "reasoning_s",
    "prompt_eval_tokens", "prompt_cached_tokens", "thinking",
)


def _dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def alive(pid: int) -> bool:
    """Whether a process of this host is running."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sessions(con: duckdb.DuckDBPyConnection) -> list[SessionRow]:
    """Every session, newest first; `running` when a live process generates into it."""
    rows = _dicts(con.execute("""
        WITH gen AS (
            SELECT session_id, count(DISTINCT task_key) AS generated FROM generations
            WHERE NOT is_warmup AND status IN ('ok', 'cancelled') GROUP BY session_id
        ), rated AS (
            -- tasks with a rating (COUNTED_PER_SESSION has one row for each): a semi-join,
            -- not a window over every rating
            SELECT session_id, count(DISTINCT task_key) AS rated FROM generations
            WHERE NOT is_warmup AND id IN (SELECT generation_id FROM ratings)
            GROUP BY session_id
        )
        SELECT s.id, m.name AS model, s.model_id, s.catalog_name AS catalog, s.status,
               s.n_tasks AS tasks, coalesce(gen.generated, 0) AS generated,
               coalesce(rated.rated, 0) AS rated, s.rater, s.origin, s.backend, s.created_at,
               s.updated_at, s.pid, s.host, s.comparison_id, s.comparison_position,
               m.quantization, m.size_bytes
        FROM sessions s JOIN models m ON m.id = s.model_id
        LEFT JOIN gen ON gen.session_id = s.id LEFT JOIN rated ON rated.session_id = s.id
        ORDER BY s.created_at DESC, s.id
    """))
    host = socket.gethostname()
    found = []
    for row in rows:
        pid, its_host = row.pop("pid"), row.pop("host")
        running = bool(pid) and its_host == host and alive(pid)
        found.append(SessionRow(**row, running=running, pid=pid if running else None))
    return found


def sessions_with_prefix(con: duckdb.DuckDBPyConnection, prefix: str) -> list[SessionRef]:
    """Up to 5 sessions whose id starts with `prefix`."""
    rows = con.execute(
        "SELECT s.id, s.model_id, m.name, s.catalog_id, s.catalog_name, s.status, "
        "s.settings, s.rater FROM sessions s JOIN models m ON m.id = s.model_id "
        "WHERE starts_with(s.id, ?) ORDER BY s.id LIMIT 5", [prefix]).fetchall()
    return [SessionRef(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6] or "{}"), r[7])
            for r in rows]


def session_ids_with_prefix(con: duckdb.DuckDBPyConnection, prefix: str) -> list[str]:
    """Every session id that starts with `prefix` (to shorten ids: store.ids)."""
    return [r[0] for r in con.execute(
        "SELECT id FROM sessions WHERE starts_with(id, ?)", [prefix]).fetchall()]


def catalog_source(con: duckdb.DuckDBPyConnection, catalog_id: str) -> tuple[str, str] | None:
    """(content, source) of a stored catalog version."""
    row = con.execute("SELECT content, source FROM catalogs WHERE id = ?",
                      [catalog_id]).fetchone()
    return (row[0], row[1]) if row else None


def task_states(con: duckdb.DuckDBPyConnection, session_id: str) -> dict[str, TaskState]:
    """Per task key of the session: its latest generation, how many attempts, and the rating
    that counts (COUNTED_PER_SESSION). Reads only the session's rows, through the indexes
    (a window over every rating took seconds at a million)."""
    ids = [r[0] for r in con.execute(
        "SELECT id FROM generations WHERE session_id = ?", [session_id]).fetchall()]
    if not ids:
        return {}
    cols = ", ".join(f"g.{c}" for c in GENERATION_COLUMNS)
    # A literal IN list: DuckDB answers it from the index on ratings(generation_id).
    rows = _dicts(con.execute(f"""
        WITH gens AS (
            SELECT * FROM generations WHERE session_id = ?
        ), latest AS (
            SELECT *, row_number() OVER (PARTITION BY task_key ORDER BY attempt DESC) AS rn
            FROM gens
        ), attempts AS (
            SELECT task_key, count(*) AS attempts FROM gens GROUP BY task_key
        ), counted AS (
            SELECT * FROM (
                SELECT r.generation_id, r.score, r.remarks, r.rater, r.created_at AS rated_at,
                       g.task_key,
                       row_number() OVER (PARTITION BY g.task_key
                                          ORDER BY r.created_at DESC, r.id DESC) AS rn
                FROM (SELECT * FROM ratings
                      WHERE generation_id IN ({", ".join("?" * len(ids))})) r
                JOIN gens g ON g.id = r.generation_id
            ) WHERE rn = 1
        )
        SELECT {cols}, a.attempts, c.score, c.remarks, c.rater, c.rated_at,
               c.generation_id AS rated_generation_id
        FROM latest g JOIN attempts a USING (task_key)
        LEFT JOIN counted c ON c.task_key = g.task_key
        WHERE g.rn = 1
    """, [session_id, *ids]))
    return {row["task_key"]: TaskState(**row) for row in rows}


def generation(con: duckdb.DuckDBPyConnection, gen_id: str) -> dict[str, Any] | None:
    rows = _dicts(con.execute(
        f"SELECT {', '.join(GENERATION_COLUMNS)} FROM generations WHERE id = ?", [gen_id]))
    return rows[0] if rows else None


def export_sql(session_ids: Sequence[str] | None) -> tuple[str, list[Any]]:
    """Every generation (all attempts) with its session, model and latest rating."""
    where, params = "", []
    if session_ids is not None:
        where = "WHERE g.session_id IN (SELECT unnest(?::VARCHAR[]))"
        params = [list(session_ids)]
    cols = ", ".join(f"g.{c}" for c in GENERATION_COLUMNS if c not in ("id", "session_id"))
    sql = f"""
        WITH last_rating AS (
            SELECT * FROM (
                SELECT *, row_number() OVER (PARTITION BY generation_id
                                             ORDER BY created_at DESC, id DESC) AS rn
                FROM ratings
            ) WHERE rn = 1
        )
        SELECT g.session_id, g.id AS generation_id, m.name AS model, s.model_id,
               s.catalog_name AS catalog, s.backend, s.rater AS session_rater, {cols},
               r.score, r.remarks, r.rater, r.created_at AS rated_at,
               (c.generation_id IS NOT NULL) AS counted
        FROM generations g JOIN sessions s ON s.id = g.session_id
        JOIN models m ON m.id = s.model_id
        LEFT JOIN last_rating r ON r.generation_id = g.id
        LEFT JOIN ({COUNTED_PER_SESSION}) c ON c.generation_id = g.id
        {where}
        ORDER BY s.created_at, g.session_id, g.started_at, g.attempt
    """
    return sql, params


def export_rows(con: duckdb.DuckDBPyConnection,
                session_ids: Sequence[str] | None) -> list[dict[str, Any]]:
    sql, params = export_sql(session_ids)
    return _dicts(con.execute(sql, params))


def copy_export(con: duckdb.DuckDBPyConnection, session_ids: Sequence[str] | None,
                target: str, fmt: str) -> None:
    sql, params = export_sql(session_ids)
    quoted = target.replace("'", "''")
    con.execute(f"COPY ({sql}) TO '{quoted}' (FORMAT {fmt})", params)


def leaderboard(con: duckdb.DuckDBPyConnection, catalog: str | None = None,
                rater: str | None = None) -> list[dict[str, Any]]:
    """Per model and catalog: the counted rating of each task (see counted_sql), how many
    tasks got each score 0..5 (`score_counts`, what the bootstrap needs), and the median
    figures of the answers those ratings judge (thinking time over those that thought);
    with the automatic checks those answers passed and ran (`checks_passed`,
    `checks_total`: NULL when none had checks)."""
    counted, params = counted_sql(catalog, rater)
    histogram = ", ".join(f"count(*) FILTER (WHERE c.score = {n})" for n in range(6))
    return _dicts(con.execute(f"""
        WITH scores AS (
            SELECT c.model_id, c.catalog_name, count(*) AS n_rated, sum(c.score) AS total,
                   avg(c.score) AS mean, [{histogram}] AS score_counts,
                   median(c.ttft_s) AS median_ttft_s, median(c.prompt_tps) AS median_prompt_tps,
                   median(c.decode_tps) AS median_decode_tps,
                   median(c.reasoning_s) AS median_reasoning_s,
                   sum(c.checks_passed) AS checks_passed, sum(c.checks_total) AS checks_total
            FROM ({counted}) c GROUP BY c.model_id, c.catalog_name
        ), tasks AS (
            SELECT catalog_name, max(n_tasks) AS n_tasks FROM sessions GROUP BY catalog_name
        )
        SELECT m.name AS model, sc.model_id, sc.catalog_name AS catalog, sc.n_rated,
               sc.total::INTEGER AS total, sc.mean, t.n_tasks, sc.median_ttft_s,
               sc.median_prompt_tps, sc.median_decode_tps, sc.median_reasoning_s,
               sc.score_counts,
               sc.checks_passed::INTEGER AS checks_passed,
               sc.checks_total::INTEGER AS checks_total, m.quantization, m.size_bytes
        FROM scores sc JOIN models m ON m.id = sc.model_id
        LEFT JOIN tasks t ON t.catalog_name = sc.catalog_name
        ORDER BY sc.catalog_name, sc.mean DESC, sc.total DESC, m.name, sc.model_id
    """, params))


def matrix_cells(con: duckdb.DuckDBPyConnection, catalog: str, rater: str | None = None,
                 ) -> tuple[list[tuple[str, str, int, str]], dict[str, str]]:
    """(model_id, task_key, score, generation_id) per counted rating, and the models' names.
    Unsorted and unjoined: at 1,000 models x 100 tasks the cells are 100k rows."""
    counted, params = counted_sql(catalog, rater)
    cells = con.execute(f"SELECT c.model_id, c.task_key, c.score, c.generation_id "
                        f"FROM ({counted}) c", params).fetchall()
    names = con.execute(f"SELECT id, name FROM models WHERE id IN (SELECT DISTINCT c.model_id "
                        f"FROM ({counted}) c)", params).fetchall()
    return cells, dict(names)


def task_titles(con: duckdb.DuckDBPyConnection, catalog: str,
                keys: Sequence[str]) -> dict[str, str]:
    """Titles as the generations recorded them, for task keys the catalog file lacks."""
    rows = con.execute("""
        SELECT g.task_key, arg_max(g.task_title, g.started_at) FROM generations g
        JOIN sessions s ON s.id = g.session_id
        WHERE s.catalog_name = ? AND g.task_key IN (SELECT unnest(?::VARCHAR[]))
        GROUP BY g.task_key
    """, [catalog, list(keys)]).fetchall()
    return dict(rows)


def latest_catalog(con: duckdb.DuckDBPyConnection, name: str) -> tuple[str, str] | None:
    """(content, source) of the newest stored catalog with this name."""
    row = con.execute("SELECT content, source FROM catalogs WHERE name = ? "
                      "ORDER BY created_at DESC, id LIMIT 1", [name]).fetchone()
    return (row[0], row[1]) if row else None


def models_named(con: duckdb.DuckDBPyConnection,
                 names: Sequence[str]) -> list[tuple[str, str]]:
    """(id, name) of models whose id or name is one of `names`."""
    return con.execute(
        "SELECT id, name FROM models WHERE id IN (SELECT unnest(?::VARCHAR[])) "
        "OR name IN (SELECT unnest(?::VARCHAR[])) ORDER BY name, id",
        [list(names), list(names)]).fetchall()


def report_sessions(con: duckdb.DuckDBPyConnection, catalog: str,
                    model_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The sessions of these models on a catalog, oldest first, with what a report shows of
    each: settings, hardware, the catalog's version and the model file's facts."""
    return _dicts(con.execute("""
        SELECT s.id, s.model_id, m.name AS model, s.backend, s.rater, s.origin, s.status,
               s.created_at, s.settings, s.hardware, c.version AS catalog_version,
               m.architecture, m.parameters, m.quantization, m.size_bytes, m.chat_format,
               m.n_ctx_train, m.sha256, m.path
        FROM sessions s JOIN models m ON m.id = s.model_id
        LEFT JOIN catalogs c ON c.id = s.catalog_id
        WHERE s.catalog_name = ? AND s.model_id IN (SELECT unnest(?::VARCHAR[]))
        ORDER BY s.created_at, s.id
    """, [catalog, list(model_ids)]))


def _answer_columns() -> str:
    return ", ".join(f"g.{c}" for c in GENERATION_COLUMNS)


def picked_sql(catalog: str, model_ids: Sequence[str] | None = None,
               rater: str | None = None) -> tuple[str, list[Any]]:
    """Per model and task of the catalog, the answer that counts: the one whose rating
    counts (counted_sql; by `rater` if given), with that rating; for a task not rated yet,
    the newest finished answer, unrated. Never the warm-up, nor keys outside the catalog.
    Columns: model_id, task_key, generation_id, score, remarks, rater, rated_at.
    `model_ids` None: every model."""
    counted, params = counted_sql(catalog, rater, models=model_ids)
    models = "" if model_ids is None else "AND s.model_id IN (SELECT unnest(?::VARCHAR[]))"
    sql = f"""
        WITH counted AS (
            SELECT c.*, r.remarks, r.rater FROM ({counted}) c
            JOIN ratings r ON r.id = c.rating_id
        ),
        latest AS (
            SELECT * FROM (
                SELECT s.model_id, g.task_key, g.id AS generation_id,
                       row_number() OVER (PARTITION BY s.model_id, g.task_key
                                          ORDER BY g.started_at DESC, g.attempt DESC, g.id DESC)
                           AS rn
                FROM generations g JOIN sessions s ON s.id = g.session_id
                WHERE s.catalog_name = ? {models}
                      AND NOT g.is_warmup AND g.status IN ('ok', 'cancelled')
                      AND NOT contains(g.task_key, ':')
            ) WHERE rn = 1
        )
        SELECT coalesce(c.model_id, l.model_id) AS model_id,
               coalesce(c.task_key, l.task_key) AS task_key,
               coalesce(c.generation_id, l.generation_id) AS generation_id,
               c.score, c.remarks, c.rater, c.rated_at
        FROM counted c FULL OUTER JOIN latest l
             ON l.model_id = c.model_id AND l.task_key = c.task_key
    """
    return sql, [*params, catalog, *([] if model_ids is None else [list(model_ids)])]


def compare_answers(con: duckdb.DuckDBPyConnection, catalog: str, model_ids: Sequence[str],
                    rater: str | None = None) -> list[dict[str, Any]]:
    """Per model and task of the catalog: the answer that counts (picked_sql), with its
    rating, if any."""
    picked, params = picked_sql(catalog, model_ids, rater)
    return _dicts(con.execute(f"""
        SELECT p.model_id, m.name AS model, s.catalog_name AS catalog, p.score, p.remarks,
               p.rater, p.rated_at, {_answer_columns()}
        FROM ({picked}) p JOIN generations g ON g.id = p.generation_id
        JOIN sessions s ON s.id = g.session_id JOIN models m ON m.id = p.model_id
        ORDER BY p.model_id, g.task_key
    """, params))


def answer(con: duckdb.DuckDBPyConnection, generation_id: str,
           rater: str | None = None) -> dict[str, Any] | None:
    """One generation with its model, catalog and latest rating (by `rater`, if given)."""
    rater_filter = "AND rater = ?" if rater else ""
    rows = _dicts(con.execute(f"""
        WITH rating AS (
            SELECT score, remarks, rater, created_at AS rated_at FROM ratings
            WHERE generation_id = ? {rater_filter} ORDER BY created_at DESC, id DESC LIMIT 1
        )
        SELECT s.model_id, m.name AS model, s.catalog_name AS catalog, r.score, r.remarks,
               r.rater, r.rated_at, {_answer_columns()}
        FROM generations g JOIN sessions s ON s.id = g.session_id
        JOIN models m ON m.id = s.model_id LEFT JOIN rating r ON true
        WHERE g.id = ?
    """, [generation_id, *([rater] if rater else []), generation_id]))
    return rows[0] if rows else None


def raters(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every rater with a rating that counts (the per-rater rows of `counted`)."""
    rows = con.execute("SELECT DISTINCT rater FROM counted WHERE NOT all_raters "
                       "AND rater <> '' ORDER BY rater").fetchall()
    return [r[0] for r in rows]


def model_usage(con: duckdb.DuckDBPyConnection) -> dict[str, ModelUsage]:
    """Per model file (the resolved path it was loaded from): its sessions, the mean of its
    ratings that count (every catalog) and when it was last used. A file that changed
    keeps one entry: its models (one per sha256) are added up."""
    counted, params = counted_sql()
    rows = con.execute(f"""
        WITH s AS (SELECT model_id, count(*) AS n FROM sessions GROUP BY model_id),
        c AS (SELECT model_id, sum(score) AS total, count(*) AS n FROM ({counted}) c
              GROUP BY model_id)
        SELECT m.path, arg_max(m.name, m.last_used), sum(coalesce(s.n, 0))::INTEGER,
               sum(c.total) / nullif(sum(c.n), 0), max(m.last_used)
        FROM models m LEFT JOIN s ON s.model_id = m.id LEFT JOIN c ON c.model_id = m.id
        WHERE m.backend = 'llama.cpp' AND m.path IS NOT NULL
        GROUP BY m.path
    """, params).fetchall()
    return {row[0]: ModelUsage(*row) for row in rows}


def load_failures(con: duckdb.DuckDBPyConnection, limit: int | None) -> list[LoadFailure]:
    """Failed model loads, newest first; `loaded_since` once the same model file (or the
    resumed session) loaded after it."""
    return [LoadFailure(**row) for row in _dicts(con.execute("""
        SELECT f.id, f.failed_at, f.origin, f.backend, f.model, f.catalog_name, f.session_id,
               f.error,
               EXISTS (SELECT 1 FROM models m
                       WHERE m.path = f.model AND m.last_used > f.failed_at)
               OR EXISTS (SELECT 1 FROM sessions s
                          WHERE s.id = f.session_id AND s.updated_at > f.failed_at)
               AS loaded_since
        FROM load_failures f ORDER BY f.failed_at DESC, f.id LIMIT ?
    """, [limit]))]


# The latest rating of each rater for each (model, catalog, task); the warm-up never counts.
PER_RATER = """
    SELECT model, model_id, catalog, task_key, rater, score FROM (
        SELECT m.name AS model, s.model_id, s.catalog_name AS catalog, g.task_key,
               coalesce(r.rater, '?') AS rater, r.score,
               row_number() OVER (PARTITION BY s.model_id, s.catalog_name, g.task_key,
                                  coalesce(r.rater, '?')
                                  ORDER BY r.created_at DESC, r.id DESC) AS rn
        FROM ratings r JOIN generations g ON g.id = r.generation_id
        JOIN sessions s ON s.id = g.session_id JOIN models m ON m.id = s.model_id
        WHERE NOT g.is_warmup {where}
    ) WHERE rn = 1
"""


def per_rater_scores(con: duckdb.DuckDBPyConnection,
                     catalog: str | None = None) -> list[RaterScore]:
    where, params = ("AND s.catalog_name = ?", [catalog]) if catalog else ("", [])
    rows = con.execute(PER_RATER.format(where=where), params).fetchall()
    return [RaterScore(*row) for row in rows]


# --- battles and votes ----------------------------------------------------------------------

def battle_state(con: duckdb.DuckDBPyConnection, catalog: str,
                 model_ids: Sequence[str] | None = None,
                 ) -> tuple[list[BattleAnswer], list[PairVotes]]:
    """What choosing a battle in a catalog needs, in two queries:
    - per model (those given, else every model with a session of the catalog) and task, the
      answer that counts (picked_sql, all raters); a model without any answer has one row
      with task_key and generation_id None;
    - the catalog's votes per task, pair of models (ids in sorted order) and rater."""
    picked, params = picked_sql(catalog, model_ids)
    if model_ids is None:
        roster = "SELECT DISTINCT model_id FROM sessions WHERE catalog_name = ?"
        roster_params: list[Any] = [catalog]
    else:
        roster = "SELECT DISTINCT unnest(?::VARCHAR[]) AS model_id"
        roster_params = [list(model_ids)]
    answers = con.execute(f"""
        SELECT ?, r.model_id, m.name, p.task_key, p.generation_id
        FROM ({roster}) r JOIN models m ON m.id = r.model_id
        LEFT JOIN ({picked}) p ON p.model_id = r.model_id
        ORDER BY m.name, r.model_id, p.task_key
    """, [catalog, *roster_params, *params]).fetchall()
    # Only votes between two models of the roster: the others cannot change the choice.
    among = "" if model_ids is None else (
        "AND left_model_id IN (SELECT unnest($2::VARCHAR[])) "
        "AND right_model_id IN (SELECT unnest($2::VARCHAR[]))")
    votes = con.execute(f"""
        SELECT catalog_name, task_key, least(left_model_id, right_model_id) AS a,
               greatest(left_model_id, right_model_id) AS b, rater, count(*)
        FROM votes WHERE catalog_name = $1 {among} GROUP BY ALL
    """, [catalog, *([] if model_ids is None else [list(model_ids)])]).fetchall()
    return [BattleAnswer(*row) for row in answers], [PairVotes(*row) for row in votes]


def answered_catalogs(con: duckdb.DuckDBPyConnection) -> list[tuple[str, int]]:
    """Catalogs with finished answers, and how many models answered them, by name."""
    return con.execute("""
        SELECT s.catalog_name, count(DISTINCT s.model_id) FROM sessions s
        WHERE EXISTS (SELECT 1 FROM generations g WHERE g.session_id = s.id
                      AND NOT g.is_warmup AND g.status IN ('ok', 'cancelled'))
        GROUP BY s.catalog_name ORDER BY s.catalog_name
    """).fetchall()


def generation_ids_with_prefix(con: duckdb.DuckDBPyConnection, prefix: str) -> list[str]:
    """The generation of that id, else up to 5 whose id starts with `prefix`."""
    if con.execute("SELECT 1 FROM generations WHERE id = ?", [prefix]).fetchone():
        return [prefix]
    return [r[0] for r in con.execute(
        "SELECT id FROM generations WHERE starts_with(id, ?) ORDER BY id LIMIT 5",
        [prefix]).fetchall()]


def votes_sql(session_ids: Sequence[str] | None) -> tuple[str, list[Any]]:
    """Every vote (on an answer of those sessions, if given) with both models' names,
    oldest first: what `rbyf export` writes."""
    where, params = "", []
    if session_ids is not None:
        where = """WHERE EXISTS (SELECT 1 FROM generations g
                                 WHERE g.id IN (v.left_generation_id, v.right_generation_id)
                                 AND g.session_id IN (SELECT unnest(?::VARCHAR[])))"""
        params = [list(session_ids)]
    sql = f"""
        SELECT v.id AS vote_id, v.catalog_name AS catalog, v.task_key,
               v.left_generation_id, v.right_generation_id, v.left_model_id,
               lm.name AS left_model, v.right_model_id, rm.name AS right_model, v.verdict,
               v.remarks, v.rater, v.created_at
        FROM votes v LEFT JOIN models lm ON lm.id = v.left_model_id
        LEFT JOIN models rm ON rm.id = v.right_model_id
        {where}
        ORDER BY v.created_at, v.id
    """
    return sql, params


def vote_rows(con: duckdb.DuckDBPyConnection,
              session_ids: Sequence[str] | None) -> list[dict[str, Any]]:
    sql, params = votes_sql(session_ids)
    return _dicts(con.execute(sql, params))


def copy_votes(con: duckdb.DuckDBPyConnection, session_ids: Sequence[str] | None,
               target: str, fmt: str) -> int:
    """Write the votes to `target` (COPY ... FORMAT fmt); how many there were."""
    sql, params = votes_sql(session_ids)
    count = con.execute(f"SELECT count(*) FROM ({sql})", params).fetchone()
    if not count or not count[0]:
        return 0
    quoted = target.replace("'", "''")
    con.execute(f"COPY ({sql}) TO '{quoted}' (FORMAT {fmt})", params)
    return int(count[0])


VOTE_COLUMNS = ("id", "catalog_name", "task_key", "left_generation_id", "right_generation_id",
                "left_model_id", "right_model_id", "verdict", "remarks", "rater", "created_at")


def votes(con: duckdb.DuckDBPyConnection, catalog: str | None = None,
          rater: str | None = None) -> list[Vote]:
    """Every vote, of one catalog and rater if given, oldest first."""
    where, params = [], []
    if catalog:
        where.append("catalog_name = ?")
        params.append(catalog)
    if rater:
        where.append("rater = ?")
        params.append(rater)
    sql = (f"SELECT {', '.join(VOTE_COLUMNS)} FROM votes "
           f"{'WHERE ' + ' AND '.join(where) if where else ''} ORDER BY created_at, id")
    return [Vote(*row) for row in con.execute(sql, params).fetchall()]

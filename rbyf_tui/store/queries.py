"""Read queries. Each takes an open connection and returns plain dicts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import duckdb

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

GENERATION_COLUMNS = (
    "id", "session_id", "task_key", "task_title", "is_warmup", "attempt", "system", "prompt",
    "sampling", "response", "finish_reason", "status", "error", "ttft_s", "total_s",
    "prompt_tokens", "completion_tokens", "prompt_tps", "decode_tps", "e2e_tps",
    "engine_prompt_tps", "engine_decode_tps", "prompt_tiktoken", "completion_tiktoken",
    "tokens_estimated", "checks", "extra", "started_at", "finished_at",
)


def _dicts(cursor: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description or []]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def sessions(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return _dicts(con.execute(f"""
        WITH gen AS (
            SELECT session_id, count(DISTINCT task_key) AS generated FROM generations
            WHERE NOT is_warmup AND status IN ('ok', 'cancelled') GROUP BY session_id
        ), rated AS (
            SELECT session_id, count(*) AS rated FROM ({COUNTED_PER_SESSION})
            WHERE NOT is_warmup GROUP BY session_id
        )
        SELECT s.id, m.name AS model, s.model_id, s.catalog_name AS catalog, s.status,
               s.n_tasks AS tasks, coalesce(gen.generated, 0) AS generated,
               coalesce(rated.rated, 0) AS rated, s.rater, s.origin, s.backend, s.created_at,
               s.updated_at, s.pid, s.host
        FROM sessions s JOIN models m ON m.id = s.model_id
        LEFT JOIN gen ON gen.session_id = s.id LEFT JOIN rated ON rated.session_id = s.id
        ORDER BY s.created_at DESC, s.id
    """))


def task_states(con: duckdb.DuckDBPyConnection, session_id: str) -> dict[str, dict[str, Any]]:
    cols = ", ".join(f"g.{c}" for c in GENERATION_COLUMNS)
    rows = _dicts(con.execute(f"""
        WITH latest AS (
            SELECT *, row_number() OVER (PARTITION BY task_key ORDER BY attempt DESC) AS rn
            FROM generations WHERE session_id = ?
        ), attempts AS (
            SELECT task_key, count(*) AS attempts FROM generations WHERE session_id = ?
            GROUP BY task_key
        )
        SELECT {cols}, a.attempts, c.score, c.remarks, c.rater, c.rated_at,
               c.generation_id AS rated_generation_id
        FROM latest g JOIN attempts a USING (task_key)
        LEFT JOIN ({COUNTED_PER_SESSION}) c ON c.session_id = g.session_id
             AND c.task_key = g.task_key
        WHERE g.rn = 1
    """, [session_id, session_id]))
    return {row["task_key"]: row for row in rows}


def generation(con: duckdb.DuckDBPyConnection, gen_id: str) -> dict[str, Any] | None:
    rows = _dicts(con.execute(
        f"SELECT {', '.join(GENERATION_COLUMNS)} FROM generations WHERE id = ?", [gen_id]))
    return rows[0] if rows else None


def refresh_session_status(con: duckdb.DuckDBPyConnection, session_id: str,
                           stamp: datetime) -> None:
    """A session is complete once every rated task of its catalog has a rating."""
    con.execute(f"""
        UPDATE sessions SET
            status = CASE WHEN (SELECT count(*) FROM ({COUNTED_PER_SESSION})
                                WHERE session_id = ? AND NOT is_warmup) >= n_tasks
                          THEN 'complete' ELSE 'open' END,
            updated_at = ?
        WHERE id = ?
    """, [session_id, stamp, session_id])
    con.execute(
        "UPDATE sessions SET finished_at = CASE WHEN status = 'complete' THEN "
        "coalesce(finished_at, ?) END WHERE id = ?", [stamp, session_id])


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
    """Per model and catalog: the latest rating of each task across sessions, and speeds."""
    filters, params = [], []
    if catalog:
        filters.append("s.catalog_name = ?")
        params.append(catalog)
    if rater:
        filters.append("r.rater = ?")
        params.append(rater)
    rating_filter = ("AND " + " AND ".join(filters)) if filters else ""
    speed_filter = "AND s.catalog_name = ?" if catalog else ""
    speed_params = [catalog] if catalog else []
    return _dicts(con.execute(f"""
        WITH counted AS (
            SELECT * FROM (
                SELECT s.model_id, s.catalog_name, g.task_key, r.score,
                       row_number() OVER (PARTITION BY s.model_id, s.catalog_name, g.task_key
                                          ORDER BY r.created_at DESC, r.id DESC) AS rn
                FROM ratings r JOIN generations g ON g.id = r.generation_id
                JOIN sessions s ON s.id = g.session_id
                WHERE NOT g.is_warmup {rating_filter}
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
            WHERE NOT g.is_warmup AND g.status = 'ok' {speed_filter}
            GROUP BY s.model_id, s.catalog_name
        ), tasks AS (
            SELECT catalog_name, max(n_tasks) AS n_tasks FROM sessions GROUP BY catalog_name
        )
        SELECT m.name AS model, sc.model_id, sc.catalog_name AS catalog, sc.n_rated,
               sc.total, sc.mean, t.n_tasks, sp.median_ttft_s, sp.median_prompt_tps,
               sp.median_decode_tps, sc.scores
        FROM scores sc JOIN models m ON m.id = sc.model_id
        LEFT JOIN speeds sp ON sp.model_id = sc.model_id AND sp.catalog_name = sc.catalog_name
        LEFT JOIN tasks t ON t.catalog_name = sc.catalog_name
        ORDER BY sc.catalog_name, sc.mean DESC, sc.total DESC, m.name
    """, params + speed_params))

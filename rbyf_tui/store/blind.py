"""SQL for blind rating: a comparison's answers per task, and the letter order per task
(stored once, so the same answer keeps its letter when the rater comes back)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb

from rbyf_tui.store.reads import GENERATION_COLUMNS, _dicts


def comparison_answers(con: duckdb.DuckDBPyConnection, comparison_id: str,
                       rater: str) -> list[dict[str, Any]]:
    """Per session of the comparison and task: its latest whole answer (never the warm-up,
    nor one cut short), with `rater`'s latest rating of it, if any. Columns as
    reads.answer()."""
    cols = ", ".join(f"g.{c}" for c in GENERATION_COLUMNS)
    return _dicts(con.execute(f"""
        WITH latest AS (
            SELECT * FROM (
                SELECT g.*, row_number() OVER (PARTITION BY g.session_id, g.task_key
                                               ORDER BY g.attempt DESC, g.started_at DESC) AS rn
                FROM generations g JOIN sessions s ON s.id = g.session_id
                WHERE s.comparison_id = ? AND NOT g.is_warmup AND g.status = 'ok'
            ) WHERE rn = 1
        ), rating AS (
            SELECT * FROM (
                SELECT r.generation_id, r.score, r.remarks, r.rater, r.created_at AS rated_at,
                       row_number() OVER (PARTITION BY r.generation_id
                                          ORDER BY r.created_at DESC, r.id DESC) AS rn
                FROM ratings r JOIN latest g ON g.id = r.generation_id
                WHERE r.rater = ?
            ) WHERE rn = 1
        )
        SELECT s.model_id, m.name AS model, s.catalog_name AS catalog, r.score, r.remarks,
               r.rater, r.rated_at, {cols}
        FROM latest g JOIN sessions s ON s.id = g.session_id
        JOIN models m ON m.id = s.model_id
        LEFT JOIN rating r ON r.generation_id = g.id
        ORDER BY g.task_key, s.comparison_position
    """, [comparison_id, rater]))


def blind_orders(con: duckdb.DuckDBPyConnection, comparison_id: str) -> dict[str, list[str]]:
    """Task key -> session ids in letter order, for the tasks that have one."""
    rows = con.execute("SELECT task_key, sessions FROM blind_orders WHERE comparison_id = ?",
                       [comparison_id]).fetchall()
    return {key: json.loads(sessions) for key, sessions in rows}


def keep_blind_orders(con: duckdb.DuckDBPyConnection, comparison_id: str,
                      orders: dict[str, list[str]], seed: int,
                      stamp: datetime) -> dict[str, list[str]]:
    """Store the orders of tasks that have none yet; return every stored order (one that
    another rater stored first wins, so both see the same letters)."""
    con.executemany(
        "INSERT INTO blind_orders (comparison_id, task_key, sessions, seed, created_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        [[comparison_id, key, json.dumps(order), seed, stamp] for key, order in orders.items()])
    return blind_orders(con, comparison_id)

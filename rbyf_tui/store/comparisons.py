"""Read SQL for comparisons: several models' sessions on one catalog (schema migration 7)."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from rbyf_tui.store.records import ComparisonMember, ComparisonRow

MEMBERS = """
    WITH gen AS (
        SELECT session_id, count(DISTINCT task_key) AS answered FROM generations
        WHERE NOT is_warmup AND status = 'ok'  -- one cut short is generated again
          AND session_id IN (SELECT id FROM sessions WHERE comparison_id = ?)
        GROUP BY session_id
    )
    SELECT s.comparison_position, s.id, s.model_id, m.name, m.quantization, m.size_bytes,
           s.status, coalesce(gen.answered, 0), s.n_tasks
    FROM sessions s JOIN models m ON m.id = s.model_id
    LEFT JOIN gen ON gen.session_id = s.id
    WHERE s.comparison_id = ? ORDER BY s.comparison_position, s.created_at
"""


def ids_with_prefix(con: duckdb.DuckDBPyConnection, prefix: str) -> list[str]:
    """Up to 5 comparison ids starting with `prefix`, a whole id first."""
    rows = con.execute("SELECT id FROM comparisons WHERE starts_with(id, ?) "
                       "ORDER BY id <> ?, id LIMIT 5", [prefix, prefix]).fetchall()
    return [r[0] for r in rows]


def _members(con: duckdb.DuckDBPyConnection, comparison_id: str,
             settings: dict[str, Any]) -> list[ComparisonMember]:
    sessions: dict[int, ComparisonMember] = {}
    for pos, sid, model_id, name, quant, size, status, answered, tasks in con.execute(
            MEMBERS, [comparison_id, comparison_id]).fetchall():
        # a model whose first session failed mid-way may have a later one: the newest wins
        sessions[pos] = ComparisonMember(pos, "", sid, model_id, name, quant, size, status,
                                         answered, tasks)
    members = []
    for position, spec in enumerate(settings.get("models", [])):
        label = str(spec.get("label") or f"model {position + 1}")
        found = sessions.get(position)
        if found is None:
            members.append(ComparisonMember(
                position, label, None, None, label, spec.get("quantization"),
                spec.get("size_bytes"), "waiting", 0, int(settings.get("n_tasks") or 0)))
        else:
            members.append(ComparisonMember(
                position, label, found.session_id, found.model_id, found.model,
                found.quantization, found.size_bytes, found.status, found.answered,
                found.tasks))
    return members


def _rows(con: duckdb.DuckDBPyConnection, where: str,
          params: list[Any]) -> list[ComparisonRow]:
    rows = con.execute(
        "SELECT id, catalog_id, catalog_name, seed, origin, created_at, settings "
        f"FROM comparisons {where} ORDER BY created_at DESC, id", params).fetchall()
    found = []
    for cid, catalog_id, catalog_name, seed, origin, created_at, settings_json in rows:
        settings = json.loads(settings_json or "{}")
        found.append(ComparisonRow(cid, catalog_id, catalog_name, int(seed or 0), origin,
                                   created_at, settings, _members(con, cid, settings)))
    return found


def comparison(con: duckdb.DuckDBPyConnection, comparison_id: str) -> ComparisonRow | None:
    rows = _rows(con, "WHERE id = ?", [comparison_id])
    return rows[0] if rows else None


def comparisons(con: duckdb.DuckDBPyConnection) -> list[ComparisonRow]:
    """Every comparison, newest first."""
    return _rows(con, "", [])

"""Write SQL. Each function takes a connection inside the write transaction the Store opened
(store.db: one short transaction per write, committed before the caller moves on)."""

from __future__ import annotations

import getpass
import json
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from rbyf_tui.backends.base import ChatRequest, ModelInfo
from rbyf_tui.catalog import Catalog, Task
from rbyf_tui.checks import CheckResult
from rbyf_tui.checks import to_json as checks_to_json
from rbyf_tui.errors import NotFoundError, SessionBusyError, UsageError
from rbyf_tui.metrics import Figures
from rbyf_tui.store.reads import alive
from rbyf_tui.store.records import FINISHED, VERDICTS, ImportedSession
from rbyf_tui.store.schema import COUNTED_FILL


def now() -> datetime:
    """UTC, without tzinfo: DuckDB TIMESTAMP columns hold UTC throughout."""
    return datetime.now(UTC).replace(tzinfo=None)


def default_rater() -> str:
    try:
        return os.environ.get("RBYF_RATER") or getpass.getuser()
    except (KeyError, OSError):
        return "me"


def new_id(length: int = 32) -> str:
    """Every id the store makes comes from here, called as writes.new_id (tests pin them)."""
    return uuid.uuid4().hex[:length]


def check_score(score: object) -> None:
    if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 5:
        raise UsageError(f"score {score!r} is not a whole number from 0 to 5")


# --- models, catalogs, sessions ---------------------------------------------------------

def create_session(con: duckdb.DuckDBPyConnection, model: ModelInfo, catalog: Catalog,
                   settings: dict[str, Any], hardware: dict[str, Any], rater: str,
                   origin: str, comparison: tuple[str, int] | None = None) -> str:
    upsert_model(con, model)
    upsert_catalog(con, catalog)
    session_id = _free_session_id(con)
    stamp = now()
    con.execute(
        "INSERT INTO sessions (id, model_id, catalog_id, catalog_name, n_tasks, backend,"
        " settings, hardware, rater, status, origin, pid, host, created_at, updated_at,"
        " comparison_id, comparison_position)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?, ?, ?)",
        [session_id, model.key, catalog.content_hash, catalog.name, len(catalog.tasks),
         model.backend, json.dumps(settings), json.dumps(hardware), rater, origin,
         os.getpid(), socket.gethostname(), stamp, stamp,
         *(comparison if comparison else (None, None))],
    )
    return session_id


def create_comparison(con: duckdb.DuckDBPyConnection, comparison_id: str, catalog: Catalog,
                      seed: int, settings: dict[str, Any], origin: str) -> None:
    upsert_catalog(con, catalog)
    con.execute("INSERT INTO comparisons VALUES (?, ?, ?, ?, ?, ?, ?)",
                [comparison_id, catalog.content_hash, catalog.name, seed,
                 json.dumps(settings), origin, now()])


def check_session_free(con: duckdb.DuckDBPyConnection, session_id: str) -> None:
    """Refuse a session that another live process of this host generates into (two
    raters on one machine must not write attempts into one session at once)."""
    row = con.execute("SELECT pid, host FROM sessions WHERE id = ?", [session_id]).fetchone()
    if row and row[0] and row[0] != os.getpid() and row[1] == socket.gethostname() \
            and alive(row[0]):
        raise SessionBusyError(f"session {session_id[:8]} is open in process {row[0]} on "
                               "this machine: go on there, or once it ends")


def claim_session(con: duckdb.DuckDBPyConnection, session_id: str) -> None:
    """Mark this process as the one generating into the session, unless another is."""
    check_session_free(con, session_id)
    con.execute("UPDATE sessions SET pid = ?, host = ?, updated_at = ? WHERE id = ?",
                [os.getpid(), socket.gethostname(), now(), session_id])


def release_session(con: duckdb.DuckDBPyConnection, session_id: str) -> None:
    con.execute("UPDATE sessions SET pid = NULL, updated_at = ? WHERE id = ? AND pid = ?",
                [now(), session_id, os.getpid()])


def upsert_model(con: duckdb.DuckDBPyConnection, model: ModelInfo) -> None:
    stamp = now()
    con.execute(
        "INSERT INTO models (id, name, backend, path, sha256, size_bytes, architecture, "
        "quantization, parameters, chat_format, n_ctx_train, info, first_seen, last_used) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
        "path = coalesce(excluded.path, models.path), last_used = excluded.last_used, "
        "chat_format = coalesce(excluded.chat_format, models.chat_format), "
        "info = coalesce(excluded.info, models.info)",
        [model.key, model.name, model.backend, model.path, model.sha256, model.size_bytes,
         model.architecture, model.quantization, model.parameters, model.chat_format,
         model.n_ctx_train, json.dumps(model.extra) if model.extra else None, stamp, stamp])


def upsert_catalog(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    con.execute(
        "INSERT INTO catalogs VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        [catalog.content_hash, catalog.name, catalog.version, catalog.source, catalog.text,
         now()])


def _free_session_id(con: duckdb.DuckDBPyConnection) -> str:
    # 32 hex digits (8 before): other raters' files merged in must not clash (store.ids)
    while True:
        session_id = new_id()
        if not con.execute("SELECT 1 FROM sessions WHERE id = ?", [session_id]).fetchone():
            return session_id


# --- generations ------------------------------------------------------------------------

def start_generation(con: duckdb.DuckDBPyConnection, session_id: str, task: Task,
                     request: ChatRequest, gen_id: str) -> None:
    system = next((m["content"] for m in request.messages if m["role"] == "system"), None)
    row = con.execute(
        "SELECT coalesce(max(attempt), 0) FROM generations "
        "WHERE session_id = ? AND task_key = ?", [session_id, task.key]).fetchone()
    stamp = now()
    con.execute(
        "INSERT INTO generations (id, session_id, task_key, task_title, is_warmup, "
        "attempt, system, prompt, sampling, response, status, started_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', 'running', ?, ?)",
        [gen_id, session_id, task.key, task.title, task.is_warmup,
         (row[0] if row else 0) + 1, system, task.prompt,
         json.dumps(request.sampling.as_dict()), stamp, stamp])
    con.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", [stamp, session_id])


def checkpoint_generation(con: duckdb.DuckDBPyConnection, gen_id: str, response: str,
                          reasoning: str = "") -> None:
    con.execute("UPDATE generations SET response = ?, reasoning = ?, updated_at = ? "
                "WHERE id = ? AND status = 'running'",
                [response, reasoning or None, now(), gen_id])


def finish_generation(con: duckdb.DuckDBPyConnection, gen_id: str, response: str,
                      finish_reason: str | None, status: str, error: str | None,
                      figures: Figures, extra: dict[str, Any] | None,
                      checks: Sequence[CheckResult] | None, reasoning: str = "",
                      thinking: str | None = None) -> None:
    f = figures
    passed = None if checks is None else sum(1 for c in checks if c.passed)
    con.execute(
        "UPDATE generations SET response = ?, reasoning = ?, finish_reason = ?, status = ?, "
        "error = ?, ttft_s = ?, total_s = ?, prompt_tokens = ?, completion_tokens = ?, "
        "prompt_tps = ?, decode_tps = ?, e2e_tps = ?, engine_prompt_tps = ?, "
        "engine_decode_tps = ?, prompt_tiktoken = ?, completion_tiktoken = ?, "
        "tokens_estimated = ?, answer_ttft_s = ?, reasoning_tokens = ?, reasoning_s = ?, "
        "prompt_eval_tokens = ?, prompt_cached_tokens = ?, thinking = ?, checks = ?, "
        "checks_passed = ?, checks_total = ?, extra = ?, finished_at = ?, updated_at = ? "
        "WHERE id = ?",
        [response, reasoning or None, finish_reason, status, error, f.ttft_s, f.total_s,
         f.prompt_tokens, f.completion_tokens, f.prompt_tps, f.decode_tps, f.e2e_tps,
         f.engine_prompt_tps, f.engine_decode_tps, f.prompt_tiktoken, f.completion_tiktoken,
         f.tokens_estimated, f.answer_ttft_s, f.reasoning_tokens, f.reasoning_s,
         f.prompt_eval_tokens, f.prompt_cached_tokens, thinking,
         None if checks is None else checks_to_json(checks), passed,
         None if checks is None else len(checks), json.dumps(extra) if extra else None,
         now(), now(), gen_id])


def recover_interrupted(con: duckdb.DuckDBPyConnection) -> int:
    host = socket.gethostname()
    rows = con.execute(
        "SELECT g.id, s.pid, s.host FROM generations g "
        "JOIN sessions s ON s.id = g.session_id WHERE g.status = 'running'").fetchall()
    dead = [gid for gid, pid, ghost in rows if pid is None or ghost != host or not alive(pid)]
    for gid in dead:
        con.execute(
            "UPDATE generations SET status = 'interrupted', finish_reason = NULL, "
            "updated_at = ? WHERE id = ?", [now(), gid])
    return len(dead)


def record_load_failure(con: duckdb.DuckDBPyConnection, failure_id: str, model: str,
                        backend: str, error: str, origin: str, catalog_name: str | None,
                        session_id: str | None) -> None:
    con.execute(
        "INSERT INTO load_failures (id, failed_at, origin, backend, model, catalog_name, "
        "session_id, error, host) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [failure_id, now(), origin, backend, model, catalog_name, session_id, error,
         socket.gethostname()])


def _source_files(settings: dict[str, Any]) -> list[tuple[str, str]]:
    files = settings.get("import", {}).get("files") or []
    return sorted((f.get("name", ""), f.get("sha256", "")) for f in files)


def imported_before(con: duckdb.DuckDBPyConnection, imported: ImportedSession) -> str | None:
    """The session the same sources became: the same files (names and bytes) and model.
    The bytes alone are not enough: two runs' CSVs may have the same votes and remarks.
    Sessions imported before the model counted stored the same fields, so they match too."""
    rows = con.execute(
        "SELECT id, model_id, settings FROM sessions WHERE origin = 'import' AND "
        "json_extract_string(settings, '$.import.sha256') = ? ORDER BY created_at, id",
        [imported.source_hash]).fetchall()
    files = _source_files(imported.settings)
    return next((session_id for session_id, model_id, settings in rows
                 if model_id == imported.model.key
                 and _source_files(json.loads(settings or "{}")) == files), None)


def import_session(con: duckdb.DuckDBPyConnection,
                   imported: ImportedSession) -> tuple[str, bool]:
    if found := imported_before(con, imported):
        return found, False
    upsert_model(con, imported.model)
    upsert_catalog(con, imported.catalog)
    session_id = _free_session_id(con)
    gens = imported.generations
    finished = max((g.finished_at for g in gens), default=imported.created_at)
    rater = imported.rater or default_rater()
    con.execute(
        "INSERT INTO sessions (id, model_id, catalog_id, catalog_name, n_tasks, backend,"
        " settings, rater, status, origin, note, created_at, updated_at, finished_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'complete', 'import', ?, ?, ?, ?)",
        [session_id, imported.model.key, imported.catalog.content_hash,
         imported.catalog.name, len(imported.catalog.tasks), imported.model.backend,
         json.dumps(imported.settings), rater, imported.note, imported.created_at,
         now(), finished])
    for gen in gens:
        gen_id = new_id()
        f = gen.figures
        con.execute(
            "INSERT INTO generations (id, session_id, task_key, task_title, is_warmup, "
            "attempt, prompt, sampling, response, status, ttft_s, total_s, "
            "prompt_tokens, completion_tokens, prompt_tps, decode_tps, e2e_tps, "
            "engine_prompt_tps, engine_decode_tps, prompt_tiktoken, "
            "completion_tiktoken, tokens_estimated, extra, started_at, finished_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
            "?, ?, ?, ?, ?, ?, ?, ?)",
            [gen_id, session_id, gen.key, gen.title, gen.is_warmup, gen.attempt,
             gen.prompt, json.dumps(gen.sampling) if gen.sampling else None,
             gen.response, gen.status, f.ttft_s, f.total_s, f.prompt_tokens,
             f.completion_tokens, f.prompt_tps, f.decode_tps, f.e2e_tps,
             f.engine_prompt_tps, f.engine_decode_tps, f.prompt_tiktoken,
             f.completion_tiktoken, f.tokens_estimated,
             json.dumps(gen.extra) if gen.extra else None, gen.started_at,
             gen.finished_at, gen.finished_at])
        if gen.score is not None:
            rated = RatedGeneration(session_id, gen.key, gen.is_warmup, imported.model.key,
                                    imported.catalog.name, f.ttft_s, f.prompt_tps,
                                    f.decode_tps)
            insert_rating(con, new_id(), gen_id, gen.score, gen.remarks, rater,
                          gen.finished_at, rated)
    return session_id, True


# --- ratings ----------------------------------------------------------------------------

# A rating's answer, as insert_rating needs it (RatedGeneration), then its session's
# origin, n_tasks and status (refresh_session_status).
RATED_GENERATION = """
    SELECT g.session_id, g.task_key, g.is_warmup, s.model_id, s.catalog_name, g.ttft_s,
           g.prompt_tps, g.decode_tps, g.checks_passed, g.checks_total, g.reasoning_s,
           s.origin, s.n_tasks, s.status
    FROM generations g JOIN sessions s ON s.id = g.session_id WHERE g.id = ?
"""

# The counted rows of a model, catalog and task (all raters, and one per rater): found by a
# scan (DuckDB uses an index only for a lone single-column filter), then replaced by rowid.
# Deleted and inserted rather than updated: an update of a VARCHAR column makes the next
# checkpoint rewrite that column of the row group (~100 ms for a million ratings' table,
# paid on every close of a short-lived connection); DuckDB's ON CONFLICT DO UPDATE too.
COUNTED_ROWS = """
    SELECT rowid, all_raters, rater, rated_at, rating_id FROM counted
    WHERE model_id = ? AND catalog_name = ? AND task_key = ?
"""
UNCOUNT = "DELETE FROM counted WHERE rowid IN ({})"  # one ? per row
COUNT_RATING = "INSERT INTO counted VALUES {}"  # one row of 16 ? per counted row
COUNTED_ROW = "(" + ", ".join("?" * 16) + ")"


@dataclass(frozen=True)
class RatedGeneration:
    """What a rating needs to know of the answer it rates (RATED_GENERATION)."""

    session_id: str
    task_key: str
    is_warmup: bool
    model_id: str
    catalog_name: str
    ttft_s: float | None
    prompt_tps: float | None
    decode_tps: float | None
    checks_passed: int | None = None
    checks_total: int | None = None
    reasoning_s: float | None = None


def rate(con: duckdb.DuckDBPyConnection, rating_id: str, generation_id: str, score: int,
         remarks: str, rater: str, blind: bool = False) -> str:
    row = con.execute(RATED_GENERATION, [generation_id]).fetchone()
    if not row:
        raise NotFoundError(f"no generation {generation_id}")
    rated = RatedGeneration(*row[:11])
    insert_rating(con, rating_id, generation_id, score, remarks, rater, now(), rated, blind)
    refresh_session_status(con, rated.session_id, now(), session=row[11:])
    return rating_id


def insert_rating(con: duckdb.DuckDBPyConnection, rating_id: str, generation_id: str,
                  score: int, remarks: str, rater: str | None, stamp: datetime,
                  rated: RatedGeneration, blind: bool = False) -> None:
    """Every rating is written here: with it, the counted rating of its model and task
    (schema.COUNTED_FILL) moves to it if it is the latest, for all raters and for its rater.
    `blind`: given without the model's name or speed in view (blind rating)."""
    con.execute(
        "INSERT INTO ratings (id, generation_id, score, remarks, rater, created_at, blind) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        [rating_id, generation_id, score, remarks, rater, stamp, blind])
    if rated.is_warmup or ":" in rated.task_key:
        return
    # The latest rating counts (created_at, then id: the order of COUNTED_FILL).
    rows = con.execute(COUNTED_ROWS,
                       [rated.model_id, rated.catalog_name, rated.task_key]).fetchall()
    found = {(all_raters, who): (rowid, (at, rid))
             for rowid, all_raters, who, at, rid in rows}
    slots = [slot for slot in ((True, ""), (False, rater or ""))
             if slot not in found or (stamp, rating_id) > found[slot][1]]
    if stale := [found[slot][0] for slot in slots if slot in found]:
        con.execute(UNCOUNT.format(", ".join("?" * len(stale))), stale)
    if slots:
        con.execute(COUNT_RATING.format(", ".join([COUNTED_ROW] * len(slots))),
                    [value for slot in slots for value in (
                        rated.model_id, rated.catalog_name, rated.task_key, *slot, rating_id,
                        generation_id, rated.session_id, score, stamp, rated.ttft_s,
                        rated.prompt_tps, rated.decode_tps, rated.checks_passed,
                        rated.checks_total, rated.reasoning_s)])


def refresh_session_status(con: duckdb.DuckDBPyConnection, session_id: str,
                           stamp: datetime, session: tuple[str, int, str] | None = None,
                           ) -> None:
    """A session is complete once every rated task of its catalog has a rating.
    `session`: its (origin, n_tasks, status), when the caller has them.

    Reads only the session's own rows, through the indexes on generations(session_id) and
    ratings(generation_id): a window over every rating took ~50 ms at a million."""
    row = session or con.execute("SELECT origin, n_tasks, status FROM sessions WHERE id = ?",
                                 [session_id]).fetchone()
    if row is None:
        return
    origin, n_tasks, status = row
    if status == "complete":  # ratings are never removed: it stays complete
        con.execute("UPDATE sessions SET updated_at = ? WHERE id = ?", [stamp, session_id])
        return
    # DuckDB uses an index only for a lone filter on its column: the rest is done here.
    task_of = {gen_id: key for gen_id, key, warmup in con.execute(
        "SELECT id, task_key, is_warmup FROM generations WHERE session_id = ?",
        [session_id]).fetchall() if not warmup}
    rated = 0
    # Fewer tasks answered than the catalog has: it cannot be complete, skip the ratings.
    if task_of and len(set(task_of.values())) >= n_tasks:
        ids = list(task_of)
        # A literal IN list: DuckDB answers it from the index, a join would scan ratings.
        found = con.execute(
            "SELECT generation_id FROM ratings WHERE generation_id IN "
            f"({', '.join('?' * len(ids))})", ids).fetchall()
        rated = len({task_of[gen_id] for (gen_id,) in found})
    # An imported session is a finished run of the old scripts: nothing can be generated
    # into it, so it stays complete whatever is rated later.
    complete = origin == "import" or rated >= n_tasks
    con.execute(
        "UPDATE sessions SET status = ?, updated_at = ?, "
        "finished_at = CASE WHEN ? THEN coalesce(finished_at, ?) END WHERE id = ?",
        ["complete" if complete else "open", stamp, complete, stamp, session_id])


def rebuild_counted(con: duckdb.DuckDBPyConnection) -> None:
    """Recompute the counted ratings from all ratings (kept up to date by insert_rating;
    this is for checks and for rows written around it: a merge, a benchmark's bulk load)."""
    con.execute("DELETE FROM counted")
    con.execute(COUNTED_FILL)


# --- votes ------------------------------------------------------------------------------

# Both answers of a vote, by id (a literal IN list: answered from the primary key index).
VOTED_ANSWERS = """
    SELECT g.id, g.session_id, g.task_key, g.is_warmup, g.status FROM generations g
    WHERE g.id IN (?, ?)
"""


def check_verdict(verdict: object) -> None:
    if verdict not in VERDICTS:
        raise UsageError(f"verdict {verdict!r} is not one of {', '.join(VERDICTS)}")


def record_vote(con: duckdb.DuckDBPyConnection, vote_id: str, left_id: str, right_id: str,
                verdict: str, remarks: str, rater: str) -> str:
    """One battle's verdict, refused in one line unless both answers exist, are finished
    and answer the same task of the same catalog from two different models."""
    rows = con.execute(VOTED_ANSWERS, [left_id, right_id]).fetchall()
    found = {row[0]: row[1:] for row in rows}
    for gen_id in (left_id, right_id):
        if gen_id not in found:
            raise NotFoundError(f"no answer {gen_id}: it was deleted or never existed; "
                                "vote on answers listed by `rbyf export`")
    sessions = {row[0]: row[1:] for row in con.execute(
        "SELECT id, catalog_name, model_id FROM sessions WHERE id IN (?, ?)",
        [found[left_id][0], found[right_id][0]]).fetchall()}
    (left_session, left_task, left_warmup, left_status) = found[left_id]
    (right_session, right_task, right_warmup, right_status) = found[right_id]
    left_catalog, left_model = sessions[left_session]
    right_catalog, right_model = sessions[right_session]
    for gen_id, warmup, status in ((left_id, left_warmup, left_status),
                                   (right_id, right_warmup, right_status)):
        if warmup or ":" in found[gen_id][1]:
            raise UsageError(f"answer {gen_id} is the warm-up: battles are between answers "
                             "to the catalog's tasks")
        if status not in FINISHED:
            raise UsageError(f"answer {gen_id} ended with status {status}: regenerate it "
                             "before voting on it")
    if left_catalog != right_catalog:
        raise UsageError(f"answers {left_id} and {right_id} are from different catalogs "
                         f"({left_catalog}, {right_catalog}): a battle stays in one catalog")
    if left_task != right_task:
        raise UsageError(f"answers {left_id} and {right_id} answer different tasks "
                         f"({left_task}, {right_task}): a battle is one task's two answers")
    if left_model == right_model:
        raise UsageError(f"answers {left_id} and {right_id} are from the same model: a "
                         "battle is between two models")
    con.execute(
        "INSERT INTO votes (id, catalog_name, task_key, left_generation_id, "
        "right_generation_id, left_model_id, right_model_id, verdict, remarks, rater, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [vote_id, left_catalog, left_task, left_id, right_id, left_model, right_model,
         verdict, remarks or None, rater, now()])
    return vote_id

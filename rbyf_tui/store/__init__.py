"""The DuckDB store: models, catalogs, sessions, generations and ratings.

Every write is its own short transaction, committed before the caller moves on.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from rbyf_tui.backends.base import ChatRequest, ModelInfo
from rbyf_tui.catalog import Catalog, Task
from rbyf_tui.checks import CheckResult
from rbyf_tui.checks import to_json as checks_to_json
from rbyf_tui.errors import NotFoundError, UsageError
from rbyf_tui.metrics import Figures
from rbyf_tui.store import queries
from rbyf_tui.store.db import Database

FINISHED = ("ok", "cancelled")  # statuses whose answer can be rated


def now() -> datetime:
    """UTC, without tzinfo: DuckDB TIMESTAMP columns hold UTC throughout."""
    return datetime.now(UTC).replace(tzinfo=None)


def default_rater() -> str:
    try:
        return os.environ.get("RBYF_RATER") or getpass.getuser()
    except (KeyError, OSError):
        return "me"


def new_id(length: int = 32) -> str:
    return uuid.uuid4().hex[:length]


@dataclass
class ImportedGeneration:
    """A finished generation from elsewhere (e.g. the old scripts' logs), maybe rated."""

    key: str
    title: str
    is_warmup: bool
    attempt: int
    prompt: str
    response: str
    sampling: dict[str, Any] | None
    figures: Figures
    extra: dict[str, Any] | None
    started_at: datetime
    finished_at: datetime
    score: int | None = None
    remarks: str = ""
    status: str = "ok"


@dataclass
class ImportedSession:
    model: ModelInfo
    catalog: Catalog
    source_hash: str  # identifies the source files: importing them again changes nothing
    settings: dict[str, Any]
    note: str
    rater: str | None
    created_at: datetime
    generations: list[ImportedGeneration]


@dataclass(frozen=True)
class SessionRef:
    id: str
    model_id: str
    model_name: str
    catalog_id: str
    catalog_name: str
    status: str
    settings: dict[str, Any]
    rater: str | None


class Store:
    """keep_open: hold the file open between operations while this process works with it
    (the app), letting go when another rbyf process asks or when idle (see store.db)."""

    def __init__(self, path: Path, *, read_only: bool = False, wait_s: float | None = None,
                 keep_open: bool = False):
        kwargs = {"wait_s": wait_s} if wait_s is not None else {}
        self.db = Database(path, read_only=read_only, keep_open=keep_open, **kwargs)

    @property
    def path(self) -> Path:
        return self.db.path

    def close(self) -> None:
        """Let go of a held connection now (it is also let go at exit)."""
        self.db.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- models, catalogs, sessions -----------------------------------------------------

    def create_session(self, model: ModelInfo, catalog: Catalog, *, settings: dict[str, Any],
                       hardware: dict[str, Any], rater: str, origin: str) -> str:
        def write(con: duckdb.DuckDBPyConnection) -> str:
            upsert_model(con, model)
            upsert_catalog(con, catalog)
            session_id = _free_session_id(con)
            stamp = now()
            con.execute(
                "INSERT INTO sessions (id, model_id, catalog_id, catalog_name, n_tasks, backend,"
                " settings, hardware, rater, status, origin, pid, host, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?, ?, ?, ?)",
                [session_id, model.key, catalog.content_hash, catalog.name, len(catalog.tasks),
                 model.backend, json.dumps(settings), json.dumps(hardware), rater, origin,
                 os.getpid(), socket.gethostname(), stamp, stamp],
            )
            return session_id

        return self.db.write(write)

    def claim_session(self, session_id: str) -> None:
        """Mark this process as the one generating into the session."""
        self.db.write(lambda con: con.execute(
            "UPDATE sessions SET pid = ?, host = ?, updated_at = ? WHERE id = ?",
            [os.getpid(), socket.gethostname(), now(), session_id]))

    def release_session(self, session_id: str) -> None:
        self.db.write(lambda con: con.execute(
            "UPDATE sessions SET pid = NULL, updated_at = ? WHERE id = ? AND pid = ?",
            [now(), session_id, os.getpid()]))

    def find_session(self, prefix: str) -> SessionRef:
        """A session by id or unique id prefix."""
        prefix = prefix.strip().lower()
        if not prefix:
            raise UsageError("empty session id: see `rbyf sessions` for the ids")
        rows = self.db.read(lambda con: con.execute(
            "SELECT s.id, s.model_id, m.name, s.catalog_id, s.catalog_name, s.status, "
            "s.settings, s.rater FROM sessions s JOIN models m ON m.id = s.model_id "
            "WHERE starts_with(s.id, ?) ORDER BY s.id LIMIT 5", [prefix]).fetchall())
        if not rows:
            raise NotFoundError(f"no session '{prefix}' in {self.path}: see `rbyf sessions`")
        if len(rows) > 1:
            ids = ", ".join(r[0] for r in rows)
            raise UsageError(f"session id '{prefix}' is ambiguous ({ids}): type more of it")
        r = rows[0]
        return SessionRef(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6] or "{}"), r[7])

    def session_catalog(self, session: SessionRef) -> Catalog:
        """The catalog exactly as the session started with it."""
        from rbyf_tui.catalog import parse

        row = self.db.read(lambda con: con.execute(
            "SELECT content, source FROM catalogs WHERE id = ?", [session.catalog_id]).fetchone())
        if not row:
            raise NotFoundError(f"the catalog of session {session.id} is missing from the DB")
        return parse(row[0], row[1] or session.catalog_name)

    # --- generations --------------------------------------------------------------------

    def start_generation(self, session_id: str, task: Task, request: ChatRequest,
                         gen_id: str | None = None) -> str:
        gen_id = gen_id or new_id()
        system = next((m["content"] for m in request.messages if m["role"] == "system"), None)

        def write(con: duckdb.DuckDBPyConnection) -> None:
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

        self.db.write(write)
        return gen_id

    def checkpoint_generation(self, gen_id: str, response: str) -> None:
        self.db.write(lambda con: con.execute(
            "UPDATE generations SET response = ?, updated_at = ? WHERE id = ? "
            "AND status = 'running'", [response, now(), gen_id]))

    def finish_generation(self, gen_id: str, *, response: str, finish_reason: str | None,
                          status: str, error: str | None, figures: Figures,
                          extra: dict[str, Any] | None = None,
                          checks: Sequence[CheckResult] | None = None) -> None:
        """The answer's end. `checks`: the results of the task's automatic checks, None
        when it declares none (or the answer failed)."""
        f = figures
        passed = None if checks is None else sum(1 for c in checks if c.passed)
        self.db.write(lambda con: con.execute(
            "UPDATE generations SET response = ?, finish_reason = ?, status = ?, error = ?, "
            "ttft_s = ?, total_s = ?, prompt_tokens = ?, completion_tokens = ?, "
            "prompt_tps = ?, decode_tps = ?, e2e_tps = ?, engine_prompt_tps = ?, "
            "engine_decode_tps = ?, prompt_tiktoken = ?, completion_tiktoken = ?, "
            "tokens_estimated = ?, checks = ?, checks_passed = ?, checks_total = ?, "
            "extra = ?, finished_at = ?, updated_at = ? WHERE id = ?",
            [response, finish_reason, status, error, f.ttft_s, f.total_s, f.prompt_tokens,
             f.completion_tokens, f.prompt_tps, f.decode_tps, f.e2e_tps, f.engine_prompt_tps,
             f.engine_decode_tps, f.prompt_tiktoken, f.completion_tiktoken,
             f.tokens_estimated, None if checks is None else checks_to_json(checks), passed,
             None if checks is None else len(checks), json.dumps(extra) if extra else None,
             now(), now(), gen_id]))

    def recover_interrupted(self) -> int:
        """Mark 'running' generations of dead processes as interrupted (text kept)."""
        host = socket.gethostname()

        def write(con: duckdb.DuckDBPyConnection) -> int:
            rows = con.execute(
                "SELECT g.id, s.pid, s.host FROM generations g "
                "JOIN sessions s ON s.id = g.session_id WHERE g.status = 'running'").fetchall()
            dead = [gid for gid, pid, ghost in rows
                    if pid is None or ghost != host or not _alive(pid)]
            for gid in dead:
                con.execute(
                    "UPDATE generations SET status = 'interrupted', finish_reason = NULL, "
                    "updated_at = ? WHERE id = ?", [now(), gid])
            return len(dead)

        return self.db.write(write)

    def record_load_failure(self, *, model: str, backend: str, error: str, origin: str,
                            catalog_name: str | None = None,
                            session_id: str | None = None) -> str:
        """A model that would not load, kept so the person can see later what went wrong."""
        failure_id = new_id()
        self.db.write(lambda con: con.execute(
            "INSERT INTO load_failures (id, failed_at, origin, backend, model, catalog_name, "
            "session_id, error, host) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [failure_id, now(), origin, backend, model, catalog_name, session_id, error,
             socket.gethostname()]))
        return failure_id

    def import_session(self, imported: ImportedSession) -> tuple[str, bool]:
        """Store a finished session in one transaction: (session id, True), or the id of
        the session these sources became before and False, touching nothing."""

        def write(con: duckdb.DuckDBPyConnection) -> tuple[str, bool]:
            row = con.execute(
                "SELECT id FROM sessions WHERE origin = 'import' AND "
                "json_extract_string(settings, '$.import.sha256') = ?",
                [imported.source_hash]).fetchone()
            if row:
                return row[0], False
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
                    rated = RatedGeneration(session_id, gen.key, gen.is_warmup,
                                            imported.model.key, imported.catalog.name, f.ttft_s,
                                            f.prompt_tps, f.decode_tps)
                    insert_rating(con, new_id(), gen_id, gen.score, gen.remarks, rater,
                                  gen.finished_at, rated)
            return session_id, True

        return self.db.write(write)

    # --- ratings ------------------------------------------------------------------------

    def rate(self, generation_id: str, score: int, remarks: str = "",
             rater: str | None = None) -> str:
        if not isinstance(score, int) or isinstance(score, bool) or not 0 <= score <= 5:
            raise UsageError(f"score {score!r} is not a whole number from 0 to 5")
        rating_id = new_id()

        def write(con: duckdb.DuckDBPyConnection) -> str:
            row = con.execute(queries.RATED_GENERATION, [generation_id]).fetchone()
            if not row:
                raise NotFoundError(f"no generation {generation_id}")
            rated = RatedGeneration(*row[:10])
            insert_rating(con, rating_id, generation_id, score, remarks,
                          rater or default_rater(), now(), rated)
            queries.refresh_session_status(con, rated.session_id, now(), session=row[10:])
            return rating_id

        return self.db.write(write)

    # --- reads --------------------------------------------------------------------------

    def sessions(self) -> list[dict[str, Any]]:
        """Every session, newest first; `running` when a live process generates into it."""
        rows = self.db.read(queries.sessions)
        host = socket.gethostname()
        for row in rows:
            pid = row.pop("pid")
            row["running"] = bool(pid) and row.pop("host") == host and _alive(pid)
            row["pid"] = pid if row["running"] else None
            row.pop("host", None)
        return rows

    def load_failures(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Failed model loads, newest first; `loaded_since` once the same model file (or the
        resumed session) loaded after it."""
        return self.db.read(queries.load_failures, limit)

    def task_states(self, session_id: str) -> dict[str, dict[str, Any]]:
        """Per task key: its latest generation and the counted rating, if any."""
        return self.db.read(queries.task_states, session_id)

    def latest_generation(self, session_id: str, task_key: str) -> dict[str, Any] | None:
        return self.task_states(session_id).get(task_key)

    def generation(self, gen_id: str) -> dict[str, Any]:
        row = self.db.read(queries.generation, gen_id)
        if row is None:
            raise NotFoundError(f"no generation {gen_id}")
        return row

    def leaderboard(self, catalog: str | None = None,
                    rater: str | None = None) -> list[dict[str, Any]]:
        return self.db.read(queries.leaderboard, catalog, rater)

    def latest_catalog(self, name: str) -> Catalog | None:
        """The newest stored version of a catalog, as sessions used it."""
        from rbyf_tui.catalog import parse

        row = self.db.read(queries.latest_catalog, name)
        return parse(row[0], row[1] or name) if row else None

    def matrix_cells(self, catalog: str, rater: str | None = None,
                     ) -> tuple[list[tuple[str, str, int, str]], dict[str, str]]:
        return self.db.read(queries.matrix_cells, catalog, rater)

    def task_titles(self, catalog: str, keys: Sequence[str]) -> dict[str, str]:
        return self.db.read(queries.task_titles, catalog, keys)

    def models_named(self, names: Sequence[str]) -> list[tuple[str, str]]:
        return self.db.read(queries.models_named, names)

    def raters(self) -> list[str]:
        return self.db.read(queries.raters)

    def recent_models(self, limit: int = 20) -> list[dict[str, Any]]:
        return self.db.read(queries.recent_models, limit)

    def compare_answers(self, catalog: str, model_ids: Sequence[str],
                        rater: str | None = None) -> list[dict[str, Any]]:
        return self.db.read(queries.compare_answers, catalog, model_ids, rater)

    def answer(self, generation_id: str, rater: str | None = None) -> dict[str, Any]:
        row = self.db.read(queries.answer, generation_id, rater)
        if row is None:
            raise NotFoundError(f"no generation {generation_id} in {self.path}")
        return row

    def rebuild_counted(self) -> None:
        """Recompute the counted ratings from all ratings (they are kept up to date as
        ratings are written; this is for checks and for data written around the Store)."""
        self.db.write(queries.rebuild_counted)

    def export_rows(self, session_ids: Sequence[str] | None) -> list[dict[str, Any]]:
        return self.db.read(queries.export_rows, session_ids)

    def export_parquet(self, session_ids: Sequence[str] | None, target: Path) -> None:
        self.db.read(queries.copy_export, session_ids, str(target), "PARQUET")


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


@dataclass(frozen=True)
class RatedGeneration:
    """What a rating needs to know of the answer it rates (queries.RATED_GENERATION)."""

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


def insert_rating(con: duckdb.DuckDBPyConnection, rating_id: str, generation_id: str,
                  score: int, remarks: str, rater: str | None, stamp: datetime,
                  rated: RatedGeneration) -> None:
    """Every rating is written here: with it, the counted rating of its model and task
    (schema.COUNTED_FILL) moves to it if it is the latest, for all raters and for its rater."""
    con.execute(
        "INSERT INTO ratings (id, generation_id, score, remarks, rater, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)", [rating_id, generation_id, score, remarks, rater, stamp])
    if rated.is_warmup or ":" in rated.task_key:
        return
    # The latest rating counts (created_at, then id: the order of COUNTED_FILL).
    rows = con.execute(queries.COUNTED_ROWS,
                       [rated.model_id, rated.catalog_name, rated.task_key]).fetchall()
    found = {(all_raters, who): (rowid, (at, rid))
             for rowid, all_raters, who, at, rid in rows}
    slots = [slot for slot in ((True, ""), (False, rater or ""))
             if slot not in found or (stamp, rating_id) > found[slot][1]]
    if stale := [found[slot][0] for slot in slots if slot in found]:
        con.execute(queries.UNCOUNT.format(", ".join("?" * len(stale))), stale)
    if slots:
        con.execute(queries.COUNT_RATING.format(", ".join([queries.COUNTED_ROW] * len(slots))),
                    [value for slot in slots for value in (
                        rated.model_id, rated.catalog_name, rated.task_key, *slot, rating_id,
                        generation_id, rated.session_id, score, stamp, rated.ttft_s,
                        rated.prompt_tps, rated.decode_tps, rated.checks_passed,
                        rated.checks_total)])


def upsert_catalog(con: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    con.execute(
        "INSERT INTO catalogs VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
        [catalog.content_hash, catalog.name, catalog.version, catalog.source, catalog.text,
         now()])


def _free_session_id(con: duckdb.DuckDBPyConnection) -> str:
    while True:
        session_id = new_id(8)
        if not con.execute("SELECT 1 FROM sessions WHERE id = ?", [session_id]).fetchone():
            return session_id


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

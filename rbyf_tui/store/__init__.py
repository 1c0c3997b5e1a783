"""The DuckDB store: models, catalogs, sessions, generations and ratings.

`Store` is the face the rest of rbyf uses; the SQL lives in reads.py and writes.py, the
records it hands out in records.py, the schema in schema.py, the file handling in db.py.
Every write is its own short transaction, committed before the caller moves on.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rbyf_tui.backends.base import ChatRequest, ModelInfo
from rbyf_tui.catalog import Catalog, Task
from rbyf_tui.checks import CheckResult
from rbyf_tui.errors import NotFoundError, UsageError
from rbyf_tui.metrics import Figures
from rbyf_tui.store import blind, comparisons, ids, reads, writes
from rbyf_tui.store.db import Database
from rbyf_tui.store.records import (
    FINISHED,
    BattleAnswer,
    ComparisonMember,
    ComparisonRow,
    ImportedGeneration,
    ImportedSession,
    LoadFailure,
    ModelUsage,
    PairVotes,
    RaterScore,
    SessionRef,
    SessionRow,
    TaskState,
    Vote,
)
from rbyf_tui.store.writes import default_rater, new_id, now

__all__ = [
    "FINISHED", "BattleAnswer", "ComparisonMember", "ComparisonRow", "ImportedGeneration",
    "ImportedSession", "LoadFailure", "ModelUsage", "PairVotes", "RaterScore",
    "SessionRef", "SessionRow", "Store", "TaskState", "Vote", "default_rater", "new_id", "now",
]


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

    def ensure_ready(self) -> None:
        """Check the schema now (once per process): create, migrate, or refuse a newer one
        or a file that is not an rbyf database, in one line."""
        self.db.ensure_ready()

    def close(self) -> None:
        """Let go of the held connection once the operations using it end (it is also let
        go at exit)."""
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- models, catalogs, sessions -----------------------------------------------------

    def create_session(self, model: ModelInfo, catalog: Catalog, *, settings: dict[str, Any],
                       hardware: dict[str, Any], rater: str, origin: str,
                       comparison: tuple[str, int] | None = None) -> str:
        """comparison: (comparison id, the model's position in it), for a comparison's."""
        return self.db.write(writes.create_session, model, catalog, settings, hardware, rater,
                             origin, comparison)

    # --- comparisons --------------------------------------------------------------------

    def create_comparison(self, catalog: Catalog, *, seed: int, settings: dict[str, Any],
                          origin: str) -> str:
        comparison_id = writes.new_id()
        self.db.write(writes.create_comparison, comparison_id, catalog, seed, settings, origin)
        return comparison_id

    def find_comparison(self, prefix: str) -> ComparisonRow | None:
        """A comparison by id or unique id prefix; None when no comparison has it."""
        prefix = prefix.strip().lower()
        found = self.db.read(comparisons.ids_with_prefix, prefix) if prefix else []
        if not found:
            return None
        if len(found) > 1 and found[0] != prefix:
            raise UsageError(f"comparison id '{prefix}' is ambiguous ({', '.join(found)}): "
                             "type more of it")
        return self.comparison(found[0])

    def comparison(self, comparison_id: str) -> ComparisonRow:
        row = self.db.read(comparisons.comparison, comparison_id)
        if row is None:
            raise NotFoundError(f"no comparison '{comparison_id}' in {self.path}: see "
                                "`rbyf sessions`")
        return row

    def comparisons(self, unfinished: bool = False) -> list[ComparisonRow]:
        """Every comparison, newest first; unfinished: those with a session not complete
        (or a model not started)."""
        rows = self.db.read(comparisons.comparisons)
        return [r for r in rows if not r.finished] if unfinished else rows

    def comparison_catalog(self, comparison: ComparisonRow) -> Catalog:
        """The catalog exactly as the comparison began with it."""
        from rbyf_tui.catalog import parse

        row = self.db.read(reads.catalog_source, comparison.catalog_id)
        if not row:
            raise NotFoundError(f"the catalog of comparison {comparison.id} is missing from "
                                "the DB")
        return parse(row[0], row[1] or comparison.catalog_name)

    def claim_session(self, session_id: str) -> None:
        """Mark this process as the one generating into the session."""
        self.db.write(writes.claim_session, session_id)

    def check_session_free(self, session_id: str) -> None:
        """SessionBusyError when another live process generates into the session."""
        self.db.read(writes.check_session_free, session_id)

    def release_session(self, session_id: str) -> None:
        self.db.write(writes.release_session, session_id)

    def find_session(self, prefix: str) -> SessionRef:
        """A session by id or unique id prefix; a whole id wins over a longer one that
        starts with it (an 8-digit id from before ids were long)."""
        prefix = prefix.strip().lower()
        if not prefix:
            raise UsageError("empty session id: see `rbyf sessions` for the ids")
        found = self.db.read(reads.sessions_with_prefix, prefix)
        if not found:
            raise NotFoundError(f"no session '{prefix}' in {self.path}: see `rbyf sessions`")
        found = [s for s in found if s.id == prefix] or found  # it sorts first when there
        if len(found) > 1:
            ids = ", ".join(s.id for s in found)
            raise UsageError(f"session id '{prefix}' is ambiguous ({ids}): type more of it")
        return found[0]

    def short_session_id(self, session_id: str) -> str:
        """The session's id as screens show it: its shortest unique prefix (store.ids)."""
        found = self.db.read(reads.session_ids_with_prefix, session_id[:ids.SHORT])
        return ids.short_ids([*found, session_id]).get(session_id, session_id)

    def session_catalog(self, session: SessionRef) -> Catalog:
        """The catalog exactly as the session started with it."""
        from rbyf_tui.catalog import parse

        row = self.db.read(reads.catalog_source, session.catalog_id)
        if not row:
            raise NotFoundError(f"the catalog of session {session.id} is missing from the DB")
        return parse(row[0], row[1] or session.catalog_name)

    # --- generations --------------------------------------------------------------------

    def start_generation(self, session_id: str, task: Task, request: ChatRequest,
                         gen_id: str | None = None) -> str:
        gen_id = gen_id or writes.new_id()
        self.db.write(writes.start_generation, session_id, task, request, gen_id)
        return gen_id

    def checkpoint_generation(self, gen_id: str, response: str, reasoning: str = "") -> None:
        self.db.write(writes.checkpoint_generation, gen_id, response, reasoning)

    def finish_generation(self, gen_id: str, *, response: str, finish_reason: str | None,
                          status: str, error: str | None, figures: Figures,
                          extra: dict[str, Any] | None = None,
                          checks: Sequence[CheckResult] | None = None, reasoning: str = "",
                          thinking: str | None = None) -> None:
        """The answer's end. `response` is the answer only, `reasoning` the thinking;
        `checks`: the results of the task's automatic checks, None when it declares none
        (or the answer failed); `thinking`: how the catalog's switch applied."""
        self.db.write(writes.finish_generation, gen_id, response, finish_reason, status,
                      error, figures, extra, checks, reasoning, thinking)

    def recover_interrupted(self) -> int:
        """Mark 'running' generations of dead processes as interrupted (text kept)."""
        return self.db.write(writes.recover_interrupted)

    def record_load_failure(self, *, model: str, backend: str, error: str, origin: str,
                            catalog_name: str | None = None,
                            session_id: str | None = None) -> str:
        """A model that would not load, kept so the person can see later what went wrong."""
        failure_id = writes.new_id()
        self.db.write(writes.record_load_failure, failure_id, model, backend, error, origin,
                      catalog_name, session_id)
        return failure_id

    def import_session(self, imported: ImportedSession) -> tuple[str, bool]:
        """Store a finished session in one transaction: (session id, True), or the id of
        the session these sources became before and False, touching nothing."""
        return self.db.write(writes.import_session, imported)

    # --- ratings ------------------------------------------------------------------------

    def rate(self, generation_id: str, score: int, remarks: str = "",
             rater: str | None = None, *, blind: bool = False) -> str:
        writes.check_score(score)
        return self.db.write(writes.rate, writes.new_id(), generation_id, score, remarks,
                             rater or default_rater(), blind)

    def rebuild_counted(self) -> None:
        """Recompute the counted ratings from all ratings (they are kept up to date as
        ratings are written; this is for checks and for data written around the Store)."""
        self.db.write(writes.rebuild_counted)

    # --- votes --------------------------------------------------------------------------

    def record_vote(self, left_generation_id: str, right_generation_id: str, verdict: str,
                    remarks: str = "", rater: str | None = None) -> str:
        """One pairwise battle's verdict (records.VERDICTS), committed before it returns;
        the new vote's id. Refused in one line: an unknown or unfinished answer, answers to
        different tasks or catalogs, two answers of one model, the warm-up."""
        writes.check_verdict(verdict)
        return self.db.write(writes.record_vote, writes.new_id(), left_generation_id,
                             right_generation_id, verdict, remarks, rater or default_rater())

    def find_generation(self, prefix: str) -> str:
        """A generation's id from the id or a unique prefix of it."""
        prefix = prefix.strip().lower()
        if not prefix:
            raise UsageError("empty answer id: see `rbyf export` for the ids")
        found = self.db.read(reads.generation_ids_with_prefix, prefix)
        if not found:
            raise NotFoundError(f"no answer {prefix} in {self.path}: it was deleted or never "
                                "existed")
        if len(found) > 1:
            raise UsageError(f"answer id '{prefix}' is ambiguous ({', '.join(found)}, ...): "
                             "type more of it")
        return found[0]

    def battle_state(self, catalog: str, model_ids: Sequence[str] | None = None,
                     ) -> tuple[list[BattleAnswer], list[PairVotes]]:
        """The answers that count per model and task of the catalog, and its votes per
        task, pair and rater: what battles.choose_battle picks from."""
        return self.db.read(reads.battle_state, catalog, model_ids)

    def vote_rows(self, session_ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """Votes (on answers of those sessions, if given), oldest first, for export."""
        return self.db.read(reads.vote_rows, session_ids)

    def export_votes(self, session_ids: Sequence[str] | None, target: Path,
                     fmt: str) -> int:
        """Write the votes to a file (fmt: a DuckDB COPY format); how many, none: no file."""
        return self.db.read(reads.copy_votes, session_ids, str(target), fmt)

    # --- reads --------------------------------------------------------------------------

    def sessions(self) -> list[SessionRow]:
        """Every session, newest first; `running` when a live process generates into it."""
        return self.db.read(reads.sessions)

    def load_failures(self, limit: int | None = None) -> list[LoadFailure]:
        """Failed model loads, newest first; `loaded_since` once the same model file (or the
        resumed session) loaded after it."""
        return self.db.read(reads.load_failures, limit)

    def task_states(self, session_id: str) -> dict[str, TaskState]:
        """Per task key: its latest generation and the counted rating, if any."""
        return self.db.read(reads.task_states, session_id)

    def latest_generation(self, session_id: str, task_key: str) -> TaskState | None:
        return self.task_states(session_id).get(task_key)

    def generation(self, gen_id: str) -> dict[str, Any]:
        row = self.db.read(reads.generation, gen_id)
        if row is None:
            raise NotFoundError(f"no generation {gen_id}")
        return row

    def leaderboard(self, catalog: str | None = None,
                    rater: str | None = None) -> list[dict[str, Any]]:
        return self.db.read(reads.leaderboard, catalog, rater)

    def per_rater_scores(self, catalog: str | None = None) -> list[RaterScore]:
        """Each rater's latest score per model and task (agreement between raters)."""
        return self.db.read(reads.per_rater_scores, catalog)

    def votes(self, catalog: str | None = None, rater: str | None = None) -> list[Vote]:
        """Pairwise battle votes, of one catalog (and rater) if given, oldest first."""
        return self.db.read(reads.votes, catalog, rater)

    def latest_catalog(self, name: str) -> Catalog | None:
        """The newest stored version of a catalog, as sessions used it."""
        from rbyf_tui.catalog import parse

        row = self.db.read(reads.latest_catalog, name)
        return parse(row[0], row[1] or name) if row else None

    def matrix_cells(self, catalog: str, rater: str | None = None,
                     ) -> tuple[list[tuple[str, str, int, str]], dict[str, str]]:
        return self.db.read(reads.matrix_cells, catalog, rater)

    def task_titles(self, catalog: str, keys: Sequence[str]) -> dict[str, str]:
        return self.db.read(reads.task_titles, catalog, keys)

    def answered_catalogs(self) -> list[tuple[str, int]]:
        """Catalogs with finished answers, and how many models answered each."""
        return self.db.read(reads.answered_catalogs)

    def models_named(self, names: Sequence[str]) -> list[tuple[str, str]]:
        return self.db.read(reads.models_named, names)

    def raters(self) -> list[str]:
        return self.db.read(reads.raters)

    def model_usage(self) -> dict[str, ModelUsage]:
        """Per model file (resolved path): sessions, mean score, last used; {} before the
        first session (no file is made)."""
        if not self.path.exists():
            return {}
        return self.db.read(reads.model_usage)

    def compare_answers(self, catalog: str, model_ids: Sequence[str],
                        rater: str | None = None) -> list[dict[str, Any]]:
        return self.db.read(reads.compare_answers, catalog, model_ids, rater)

    def report_sessions(self, catalog: str, model_ids: Sequence[str]) -> list[dict[str, Any]]:
        return self.db.read(reads.report_sessions, catalog, model_ids)

    def answer(self, generation_id: str, rater: str | None = None) -> dict[str, Any]:
        row = self.db.read(reads.answer, generation_id, rater)
        if row is None:
            raise NotFoundError(f"no generation {generation_id} in {self.path}")
        return row

    # --- blind rating -------------------------------------------------------------------

    def comparison_answers(self, comparison_id: str, rater: str) -> list[dict[str, Any]]:
        return self.db.read(blind.comparison_answers, comparison_id, rater)

    def blind_orders(self, comparison_id: str) -> dict[str, list[str]]:
        return self.db.read(blind.blind_orders, comparison_id)

    def keep_blind_orders(self, comparison_id: str, orders: dict[str, list[str]],
                          seed: int) -> dict[str, list[str]]:
        return self.db.write(blind.keep_blind_orders, comparison_id, orders, seed, now())

    def export_rows(self, session_ids: Sequence[str] | None) -> list[dict[str, Any]]:
        return self.db.read(reads.export_rows, session_ids)

    def export_parquet(self, session_ids: Sequence[str] | None, target: Path) -> None:
        self.db.read(reads.copy_export, session_ids, str(target), "PARQUET")

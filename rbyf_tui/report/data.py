"""What a report holds, read from the store once: per catalog the leaderboard, the battles,
the models x tasks matrix, the quality-against-speed chart, every task's answers side by
side, and the sessions behind them. The HTML and Markdown writers only lay it out."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rbyf_tui import __version__
from rbyf_tui.answers import Answer, ModelRef, resolve_models, side_by_side
from rbyf_tui.bradley_terry import BTReport, bt_ranking
from rbyf_tui.errors import NotFoundError, UsageError
from rbyf_tui.ranking import Chart, Standing, chart, rank_rows
from rbyf_tui.score_matrix import Matrix, matrix

if TYPE_CHECKING:
    from rbyf_tui.store import Store
    from rbyf_tui.store.records import Vote

LABEL = re.compile(r"(.+) \([^()]*\)")
MODEL_FACTS = ("architecture", "parameters", "quantization", "size_bytes", "chat_format",
               "n_ctx_train", "sha256", "path")


@dataclass(frozen=True)
class SessionFacts:
    """One session behind the report: who ran it where, with which settings and file."""

    id: str
    model: str
    model_id: str
    backend: str
    rater: str | None
    origin: str
    status: str
    created_at: datetime
    catalog_version: str | None
    settings: dict[str, Any]
    hardware: dict[str, Any]
    model_facts: dict[str, Any]  # MODEL_FACTS that are known

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> SessionFacts:
        return cls(
            id=row["id"], model=row["model"], model_id=row["model_id"],
            backend=row["backend"], rater=row["rater"], origin=row["origin"],
            status=row["status"], created_at=row["created_at"],
            catalog_version=row["catalog_version"], settings=_object(row["settings"]),
            hardware=_object(row["hardware"]),
            model_facts={k: row[k] for k in MODEL_FACTS if row[k] not in (None, "")})


@dataclass(frozen=True)
class TaskAnswers:
    key: str
    title: str
    prompt: str
    system: str | None
    answers: tuple[Answer | None, ...]  # one per model, in CatalogReport.models order


@dataclass(frozen=True)
class CatalogReport:
    catalog: str
    versions: tuple[str, ...]  # of the catalog, as the sessions ran it
    models: tuple[ModelRef, ...]  # best mean first, then models with votes only
    standings: tuple[Standing, ...]
    battles: BTReport | None  # None: no votes among these models
    matrix: Matrix
    chart: Chart
    tasks: tuple[TaskAnswers, ...]
    sessions: tuple[SessionFacts, ...]


@dataclass(frozen=True)
class Report:
    made_at: datetime
    rbyf_version: str
    rater: str | None  # only this rater's ratings and votes; None: everyone's
    catalogs: tuple[CatalogReport, ...]
    missing: tuple[str, ...] = ()  # models asked for with nothing rated or voted on


def _object(value: Any) -> dict[str, Any]:
    loaded = json.loads(value) if isinstance(value, str) else value
    return loaded if isinstance(loaded, dict) else {}


def build(store: Store, made_at: datetime, catalog: str | None = None,
          models: Sequence[str] | None = None, rater: str | None = None) -> Report:
    """The report of one catalog, or of every catalog with ratings or votes; of the models
    named (ids or names), or of every model rated or voted on."""
    if not store.path.exists():
        raise NotFoundError(f"no DB at {store.path}: rate some answers first (`rbyf`), or "
                            "give --db")
    wanted = resolve_models(store, [_bare(store, m) for m in models]) if models else None
    # read once for every catalog reported, then split by catalog
    board_rows: dict[str, list[dict[str, Any]]] = {}
    for row in store.leaderboard(catalog, rater):
        board_rows.setdefault(row["catalog"], []).append(row)
    votes: dict[str, list[Vote]] = {}
    for vote in store.votes(catalog, rater):
        votes.setdefault(vote.catalog_name, []).append(vote)
    names = [catalog] if catalog else sorted(board_rows.keys() | votes.keys())
    reports = [c for c in (_catalog_report(store, name, board_rows.get(name, []),
                                           votes.get(name, []), wanted, rater)
                           for name in names) if c]
    if not reports:
        which = f"catalog '{catalog}'" if catalog else "this DB"
        if wanted:
            which += " for " + ", ".join(m.name for m in wanted)
        if rater:
            which += f" by rater '{rater}' (raters: {', '.join(store.raters()) or 'none'})"
        raise NotFoundError(f"nothing rated or voted on in {which}: rate answers in `rbyf` "
                            "(or `rbyf import` old runs), see `rbyf leaderboard`")
    shown = {m.model_id for c in reports for m in c.models}
    missing = tuple(m.name for m in wanted or () if m.model_id not in shown)
    return Report(made_at, __version__, rater, tuple(reports), missing)


def _bare(store: Store, name: str) -> str:
    """A name as `rbyf leaderboard` shows it, "name (Q8_0, 292 MB)", as the model's name."""
    label = LABEL.fullmatch(name)
    if label and not store.models_named([name]):
        return label.group(1)
    return name


def _catalog_report(store: Store, catalog: str, board_rows: list[dict[str, Any]],
                    all_votes: list[Vote], wanted: tuple[ModelRef, ...] | None,
                    rater: str | None) -> CatalogReport | None:
    keep = None if wanted is None else {m.model_id for m in wanted}
    # Ranks are among the models shown, so the rows are ranked after the filter.
    standings = tuple(rank_rows(r for r in board_rows if keep is None or r["model_id"] in keep))
    votes = [v for v in all_votes
             if keep is None or {v.left_model_id, v.right_model_id} <= keep]
    order = [ModelRef(s.model_id, s.model) for s in standings]
    battles = None
    if votes:
        ids = sorted({m for v in votes for m in (v.left_model_id, v.right_model_id)})
        battles = bt_ranking(votes, names=dict(store.models_named(ids)))
        order += [ModelRef(r.model_id, r.model) for r in battles.rows
                  if r.model_id not in {m.model_id for m in order}]
    if not order:
        return None
    place = {m.model_id: n for n, m in enumerate(order)}
    full = matrix(store, catalog, rater)
    # the leaderboard's order, ties included, so that every part lists models alike
    grid = replace(full, rows=tuple(sorted((r for r in full.rows if r.model_id in place),
                                           key=lambda r: place[r.model_id])))
    sessions = tuple(SessionFacts.from_row(row)
                     for row in store.report_sessions(catalog, [m.model_id for m in order]))
    versions = tuple(dict.fromkeys(s.catalog_version for s in reversed(sessions)
                                   if s.catalog_version))
    return CatalogReport(
        catalog=catalog, versions=versions, models=tuple(order), standings=standings,
        battles=battles, matrix=grid, chart=chart(standings, catalog),
        tasks=_tasks(store, catalog, tuple(order), rater), sessions=sessions)


def _tasks(store: Store, catalog: str, models: tuple[ModelRef, ...],
           rater: str | None) -> tuple[TaskAnswers, ...]:
    tasks = []
    for row in side_by_side(store, catalog, models, rater).rows:
        first = next((a for a in row.answers if a is not None), None)
        if first is not None:  # else no model shown has answered the task
            tasks.append(TaskAnswers(row.task_key, row.task_title, first.prompt,
                                     first.system, row.answers))
    return tuple(tasks)


def check_catalog(store: Store, catalog: str) -> None:
    """A one-line error for a catalog name the DB has never seen."""
    known = [name for name, _ in store.answered_catalogs()]
    if catalog not in known:
        hint = f"one of {', '.join(known)}" if known else "none has answers yet"
        raise UsageError(f"no catalog '{catalog}' in {store.path.name}: {hint}")

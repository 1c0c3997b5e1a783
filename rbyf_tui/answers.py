"""Side by side: two or more models' answers to each task of a catalog, with their scores,
remarks and figures; and one answer in full (a matrix cell opened)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rbyf_tui.checks import CheckResult
from rbyf_tui.checks import from_json as checks_from_json
from rbyf_tui.errors import NotFoundError, UsageError
from rbyf_tui.store.records import ANSWER_FIGURES

if TYPE_CHECKING:
    from rbyf_tui.store import Store


@dataclass(frozen=True)
class Answer:
    generation_id: str
    session_id: str
    model_id: str
    model: str
    catalog: str
    task_key: str
    task_title: str
    is_warmup: bool
    attempt: int
    status: str
    finish_reason: str | None
    prompt: str
    response: str
    score: int | None  # None: not rated (by the rater asked for)
    remarks: str | None
    rater: str | None
    rated_at: datetime | None
    figures: dict[str, Any]  # ttft_s, total_s, tokens, prompt/decode/e2e tokens/s, ...
    sampling: dict[str, Any] | None
    extra: dict[str, Any] | None  # e.g. extra["legacy"] for imported runs
    started_at: datetime
    finished_at: datetime | None
    # The automatic checks measured when the answer ended (hints, never a score); empty
    # when its task declared none.
    checks: tuple[CheckResult, ...] = ()
    reasoning: str = ""  # the model's thinking, kept apart from the answer
    thinking: str | None = None  # how the catalog's thinking switch applied
    system: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Answer:
        return cls(
            generation_id=row["id"], session_id=row["session_id"], model_id=row["model_id"],
            model=row["model"], catalog=row["catalog"], task_key=row["task_key"],
            task_title=row["task_title"], is_warmup=row["is_warmup"], attempt=row["attempt"],
            status=row["status"], finish_reason=row["finish_reason"], prompt=row["prompt"],
            response=row["response"], score=row["score"], remarks=row["remarks"],
            rater=row["rater"], rated_at=row["rated_at"],
            figures={key: row[key] for key in ANSWER_FIGURES},
            sampling=_json(row["sampling"]), extra=_json(row["extra"]),
            started_at=row["started_at"], finished_at=row["finished_at"],
            checks=tuple(checks_from_json(row.get("checks"))),
            reasoning=row.get("reasoning") or "", thinking=row.get("thinking"),
            system=row.get("system"))


@dataclass(frozen=True)
class ModelRef:
    model_id: str
    name: str


@dataclass(frozen=True)
class CompareRow:
    task_key: str
    task_title: str
    answers: tuple[Answer | None, ...]  # one per model, in Comparison.models order


@dataclass(frozen=True)
class Comparison:
    catalog: str
    rater: str | None
    models: tuple[ModelRef, ...]
    rows: tuple[CompareRow, ...]  # the catalog's tasks in order, then any others answered


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def resolve_models(store: Store, models: Sequence[str]) -> tuple[ModelRef, ...]:
    """Models by id or exact name, in the order given (each once)."""
    wanted = list(dict.fromkeys(models))
    found = store.models_named(wanted)
    refs: list[ModelRef] = []
    for want in wanted:
        matches = [ModelRef(i, n) for i, n in found if want in (i, n)]
        if not matches:
            raise NotFoundError(f"no model '{want}': see `rbyf leaderboard` for the names")
        if len(matches) > 1:
            ids = ", ".join(m.model_id for m in matches)
            raise UsageError(f"model name '{want}' is ambiguous ({ids}): give the id")
        if matches[0] not in refs:
            refs.append(matches[0])
    return tuple(refs)


def compare(store: Store, catalog: str, models: Sequence[str],
            rater: str | None = None) -> Comparison:
    """Per task of `catalog`, each model's answer that counts (the rated attempt, latest
    rating; by `rater` if given), else its newest finished answer, unrated."""
    refs = resolve_models(store, models)
    if len(refs) < 2:
        raise UsageError("compare needs two or more different models")
    return side_by_side(store, catalog, refs, rater)


def side_by_side(store: Store, catalog: str, refs: Sequence[ModelRef],
                 rater: str | None = None) -> Comparison:
    """What `compare` gives, for models already resolved (one or more)."""
    refs = tuple(refs)
    rows = store.compare_answers(catalog, [r.model_id for r in refs], rater)
    position = {ref.model_id: n for n, ref in enumerate(refs)}
    by_task: dict[str, list[Answer | None]] = {}
    titles: dict[str, str] = {}
    for row in rows:
        answer = Answer.from_row(row)
        slots = by_task.setdefault(answer.task_key, [None] * len(refs))
        slots[position[answer.model_id]] = answer
        titles.setdefault(answer.task_key, answer.task_title)
    definition = store.latest_catalog(catalog)
    order = [t.key for t in definition.tasks] if definition else []
    for task in definition.tasks if definition else ():
        titles[task.key] = task.title
    keys = order + sorted(k for k in by_task if k not in order)
    return Comparison(catalog, rater, refs, tuple(
        CompareRow(key, titles.get(key, key), tuple(by_task.get(key, [None] * len(refs))))
        for key in keys))


def answer(store: Store, generation_id: str, rater: str | None = None) -> Answer:
    """One answer in full with its latest rating (by `rater`, if given)."""
    return Answer.from_row(store.answer(generation_id, rater))

"""Blind rating: a comparison's answers task by task under the letters A, B, C… in an order
shuffled per task (seeded, stored), names and speed hidden until this rater has rated every
answer of the task (speed gives a model away)."""

from __future__ import annotations

import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rbyf_tui.answers import Answer
from rbyf_tui.errors import NotFoundError, UsageError
from rbyf_tui.store.records import ComparisonMember

if TYPE_CHECKING:
    from rbyf_tui.store import Store

LETTERS = string.ascii_uppercase


@dataclass(frozen=True)
class Blinded:
    letter: str
    member: ComparisonMember
    answer: Answer | None  # None: this model has no finished answer to the task


@dataclass(frozen=True)
class BlindTask:
    key: str
    title: str
    prompt: str
    answers: tuple[Blinded, ...]  # in letter order

    @property
    def rated(self) -> int:
        return sum(1 for b in self.answers if b.answer is not None and b.answer.score is not None)

    @property
    def to_rate(self) -> int:
        return sum(1 for b in self.answers if b.answer is not None)

    @property
    def revealed(self) -> bool:
        """Every answer of the task rated by this rater: names and figures may show."""
        return self.rated == self.to_rate


@dataclass(frozen=True)
class BlindRound:
    comparison_id: str
    catalog: str
    rater: str
    members: tuple[ComparisonMember, ...]
    tasks: tuple[BlindTask, ...]

    def first_open(self) -> int:
        """The first task not fully rated (0 if all are)."""
        return next((i for i, t in enumerate(self.tasks) if not t.revealed), 0)


def shuffled(session_ids: Sequence[str], seed: int, task_key: str) -> list[str]:
    """The letter order of one task: the same seed and task give the same order."""
    order = list(session_ids)
    random.Random(f"{seed}:{task_key}").shuffle(order)
    return order


def load_round(store: Store, comparison_id: str, rater: str) -> BlindRound:
    """Every task the comparison's models answered, with the letter order stored for each
    (made and stored on first sight)."""
    comparison = store.find_comparison(comparison_id)
    if comparison is None:
        raise NotFoundError(f"no comparison {comparison_id}; list them with: rbyf sessions")
    waiting = [m for m in comparison.members if m.session_id is None]
    if waiting:  # its letters would come later, last: refuse rather than give it away
        raise UsageError(f"comparison {comparison.id[:8]}: {waiting[0].label} has not "
                         f"started yet: generate it first (rbyf run --resume "
                         f"{comparison.id[:8]}, or enter on the comparison at home)")
    members = {m.session_id: m for m in comparison.members if m.session_id is not None}
    if len(members) < 2:
        raise UsageError(f"comparison {comparison.id[:8]} has {len(members)} model with "
                         "answers; blind rating needs two or more: go on with rbyf run "
                         f"--resume {comparison.id[:8]}")
    comparison_id = comparison.id
    answers: dict[str, dict[str, Answer]] = {}
    for row in store.comparison_answers(comparison_id, rater):
        answer = Answer.from_row(row)
        answers.setdefault(answer.task_key, {})[answer.session_id] = answer
    seed = comparison.seed or 0
    stored = store.blind_orders(comparison_id)
    missing = {key: shuffled(list(members), seed, key) for key in answers if key not in stored}
    if missing:
        stored = store.keep_blind_orders(comparison_id, missing, seed)
    tasks = []
    for key in sorted(answers, key=lambda k: min(a.started_at for a in answers[k].values())):
        order = [s for s in stored[key] if s in members]
        order += [s for s in members if s not in order]  # a model added after the order
        first = next(iter(answers[key].values()))
        tasks.append(BlindTask(key, first.task_title, first.prompt, tuple(
            Blinded(LETTERS[i % 26], members[s], answers[key].get(s))
            for i, s in enumerate(order))))
    return BlindRound(comparison_id, comparison.catalog_name, rater, tuple(members.values()),
                      tuple(tasks))

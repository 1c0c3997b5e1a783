"""Choosing the next pairwise battle: two models' answers to one task of one catalog.

Pairs are chosen where a vote teaches the most, as Chatbot Arena samples new models: the
pair of models with the fewest votes first, then its task with the fewest votes, then the
task with the fewest votes overall; the rest is drawn at random (seeded by the caller's
rng). A rater never meets the same pair on the same task twice unless `repeat`. Which
model is on the left is random too, so that a position bias cannot favour one model.
Models meet only within one catalog. No store or Textual here: the store hands over its
state (Store.battle_state) and `next_battle` glues the two.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

from rbyf_tui.backends import BackendOptions
from rbyf_tui.errors import ModelError, NotFoundError, UsageError
from rbyf_tui.opening import Opening, ResumeSession, open_session
from rbyf_tui.store.records import BattleAnswer, PairVotes

if TYPE_CHECKING:
    from rbyf_tui.store import Store

MISSING = ("skip", "generate")  # a model without an answer to a task: skip it, or make one


@dataclass(frozen=True)
class Side:
    """One side of a battle; generation_id None: the model has no answer to the task yet
    (missing="generate": the caller generates it before showing the battle)."""

    model_id: str
    model: str
    generation_id: str | None


@dataclass(frozen=True)
class Battle:
    catalog: str
    task_key: str
    left: Side
    right: Side

    @property
    def key(self) -> BattleKey:
        """(catalog, task, model a, model b), the models in sorted order."""
        a, b = sorted((self.left.model_id, self.right.model_id))
        return (self.catalog, self.task_key, a, b)


BattleKey = tuple[str, str, str, str]


def choose_battle(answers: Sequence[BattleAnswer], votes: Sequence[PairVotes],
                  rater: str | None, rng: random.Random, *, repeat: bool = False,
                  missing: str = "skip",
                  passed: frozenset[BattleKey] = frozenset()) -> Battle | None:
    """The next battle for `rater`, or None when there is none left to vote on.
    `passed`: battles skipped (or that failed) in this sitting, left out like voted ones.
    missing="skip": only tasks both models answered; "generate": a side may lack its
    answer (one that has both is still preferred among equally voted ones)."""
    if missing not in MISSING:
        raise UsageError(f"missing={missing!r}: use one of {', '.join(MISSING)}")
    names: dict[tuple[str, str], str] = {}
    answer_of: dict[tuple[str, str, str], str] = {}  # (catalog, model, task) -> generation
    tasks: dict[str, set[str]] = {}
    for a in answers:
        names[(a.catalog, a.model_id)] = a.model
        if a.task_key is not None and a.generation_id is not None:
            answer_of[(a.catalog, a.model_id, a.task_key)] = a.generation_id
            tasks.setdefault(a.catalog, set()).add(a.task_key)
    pair_votes: Counter[tuple[str, str, str]] = Counter()
    task_pair_votes: Counter[tuple[str, str, str, str]] = Counter()
    task_votes: Counter[tuple[str, str]] = Counter()
    seen: set[tuple[str, str, str, str]] = set()  # voted on by this rater
    for v in votes:
        pair_votes[(v.catalog, v.model_a, v.model_b)] += v.votes
        task_pair_votes[(v.catalog, v.task_key, v.model_a, v.model_b)] += v.votes
        task_votes[(v.catalog, v.task_key)] += v.votes
        if v.rater == rater and v.votes:
            seen.add((v.catalog, v.task_key, v.model_a, v.model_b))
    # Pairs in order of their votes: the first group with a battle left holds the best one.
    by_votes: dict[int, list[tuple[str, str, str]]] = {}
    for catalog in sorted({c for c, _ in names}):
        models = sorted(m for c, m in names if c == catalog)
        for a, b in combinations(models, 2):
            by_votes.setdefault(pair_votes[(catalog, a, b)], []).append((catalog, a, b))
    found: list[tuple[str, str, str, str]] = []
    for count in sorted(by_votes):
        best: tuple[int, int, int] | None = None
        for catalog, a, b in by_votes[count]:
            for task in sorted(tasks.get(catalog, ())):
                gaps = ((catalog, a, task) not in answer_of) + ((catalog, b, task)
                                                                not in answer_of)
                if (gaps and missing == "skip") or gaps == 2:
                    continue
                if not repeat and (catalog, task, a, b) in seen:
                    continue
                if (catalog, task, a, b) in passed:
                    continue
                key = (task_pair_votes[(catalog, task, a, b)], task_votes[(catalog, task)],
                       gaps)
                if best is None or key < best:
                    best, found = key, []
                if key == best:
                    found.append((catalog, task, a, b))
        if found:
            break
    if not found:
        return None
    catalog, task, a, b = rng.choice(found)
    sides = [Side(m, names[(catalog, m)], answer_of.get((catalog, m, task))) for m in (a, b)]
    rng.shuffle(sides)
    return Battle(catalog, task, sides[0], sides[1])


def next_battle(store: Store, catalog: str, rater: str | None,
                model_ids: Sequence[str] | None = None, rng: random.Random | None = None,
                *, repeat: bool = False, missing: str = "skip",
                passed: frozenset[BattleKey] = frozenset()) -> Battle | None:
    """The next battle in the catalog (among `model_ids`, else every model with a session
    of it), read from the store; skipped ones come again only when nothing else is left."""
    answers, votes = store.battle_state(catalog, model_ids)
    rng = rng or random.Random()
    battle = choose_battle(answers, votes, rater, rng, repeat=repeat, missing=missing,
                           passed=passed)
    if battle is None and passed:
        battle = choose_battle(answers, votes, rater, rng, repeat=repeat, missing=missing)
    return battle


def answer_missing(opening: Opening, options: BackendOptions, battle: Battle,
                   stop: threading.Event | None = None) -> Battle:
    """Generate the answers a battle lacks (missing="generate"): each such model's latest
    session of the catalog is reopened (its model loaded, checked by sha256), the one task
    answered and stored, the model freed. The battle with both answers' ids."""
    store = opening.store
    sides = []
    for side in (battle.left, battle.right):
        if side.generation_id is None:
            # Not one another process (or this app) generates into, nor an imported one.
            sessions = [s for s in store.sessions()
                        if s.model_id == side.model_id and s.catalog == battle.catalog
                        and not s.running and s.origin != "import"]
            if not sessions:
                raise NotFoundError(f"no session of this model on {battle.catalog} to "
                                    "answer in: skip this battle (s)")
            opened = open_session(opening, ResumeSession(sessions[0].id, options))
            try:
                runner = opened.runner
                task = next((t for t in runner.catalog.all_tasks()
                             if t.key == battle.task_key), None)
                if task is None:
                    raise NotFoundError(f"task {battle.task_key} is not in this model's "
                                        f"version of {battle.catalog}: skip it (s)")
                outcome = runner.run_task(task, stop)
            finally:
                store.release_session(opened.runner.session_id)
                opened.backend.close()
            if outcome.status != "ok":
                raise ModelError(f"the answer could not be generated: "
                                 f"{outcome.error or outcome.status}")
            side = Side(side.model_id, side.model, outcome.generation_id)
        sides.append(side)
    return Battle(battle.catalog, battle.task_key, sides[0], sides[1])

"""Where a session stands: task states, what to do next, the summary. No Textual here."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rbyf_tui.catalog import Task
from rbyf_tui.store import FINISHED, TaskState

States = dict[str, TaskState]
RATEABLE = FINISHED


def state_label(state: TaskState | None, generating: bool = False) -> str:
    """pending, generating, done, rated N, error, cancelled (interrupted answers too)."""
    if generating:
        return "generating"
    if state is None:
        return "pending"
    if state.score is not None:
        return f"rated {state.score}"
    status = state.status
    if status == "ok":
        return "done"
    if status == "error":
        return "error"
    if status in ("cancelled", "interrupted"):
        return "cancelled" if status == "cancelled" else "interrupted"
    return "pending"


def is_rated(state: TaskState | None) -> bool:
    return state is not None and state.score is not None


def has_answer(state: TaskState | None) -> bool:
    """A complete answer to rate (the runner's `pending_tasks` regenerates the others)."""
    return state is not None and state.status == "ok"


def first_todo(tasks: Sequence[Task], states: States) -> int | None:
    """Where a session (re)starts: the first task without a finished answer or a rating.

    The warm-up's rating is optional, so an answered warm-up is passed over.
    """
    for index, task in enumerate(tasks):
        state = states.get(task.key)
        if is_rated(state) or (task.is_warmup and has_answer(state)):
            continue
        return index
    return None


def next_todo(tasks: Sequence[Task], states: States, after: int) -> int | None:
    """The next unrated task after `after`, wrapping around; never the warm-up."""
    count = len(tasks)
    for step in range(1, count + 1):
        index = (after + step) % count
        task = tasks[index]
        if index == after or task.is_warmup or is_rated(states.get(task.key)):
            continue
        return index
    return None


@dataclass(frozen=True)
class Summary:
    rated: int
    tasks: int
    total: int
    mean: float | None
    median_ttft_s: float | None
    median_prompt_tps: float | None
    median_decode_tps: float | None
    median_e2e_tps: float | None

    @property
    def out_of(self) -> int:
        return 5 * self.tasks


def _median(values: list[Any]) -> float | None:
    found = [float(v) for v in values if v is not None]
    return statistics.median(found) if found else None


def summarize(tasks: Sequence[Task], states: States) -> Summary:
    rated = [t for t in tasks if not t.is_warmup]
    rows = [states[t.key] for t in rated if t.key in states]
    scores = [r.score for r in rows if r.score is not None]
    return Summary(
        rated=len(scores),
        tasks=len(rated),
        total=sum(scores),
        mean=statistics.fmean(scores) if scores else None,
        median_ttft_s=_median([r.ttft_s for r in rows]),
        median_prompt_tps=_median([r.prompt_tps for r in rows]),
        median_decode_tps=_median([r.decode_tps for r in rows]),
        median_e2e_tps=_median([r.e2e_tps for r in rows]),
    )


def export_commands(session_id: str) -> list[str]:
    return [
        f"rbyf export --session {session_id} --format csv --out rbyf-{session_id}.csv",
        f"rbyf export --session {session_id} --format md --out rbyf-{session_id}.md",
        f"rbyf export --session {session_id} --format jsonl --out rbyf-{session_id}.jsonl",
        "rbyf leaderboard",
    ]

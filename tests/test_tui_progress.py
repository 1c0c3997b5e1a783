"""Where a session goes next: resume point, next unrated task, state words, summary."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

from rbyf_tui.store import TaskState
from rbyf_tui.tui.progress import first_todo, next_todo, state_label, summarize

from helpers import mini_catalog

TASKS = mini_catalog().all_tasks()  # warm, a, b


def st(status: str, score: int | None = None, **figures: Any) -> TaskState:
    """A task's state with only what these rules read: the rest left empty."""
    blank: dict[str, Any] = {f.name: None for f in fields(TaskState)}
    return TaskState(**{**blank, "status": status, "score": score, **figures})


def test_resume_starts_at_the_first_task_without_a_finished_answer_or_a_rating() -> None:
    assert first_todo(TASKS, {}) == 0
    assert first_todo(TASKS, {"warm": st("ok")}) == 1  # the warm-up's rating is optional
    assert first_todo(TASKS, {"warm": st("ok"), "a": st("ok", 4)}) == 2
    assert first_todo(TASKS, {"warm": st("ok"), "a": st("cancelled")}) == 1
    assert first_todo(TASKS, {"warm": st("ok"), "a": st("ok", 1), "b": st("ok", 0)}) is None


def test_next_wraps_around_and_never_returns_to_the_warm_up() -> None:
    states = {"warm": st("ok"), "a": st("error"), "b": st("ok")}
    assert next_todo(TASKS, states, 1) == 2
    assert next_todo(TASKS, states, 2) == 1
    assert next_todo(TASKS, {**states, "a": st("ok", 3)}, 2) is None


def test_state_words_read_without_colour() -> None:
    assert [state_label(s) for s in (None, st("ok"), st("ok", 4), st("error"),
                                     st("cancelled"), st("interrupted"))] == [
        "pending", "done", "rated 4", "error", "cancelled", "interrupted"]
    assert state_label(st("ok"), generating=True) == "generating"


def test_summary_counts_five_per_task_and_medians_over_tasks() -> None:
    states = {"warm": st("ok", 5, ttft_s=9.0), "a": st("ok", 4, ttft_s=1.0, decode_tps=10.0),
              "b": st("ok", 1, ttft_s=3.0, decode_tps=30.0)}
    s = summarize(TASKS, states)
    assert (s.total, s.out_of, s.rated, s.mean) == (5, 10, 2, 2.5)
    assert (s.median_ttft_s, s.median_decode_tps) == (2.0, 20.0)

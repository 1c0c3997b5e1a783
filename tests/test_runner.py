"""The runner with a scripted stream: figures, checkpoints, cancel and errors, all stored."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rbyf_tui.backends.base import ChatRequest, StreamEnd
from rbyf_tui.store import Store, TaskState

from fakes import ScriptedBackend
from helpers import new_runner

ANSWER = " ".join(f"w{i}" for i in range(40))


def test_a_task_is_stored_with_its_figures(tmp_path: Path) -> None:
    backend = ScriptedBackend([ANSWER], delay_s=0.002, first_delay_s=0.05)
    runner = new_runner(tmp_path / "db.duckdb", backend)
    outcome = runner.run_task(runner.catalog.task("a"))
    assert (outcome.status, outcome.finish_reason) == ("ok", "stop")
    row = runner.store.generation(outcome.generation_id)
    assert row["response"] == ANSWER
    assert row["completion_tokens"] == 40
    assert row["ttft_s"] >= 0.05
    assert row["total_s"] > row["ttft_s"]
    assert row["decode_tps"] == pytest.approx(39 / (row["total_s"] - row["ttft_s"]))
    assert row["completion_tiktoken"] > 0 and row["prompt_tiktoken"] > 0
    assert row["task_title"] == "Task A" and row["prompt"] == "First task."


def test_max_tokens_override_reaches_the_request(tmp_path: Path) -> None:
    backend = ScriptedBackend([ANSWER])
    runner = new_runner(tmp_path / "db.duckdb", backend, max_tokens=5, seed=7)
    outcome = runner.run_task(runner.catalog.task("a"))
    assert backend.requests[-1].sampling.max_tokens == 5
    assert backend.requests[-1].sampling.seed == 7
    assert (outcome.finish_reason, outcome.figures.completion_tokens) == ("length", 5)


def test_partial_text_is_checkpointed_while_streaming(tmp_path: Path) -> None:
    backend = ScriptedBackend([ANSWER], delay_s=0.02)
    runner = new_runner(tmp_path / "db.duckdb", backend)
    runner.checkpoint_s = 0.05
    seen: list[TaskState] = []
    count = 0

    def on_text(_: str) -> None:
        nonlocal count
        count += 1
        if count == 30 and not seen:
            # checkpoints are written by a background thread: give a busy disk time (the
            # stream waits here, so what is stored stays a partial answer)
            deadline = time.monotonic() + 30
            while True:
                state = Store(runner.store.path).task_states(runner.session_id)["a"]
                if state.response or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            seen.append(state)

    outcome = runner.run_task(runner.catalog.task("a"), on_text=on_text)
    assert seen and seen[0].status == "running"
    partial = seen[0].response
    assert partial and ANSWER.startswith(partial) and len(partial) < len(ANSWER)
    assert runner.store.generation(outcome.generation_id)["response"] == ANSWER


def test_cancel_keeps_the_partial_answer(tmp_path: Path) -> None:
    runner = new_runner(tmp_path / "db.duckdb", ScriptedBackend([ANSWER]))
    cancel = threading.Event()
    words: list[str] = []

    def on_text(text: str) -> None:
        words.append(text)
        if len(words) == 5:
            cancel.set()

    outcome = runner.run_task(runner.catalog.task("a"), cancel=cancel, on_text=on_text)
    row = runner.store.generation(outcome.generation_id)
    assert (row["status"], row["finish_reason"]) == ("cancelled", "cancelled")
    assert row["response"] == "w0 w1 w2 w3 w4"


def test_a_backend_error_is_stored_and_the_session_goes_on(tmp_path: Path) -> None:
    backend = ScriptedBackend(["fine answer"], fail_on=["First task"])
    runner = new_runner(tmp_path / "db.duckdb", backend)
    failed = runner.run_task(runner.catalog.task("a"))
    assert failed.status == "error" and "scripted failure" in (failed.error or "")
    row = runner.store.generation(failed.generation_id)
    assert (row["status"], row["finish_reason"]) == ("error", "error")
    assert "scripted failure" in row["error"]
    ok = runner.run_task(runner.catalog.task("b"))
    assert ok.status == "ok"
    assert [t.key for t in runner.pending_tasks()] == ["warm", "a"]


def test_the_token_loop_does_not_wait_for_checkpoints(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    ended = threading.Event()

    class Marked(ScriptedBackend):
        def stream(self, request: ChatRequest,
                   cancel: threading.Event) -> Iterator[str | StreamEnd]:
            for item in super().stream(request, cancel):
                if isinstance(item, StreamEnd):
                    ended.set()
                yield item

    runner = new_runner(tmp_path / "db.duckdb", Marked([ANSWER]))
    runner.checkpoint_s = 0.0  # checkpoint on every token
    checkpoint = Store.checkpoint_generation
    held: list[bool] = []

    def held_checkpoint(self: Store, gen_id: str, text: str, reasoning: str = "") -> None:
        # Held until the stream has ended: a token loop that waited for it would stall
        # here until the wait gives up (False).
        held.append(ended.wait(timeout=30))
        ended.set()
        checkpoint(self, gen_id, text, reasoning)

    monkeypatch.setattr(Store, "checkpoint_generation", held_checkpoint)
    outcome = runner.run_task(runner.catalog.task("a"))
    assert held and all(held), held
    assert outcome.figures.completion_tokens == 40
    assert runner.store.generation(outcome.generation_id)["response"] == ANSWER

"""Drives one session task by task: backend -> figures -> store. Used by the TUI and `run`."""

from __future__ import annotations

import logging
import os
import platform
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rbyf_tui import __version__, stop_signals
from rbyf_tui import checks as checking
from rbyf_tui.backends.base import Backend, ChatRequest, ModelInfo, StreamEnd
from rbyf_tui.backends.reasoning import Reasoning
from rbyf_tui.catalog import Catalog, Task
from rbyf_tui.errors import BackendError, RbyfError
from rbyf_tui.metrics import Figures
from rbyf_tui.store import Store, new_id

log = logging.getLogger(__name__)
CHECKPOINT_S = 3.0


@dataclass
class Outcome:
    generation_id: str
    task: Task
    status: str  # ok | error | cancelled
    finish_reason: str | None
    response: str
    figures: Figures
    error: str | None = None
    # The task's automatic checks measured on the whole answer (ok or cancelled); empty
    # when it declares none or the answer failed. Hints for the rater, never a score.
    checks: tuple[checking.CheckResult, ...] = ()
    reasoning: str = ""  # the thinking, kept apart: checks never see it


class _Live:
    """One answer as it streams: its pieces, and when the first of each kind came."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.stop: float | None = None
        self.parts: list[str] = []
        self.thoughts: list[str] = []
        self.first: float | None = None  # the first token of any kind
        self.first_answer: float | None = None
        self.last_thought: float | None = None

    @property
    def answer(self) -> str:
        return "".join(self.parts)

    @property
    def reasoning(self) -> str:
        return "".join(self.thoughts)

    def add(self, piece: str | Reasoning) -> float:
        stamp = time.perf_counter()
        if self.first is None:
            self.first = stamp
        if isinstance(piece, Reasoning):
            self.thoughts.append(piece.text)
            self.last_thought = stamp
        else:
            if self.first_answer is None:
                self.first_answer = stamp
            self.parts.append(piece)
        return stamp

    def times(self, first_token_at: float | None) -> dict[str, float | None]:
        """ttft_s (the first token of any kind: the backend may have seen it before its
        first piece), total_s, answer_ttft_s, and reasoning_s when the model thought."""
        stop = self.stop if self.stop is not None else time.perf_counter()
        firsts = [t for t in (self.first, first_token_at) if t is not None]
        first = min(firsts) if firsts else None
        reasoning_s, first_answer = None, self.first_answer
        if self.thoughts and first is not None:
            # until the answer's first token; an unfinished thought until its last one
            reasoning_s = (first_answer or self.last_thought or stop) - first
        elif first_answer is not None:
            first_answer = first  # no thought: the first token was the answer's
        return {
            "ttft_s": None if first is None else first - self.start,
            "total_s": stop - self.start,
            "answer_ttft_s": None if first_answer is None else first_answer - self.start,
            "reasoning_s": reasoning_s,
        }


class _Checkpointer:
    """Writes partial answers from a side thread, so the token loop never waits on the DB."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._pending: tuple[str, str, str] | None = None
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def submit(self, gen_id: str, text: str, reasoning: str) -> None:
        with self._wake:
            self._pending = (gen_id, text, reasoning)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._drain, name="rbyf-checkpoint",
                                                daemon=True)
                self._thread.start()
            self._wake.notify()

    def _drain(self) -> None:
        while True:
            with self._wake:
                if self._pending is None:
                    return
                gen_id, text, reasoning = self._pending
                self._pending = None
            try:
                self._store.checkpoint_generation(gen_id, text, reasoning)
            except RbyfError as exc:  # the final write will still carry the whole text
                log.warning("checkpoint of %s failed: %s", gen_id, exc)

    def wait(self) -> None:
        thread = self._thread
        if thread is not None:
            thread.join()


def hardware_info(model: ModelInfo) -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "rbyf": __version__,
        **{k: v for k, v in model.extra.items() if k in ("llama_cpp_python", "system_info")},
    }


class Runner:
    def __init__(self, store: Store, backend: Backend, catalog: Catalog, session_id: str, *,
                 seed: int | None = None, max_tokens: int | None = None,
                 checkpoint_s: float = CHECKPOINT_S) -> None:
        self.store = store
        self.backend = backend
        self.catalog = catalog
        self.session_id = session_id
        self.seed = seed
        self.max_tokens = max_tokens
        self.checkpoint_s = checkpoint_s
        self._checkpointer = _Checkpointer(store)

    @classmethod
    def new_session(cls, store: Store, backend: Backend, catalog: Catalog, *,
                    settings: dict[str, Any], rater: str, origin: str,
                    max_tokens: int | None = None, seed: int | None = None,
                    comparison: tuple[str, int] | None = None) -> Runner:
        model = backend.describe()
        session_id = store.create_session(
            model, catalog, settings=settings, hardware=hardware_info(model), rater=rater,
            origin=origin, comparison=comparison)
        return cls(store, backend, catalog, session_id, seed=seed, max_tokens=max_tokens)

    def pending_tasks(self) -> list[Task]:
        """Tasks (warm-up first) with no complete answer and no rating yet.

        An unrated answer cut short (cancelled, interrupted) is generated again.
        """
        states = self.store.task_states(self.session_id)
        pending = []
        for task in self.catalog.all_tasks():
            state = states.get(task.key)
            if state and (state.status == "ok" or state.score is not None):
                continue
            pending.append(task)
        return pending

    def run_task(self, task: Task, cancel: threading.Event | None = None,
                 on_text: Callable[[str], None] | None = None,
                 on_reasoning: Callable[[str], None] | None = None) -> Outcome:
        """Generate one answer; it is committed before this returns, whatever happens.
        `on_text` gets the answer's pieces, `on_reasoning` the thinking's, as they come."""
        cancel = cancel or threading.Event()
        request = ChatRequest.for_task(task, max_tokens=self.max_tokens, seed=self.seed)
        gen_id = new_id()
        live = _Live(time.perf_counter())
        end: StreamEnd | None = None
        error: str | None = None
        # A stop signal cancels the stream instead of cutting it: the backend ends at the
        # next token and the answer is stored whole, with its figures.
        with stop_signals.deferred(on_stop=cancel.set):
            try:
                self.store.start_generation(self.session_id, task, request, gen_id)
                live.start = time.perf_counter()
                next_checkpoint = live.start + self.checkpoint_s
                for item in self.backend.stream(request, cancel):
                    if isinstance(item, StreamEnd):
                        end = item
                        continue
                    stamp = live.add(item)
                    if isinstance(item, Reasoning):
                        if on_reasoning is not None:
                            on_reasoning(item.text)
                    elif on_text is not None:
                        on_text(item)
                    if stamp >= next_checkpoint:
                        self._checkpointer.submit(gen_id, live.answer, live.reasoning)
                        next_checkpoint = stamp + self.checkpoint_s
            except BackendError as exc:
                error = str(exc)
            except KeyboardInterrupt:
                # A plain Ctrl+C outside a deferred block; updating a row not yet written is a
                # no-op, so this is safe at any point.
                end = StreamEnd(finish_reason="cancelled")
                self._finish(gen_id, task, request, live, end, None)
                raise
            except Exception as exc:  # keep the session going; the traceback goes to the log
                log.exception("generation of %s failed", task.key)
                error = f"internal error: {exc!r} (see the rbyf log)"
            if end is None and error is None:
                error = "the backend ended without a result"
            return self._finish(gen_id, task, request, live, end, error)

    def _finish(self, gen_id: str, task: Task, request: ChatRequest, live: _Live,
                end: StreamEnd | None, error: str | None) -> Outcome:
        live.stop = time.perf_counter()
        with stop_signals.deferred():
            return self._store_outcome(gen_id, task, request, live, end, error)

    def _store_outcome(self, gen_id: str, task: Task, request: ChatRequest, live: _Live,
                       end: StreamEnd | None, error: str | None) -> Outcome:
        response = live.answer
        end = end or StreamEnd(finish_reason="error")
        if error or end.error:
            status, finish = "error", "error"
            error = error or end.error
        elif end.finish_reason == "cancelled":
            status, finish = "cancelled", "cancelled"
        else:
            status, finish = "ok", end.finish_reason
        figures = Figures.compute(
            prompt_tokens=end.prompt_tokens,
            completion_tokens=end.completion_tokens,
            engine_prompt_tps=end.engine_prompt_tps,
            engine_decode_tps=end.engine_decode_tps,
            prompt_text=request.text(),
            completion_text=response,
            tokens_estimated=end.tokens_estimated,
            reasoning_tokens=end.reasoning_tokens,
            prompt_eval_tokens=end.prompt_eval_tokens,
            prompt_cached_tokens=end.prompt_cached_tokens,
            **live.times(end.first_token_at),
        )
        results = self._checks(task, response) if status in ("ok", "cancelled") else None
        self._checkpointer.wait()
        self.store.finish_generation(gen_id, response=response, reasoning=live.reasoning,
                                     finish_reason=finish, status=status, error=error,
                                     figures=figures, extra=end.extra, checks=results,
                                     thinking=end.thinking)
        return Outcome(gen_id, task, status, finish, response, figures, error,
                       tuple(results or ()), live.reasoning)

    @staticmethod
    def _checks(task: Task, response: str) -> list[checking.CheckResult] | None:
        """The task's checks on the answer; None without any. A check that breaks must not
        cost the answer: it is logged and the answer stored without checks."""
        if not task.checks:
            return None
        try:
            return checking.run(task, response)
        except Exception:
            log.exception("checks of %s failed", task.key)
            return None

"""The comparison engine (rbyf_tui.comparison) and its store records, with scripted served
models: the order of events, a model that will not load, going on, and what counts as
unfinished. The real models' runs are in test_comparison.py."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from rbyf_tui.backends import BackendOptions
from rbyf_tui.backends.base import Backend, ModelInfo
from rbyf_tui.comparison import (
    Event,
    ModelDone,
    ModelFailed,
    ModelSpec,
    ModelStarting,
    TaskDone,
    plan_comparison,
    run_comparison,
)
from rbyf_tui.errors import ModelError, NotFoundError, UsageError
from rbyf_tui.store import Store

from conftest import run_cli
from fakes import ScriptedBackend
from helpers import mini_catalog

URL = "http://models.test/v1"


def served(name: str, url: str = URL) -> ModelSpec:
    return ModelSpec(BackendOptions(backend="openai", base_url=url, api_model=name))


class WontLoad(ScriptedBackend):
    def load(self) -> ModelInfo:
        raise ModelError(f"{self.describe().name} would not load")


def factory(failing: set[str], made: list[ScriptedBackend]):  # type: ignore[no-untyped-def]
    def make(options: BackendOptions, n_ctx: int, seed: int) -> Backend:
        cls = WontLoad if options.api_model in failing else ScriptedBackend
        backend = cls(["An answer."], model=options.api_model)
        made.append(backend)
        return backend
    return make


def test_models_run_in_turn_a_failed_one_waits_and_a_second_run_finishes_it(
        tmp_path: Path) -> None:
    store = Store(tmp_path / "cmp.duckdb")
    cid = plan_comparison(store, mini_catalog(), [served("a"), served("b"), served("c")],
                          seed=7, settings={"max_tokens": 5})
    events: list[Event] = []
    made: list[ScriptedBackend] = []
    failed = run_comparison(store, cid, on_event=events.append,
                            backend_factory=factory({"b"}, made))
    assert failed == 1
    kinds = [(type(e).__name__, e.position) for e in events]
    assert kinds == [
        ("ModelStarting", 0), ("TaskDone", 0), ("TaskDone", 0), ("TaskDone", 0),
        ("ModelDone", 0), ("ModelStarting", 1), ("ModelFailed", 1), ("ModelStarting", 2),
        ("TaskDone", 2), ("TaskDone", 2), ("TaskDone", 2), ("ModelDone", 2)]
    assert isinstance(events[0], ModelStarting) and events[0].count == 3
    assert events[0].label == f"a at {URL}"
    assert [e.index for e in events if isinstance(e, TaskDone)] == [1, 2, 3, 1, 2, 3]
    fail = next(e for e in events if isinstance(e, ModelFailed))
    assert fail.error == "b would not load"
    # one seed and the comparison's max_tokens for every request of every model
    requests = [r for b in made for r in b.requests]
    assert {(r.sampling.seed, r.sampling.max_tokens) for r in requests} == {(7, 5)}

    row = store.comparison(cid)
    assert (row.seed, row.catalog_name, row.origin) == (7, "mini", "run")
    assert [(m.position, m.model, m.status, m.answered, m.tasks) for m in row.members] == [
        (0, "a", "open", 2, 2), (1, f"b at {URL}", "waiting", 0, 2), (2, "c", "open", 2, 2)]
    assert row.members[1].session_id is None and not row.generated
    assert [c.id for c in store.comparisons(unfinished=True)] == [cid]
    assert store.find_comparison(cid[:6]) == row

    events.clear()
    assert run_comparison(store, cid, on_event=events.append,
                          backend_factory=factory(set(), made)) == 0
    assert [(type(e).__name__, e.position) for e in events if not isinstance(e, TaskDone)] == [
        ("ModelDone", 0), ("ModelStarting", 1), ("ModelDone", 1), ("ModelDone", 2)]
    assert [e.already for e in events if isinstance(e, ModelDone)] == [True, False, True]
    row = store.comparison(cid)
    assert row.generated and not row.finished
    sessions = {s.id: s for s in store.sessions()}
    assert [(sessions[m.session_id].comparison_id, sessions[m.session_id].comparison_position)
            for m in row.members if m.session_id] == [(cid, 0), (cid, 1), (cid, 2)]

    for member in row.members:  # rating every answer finishes the comparison
        assert member.session_id
        for state in store.task_states(member.session_id).values():
            if not state.is_warmup:
                store.rate(state.id, 3, blind=True)
    assert store.comparison(cid).finished
    assert store.comparisons(unfinished=True) == []
    assert [c.id for c in store.comparisons()] == [cid]


def test_plans_are_refused_in_one_line(tmp_path: Path) -> None:
    store = Store(tmp_path / "cmp.duckdb")
    with pytest.raises(UsageError, match=r"^a comparison needs at least 2 models"):
        plan_comparison(store, mini_catalog(), [served("a")])
    with pytest.raises(UsageError) as caught:
        plan_comparison(store, mini_catalog(), [served("a"), served("b"), served("a")])
    assert str(caught.value) == (f"a at {URL} and a at {URL} are the same model "
                                 f"({URL}#a): compare different models")
    gguf = tmp_path / "not-a-model.gguf"
    gguf.write_text("text", encoding="utf-8")
    spec = ModelSpec(BackendOptions(model=str(gguf)))
    with pytest.raises(ModelError, match="is not a GGUF model file"):
        plan_comparison(store, mini_catalog(), [spec, served("a")])
    assert store.comparisons() == []
    # the same name on two servers is two models, labelled apart
    cid = plan_comparison(store, mini_catalog(), [served("a"), served("a", "http://b/v1")],
                          seed=1)
    assert [m.label for m in store.comparison(cid).members] == [
        f"a at {URL}", "a at http://b/v1"]


def test_an_unknown_comparison_is_one_line(tmp_path: Path) -> None:
    store = Store(tmp_path / "cmp.duckdb")
    assert store.find_comparison("abc") is None
    with pytest.raises(NotFoundError, match=r"^no comparison 'abc' in "):
        store.comparison("abc")


def test_a_comparison_not_started_is_listed_with_its_models_waiting(tmp_path: Path) -> None:
    db = tmp_path / "cmp.duckdb"
    store = Store(db)
    cid = plan_comparison(store, mini_catalog(), [served("a"), served("b")], seed=1)
    store.close()
    lines = run_cli("sessions", "--db", str(db), home=tmp_path).stdout.splitlines()
    assert lines[2].split()[:5] == [cid[:8], "comparison", "of", "2", "models"]
    assert "unfinished" in lines[2]
    assert lines[3].split()[:4] == ["-", "a", "at", URL]
    assert lines[4].split()[:4] == ["-", "b", "at", URL]
    assert "waiting" in lines[3] and "waiting" in lines[4]


def test_cancel_stops_after_the_answer_in_progress_and_a_run_goes_on(tmp_path: Path) -> None:
    store = Store(tmp_path / "cmp.duckdb")
    cid = plan_comparison(store, mini_catalog(), [served("a"), served("b")], seed=2)
    cancel = threading.Event()
    events: list[Event] = []

    def stop_after_the_first(event: Event) -> None:
        events.append(event)
        if isinstance(event, TaskDone):
            cancel.set()  # as the app's stop key does

    made: list[ScriptedBackend] = []
    assert run_comparison(store, cid, on_event=stop_after_the_first, stop=cancel,
                          backend_factory=factory(set(), made)) == 0
    # the stopped model reports what it made; no other model starts
    assert [type(e).__name__ for e in events] == ["ModelStarting", "TaskDone", "ModelDone"]
    first, second = store.comparison(cid).members
    assert (first.answered, second.status) == (0, "waiting")  # the warm-up only
    assert len(made) == 1

    events.clear()
    assert run_comparison(store, cid, on_event=events.append,
                          backend_factory=factory(set(), made)) == 0
    assert [e.index for e in events if isinstance(e, TaskDone)] == [2, 3, 1, 2, 3]
    assert store.comparison(cid).generated

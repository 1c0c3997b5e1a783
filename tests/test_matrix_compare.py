"""The engine behind the matrix and compare screens, against a real DuckDB file."""

from __future__ import annotations

from pathlib import Path

import pytest

from rbyf_tui import answers, legacy, ranking, score_matrix
from rbyf_tui import catalog as catalogs
from rbyf_tui.errors import NotFoundError, UsageError
from rbyf_tui.runner import Runner
from rbyf_tui.store import Store

from conftest import LEGACY
from fakes import ScriptedBackend
from helpers import MINI, mini_catalog, new_runner


def session(db: Path, model: str, answer: str, catalog: catalogs.Catalog | None = None,
            ) -> Runner:
    runner = new_runner(db, ScriptedBackend([answer], model=model, delay_s=0.002),
                        catalog=catalog)
    for task in runner.catalog.all_tasks():
        runner.run_task(task)
    return runner


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """alpha: a=5 'crisp', b=3; beta: a=2, b unrated; gamma: b=4 (rater bob)."""
    path = tmp_path / "rbyf.duckdb"
    store = Store(path)
    for model, answer, scores in (("alpha", "alpha says hi", {"a": (5, "crisp"), "b": (3, "")}),
                                  ("beta", "beta says hello", {"a": (2, "vague")}),
                                  ("gamma", "gamma answers", {"b": (4, "by bob")})):
        runner = session(path, model, answer)
        states = store.task_states(runner.session_id)
        for key, (score, remarks) in scores.items():
            store.rate(states[key].id, score, remarks,
                       rater="bob" if model == "gamma" else None)
    return path


def test_matrix_cells_are_the_counted_scores_and_open_their_answers(db: Path) -> None:
    store = Store(db)
    grid = score_matrix.matrix(store, "mini")
    assert [(t.key, t.title) for t in grid.tasks] == [("a", "Task A"), ("b", "Task B")]
    assert grid.columns == ("model", "n_rated", "total", "mean", "a", "b")
    assert [(r.model, r.score("a"), r.score("b")) for r in grid.rows] == [
        ("alpha", 5, 3), ("gamma", None, 4), ("beta", 2, None)]  # best mean first
    board = {s.model: (s.n_rated, s.total) for s in ranking.leaderboard(store, "mini")}
    assert {r.model: (r.n_rated, r.total) for r in grid.rows} == board
    cell = grid.cell("scripted:alpha", "a")
    assert cell is not None and cell.score == 5
    opened = answers.answer(store, cell.generation_id)
    assert (opened.model, opened.task_key, opened.score, opened.remarks) == (
        "alpha", "a", 5, "crisp")
    assert opened.response == "alpha says hi" and opened.prompt == "First task."
    assert opened.figures["completion_tokens"] == 3 and opened.figures["ttft_s"] > 0
    assert set(opened.figures) >= {"ttft_s", "total_s", "prompt_tokens", "decode_tps",
                                   "e2e_tps", "prompt_tiktoken", "completion_tiktoken"}
    assert grid.cell("scripted:beta", "b") is None


def test_matrix_sorting_by_any_column(db: Path) -> None:
    grid = score_matrix.matrix(Store(db), "mini")

    def models(column: str, descending: bool | None = None) -> list[str]:
        return [r.model for r in grid.sorted_by(column, descending).rows]

    assert models("a") == ["alpha", "beta", "gamma"]  # empty cells last...
    assert models("a", descending=False) == ["beta", "alpha", "gamma"]  # ...both ways
    assert models("b") == ["gamma", "alpha", "beta"]
    assert models("model") == ["alpha", "beta", "gamma"]
    assert models("model", descending=True) == ["gamma", "beta", "alpha"]
    assert models("n_rated") == ["alpha", "beta", "gamma"]  # ties keep name order
    assert models("total", descending=False) == ["beta", "gamma", "alpha"]
    with pytest.raises(ValueError, match="no column 'zzz'"):
        grid.sorted_by("zzz")


def test_matrix_filters_by_rater_and_catalog(db: Path) -> None:
    store = Store(db)
    assert [r.model for r in score_matrix.matrix(store, "mini", rater="bob").rows] == ["gamma"]
    assert score_matrix.matrix(store, "mini", rater="nobody").rows == ()
    empty = score_matrix.matrix(store, "rbyf-v2")
    assert (empty.tasks, empty.rows) == ((), ())


def test_matrix_keeps_tasks_of_an_older_catalog_version(db: Path) -> None:
    newer = catalogs.parse(MINI.replace('key = "b"\ntitle = "Task B"\nprompt = "Second task."',
                                        'key = "c"\ntitle = "Task C"\nprompt = "Third task."'),
                           "mini.toml")
    runner = session(db, "delta", "delta speaks", catalog=newer)
    store = Store(db)
    store.rate(store.task_states(runner.session_id)["c"].id, 1)
    grid = score_matrix.matrix(store, "mini")
    assert [(t.key, t.title) for t in grid.tasks] == [("a", "Task A"), ("c", "Task C"),
                                                       ("b", "Task B")]
    assert grid.sorted_by("c").rows[0].model == "delta"


def test_matrix_of_the_imported_runs(tmp_path: Path) -> None:
    store = Store(tmp_path / "rbyf.duckdb")
    legacy.import_paths(store, [LEGACY])
    grid = score_matrix.matrix(store, "rbyf-v2")
    assert [t.title for t in grid.tasks] == [t.title for t in catalogs.resolve("rbyf-v2").tasks]
    assert [(r.model, r.total) for r in grid.rows] == [
        ("gemma-2-2b-it-q5_k_m", 70), ("Llama-3.2-3B-Instruct", 69),
        ("qwen2.5-1.5b-instruct-q5_k_m", 57), ("Llama-3.2-1B-Instruct-Q8_0", 44)]
    for descending in (True, False):
        assert grid.sorted_by("i-am-ready", descending).rows[-1].model == (
            "Llama-3.2-1B-Instruct-Q8_0")
    qwen = next(r for r in grid.rows if r.model.startswith("qwen"))
    story = answers.answer(store, qwen.cells["sf-story"].generation_id)
    assert (story.score, story.remarks) == (
        0, "- not ended generation with repeated text all over the place.")
    assert story.response.startswith("**The Last Transmission**")
    assert story.extra["legacy"]["seed_figures"]["output_tokens"] == 1696


def test_compare_puts_answers_side_by_side(db: Path) -> None:
    store = Store(db)
    side = answers.compare(store, "mini", ["beta", "scripted:alpha"])
    assert [(m.model_id, m.name) for m in side.models] == [("scripted:beta", "beta"),
                                                           ("scripted:alpha", "alpha")]
    assert [(r.task_key, r.task_title) for r in side.rows] == [("a", "Task A"), ("b", "Task B")]
    a, b = side.rows
    assert [(x.response, x.score, x.remarks) for x in a.answers if x] == [
        ("beta says hello", 2, "vague"), ("alpha says hi", 5, "crisp")]
    beta_b, alpha_b = b.answers
    assert beta_b is not None and (beta_b.response, beta_b.score) == ("beta says hello", None)
    assert alpha_b is not None and alpha_b.score == 3
    assert all(x is not None and x.figures["total_s"] > 0 for x in a.answers)


def test_compare_shows_the_rated_attempt_then_the_latest(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    first = session(db, "alpha", "first answer")
    session(db, "beta", "beta answer")
    store = Store(db)
    store.rate(store.task_states(first.session_id)["a"].id, 4, "the rated one")
    first.backend.answers = ["second answer"]  # type: ignore[attr-defined]
    first.run_task(mini_catalog().task("a"))  # regenerated, not rated
    first.run_task(mini_catalog().task("b"))  # regenerated, b never rated
    rows = {r.task_key: r for r in answers.compare(store, "mini", ["alpha", "beta"]).rows}
    alpha_a, alpha_b = rows["a"].answers[0], rows["b"].answers[0]
    assert alpha_a is not None and (alpha_a.response, alpha_a.attempt, alpha_a.score) == (
        "first answer", 1, 4)
    assert alpha_b is not None and (alpha_b.response, alpha_b.attempt, alpha_b.score) == (
        "second answer", 2, None)


def test_compare_of_imported_runs_and_a_missing_task(tmp_path: Path) -> None:
    store = Store(tmp_path / "rbyf.duckdb")
    legacy.import_paths(store, [LEGACY])
    side = answers.compare(store, "rbyf-v2", ["qwen2.5-1.5b-instruct-q5_k_m",
                                              "Llama-3.2-1B-Instruct-Q8_0"])
    ready = next(r for r in side.rows if r.task_key == "i-am-ready")
    qwen, llama = ready.answers
    assert llama is None and qwen is not None and qwen.response == "I am ready."
    two = next(r for r in side.rows if r.task_key == "two-sentence-summary").answers
    assert [(x.score, x.remarks[:22]) for x in two if x] == [
        (1, "- there are made up in"), (5, "")]


def test_compare_needs_two_known_models(db: Path) -> None:
    store = Store(db)
    with pytest.raises(UsageError, match="two or more"):
        answers.compare(store, "mini", ["alpha", "scripted:alpha"])
    with pytest.raises(NotFoundError, match="no model 'omega'"):
        answers.compare(store, "mini", ["alpha", "omega"])
    # An imported model named like a scripted one makes that name ambiguous.
    legacy.import_paths(store, [LEGACY / "gemma-2-2b-it_CPP_8DYBB.csv"], model="alpha")
    with pytest.raises(UsageError, match="ambiguous"):
        answers.compare(store, "mini", ["alpha", "beta"])


def test_an_answer_with_the_rating_of_one_rater(db: Path) -> None:
    store = Store(db)
    cell = score_matrix.matrix(store, "mini").cell("scripted:gamma", "b")
    assert cell is not None
    store.rate(cell.generation_id, 1, "ann disagrees", rater="ann")
    assert answers.answer(store, cell.generation_id).remarks == "ann disagrees"
    by_bob = answers.answer(store, cell.generation_id, rater="bob")
    assert (by_bob.score, by_bob.remarks, by_bob.rater) == (4, "by bob", "bob")
    with pytest.raises(NotFoundError):
        answers.answer(store, "0" * 32)

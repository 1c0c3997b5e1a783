"""Leaderboard math and counting rules: bootstrap intervals, ranks, chart data, against a
real DuckDB file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rbyf_tui import legacy, ranking
from rbyf_tui.catalog import Catalog
from rbyf_tui.runner import Runner
from rbyf_tui.store import Store

from conftest import LEGACY
from fakes import ScriptedBackend
from helpers import mini_catalog, new_runner


def counts(scores: list[int]) -> list[int]:
    return np.bincount(scores, minlength=6).tolist()


def test_the_interval_is_the_bootstrap_of_the_mean_over_tasks() -> None:
    """Exact percentiles equal a seeded resampling of the tasks (within one score step)."""
    rng = np.random.default_rng(7)
    for n in (3, 14, 40):
        scores = rng.integers(0, 6, size=n)
        low, high = ranking.bootstrap_interval([counts(list(scores))])
        means = rng.choice(scores, size=(40_000, n)).mean(axis=1)
        mc_low, mc_high = np.quantile(means, [0.025, 0.975], method="inverted_cdf")
        assert abs(low[0] - mc_low) <= 1 / n + 1e-12 and abs(high[0] - mc_high) <= 1 / n + 1e-12
    qwen = [4, 5, 5, 5, 5, 1, 5, 5, 5, 5, 4, 5, 0, 3]  # the old scripts' Qwen2.5-1.5B run
    low, high = ranking.bootstrap_interval([counts(qwen)])
    assert (low[0], high[0]) == (pytest.approx(44 / 14), pytest.approx(67 / 14))


def test_the_interval_is_deterministic_and_each_models_own() -> None:
    rng = np.random.default_rng(1)
    table = [counts(list(rng.integers(0, 6, size=int(n)))) for n in rng.integers(1, 120, 50)]
    low, high = ranking.bootstrap_interval(table)
    again = ranking.bootstrap_interval(table)
    assert np.array_equal(low, again[0]) and np.array_equal(high, again[1])
    for i in (0, 17, 49):  # alone, or among others in another order: the same numbers
        alone = ranking.bootstrap_interval([table[i]])
        assert (alone[0][0], alone[1][0]) == (low[i], high[i])
    shuffled = ranking.bootstrap_interval(table[::-1])
    assert np.array_equal(shuffled[0][::-1], low)


def test_interval_sanity() -> None:
    rng = np.random.default_rng(3)
    for _ in range(200):
        scores = list(rng.integers(0, 6, size=int(rng.integers(1, 60))))
        low, high = ranking.bootstrap_interval([counts(scores)])
        assert 0 <= low[0] <= np.mean(scores) <= high[0] <= 5
    same = ranking.bootstrap_interval([[0, 0, 0, 7, 0, 0], [0, 0, 0, 0, 0, 1]])
    assert list(same[0]) == [3.0, 5.0] and list(same[1]) == [3.0, 5.0]
    # Same proportions, more tasks: a narrower interval.
    small, large = (ranking.bootstrap_interval([[0, 1, 0, 1, 0, 2]]),
                    ranking.bootstrap_interval([[0, 10, 0, 10, 0, 20]]))
    assert large[1][0] - large[0][0] < small[1][0] - small[0][0]
    assert ranking.bootstrap_interval([[3, 0, 0, 0, 0, 3]])[0][0] < 2.5 < (
        ranking.bootstrap_interval([[3, 0, 0, 0, 0, 3]])[1][0])
    nothing = ranking.bootstrap_interval([[0] * 6])
    assert np.isnan(nothing[0][0]) and np.isnan(nothing[1][0])


def test_rank_counts_the_models_clearly_above() -> None:
    #          A: 4.0-5.0  B: 3.5-4.5  C: 1.0-2.0  D: 2.5-3.6  E: 4.6-5.0
    low = [4.0, 3.5, 1.0, 2.5, 4.6]
    high = [5.0, 4.5, 2.0, 3.6, 5.0]
    # A, B, E overlap each other's top; B's top 4.5 is under E's bottom 4.6: E is above B.
    # D: A (4.0), E (4.6) start above 3.6; B (3.5) does not. C: all but itself above 2.0.
    assert ranking.ranks(low, high) == [1, 2, 5, 3, 1]
    assert ranking.ranks([3.0, 3.0], [3.0, 3.0]) == [1, 1]  # touching is overlapping
    assert ranking.ranks([], []) == []


def test_ranks_are_per_catalog() -> None:
    def row(model: str, catalog: str, scores: list[int]) -> dict[str, object]:
        return {"model": model, "model_id": model, "catalog": catalog, "n_rated": len(scores),
                "n_tasks": len(scores), "total": sum(scores), "mean": np.mean(scores),
                "median_ttft_s": None, "median_prompt_tps": None, "median_decode_tps": None,
                "score_counts": counts(scores)}

    standings = ranking.rank_rows([row("a", "one", [5] * 10), row("b", "one", [1] * 10),
                                   row("c", "two", [1] * 10)])
    assert [(s.model, s.rank) for s in standings] == [("a", 1), ("b", 2), ("c", 1)]
    assert ranking.rank_rows([]) == []


def run_all(db: Path, model: str, catalog: Catalog | None = None) -> Runner:
    runner = new_runner(db, ScriptedBackend(["one two three four five six"], model=model,
                                        delay_s=0.002),
                        catalog=catalog)
    for task in runner.catalog.all_tasks():
        runner.run_task(task)
    return runner


def test_the_counting_rules_against_a_real_db(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    runner = run_all(db, "alpha")
    store = runner.store
    states = store.task_states(runner.session_id)
    store.rate(states["warm"].id, 0, "the warm-up never counts")
    store.rate(states["a"].id, 2, "first look")
    store.rate(states["b"].id, 4)
    regenerated = runner.run_task(mini_catalog().task("a"))  # attempt 2, not rated yet
    board = ranking.leaderboard(store)
    assert [(s.n_rated, s.total) for s in board] == [(2, 6)]  # the rated attempt counts
    store.rate(regenerated.generation_id, 5, "the new answer is better")
    store.rate(states["b"].id, 1, "on reflection")  # re-rated: the latest counts
    standing = ranking.leaderboard(store)[0]
    assert (standing.n_rated, standing.total, standing.mean) == (2, 6, 3.0)
    assert standing.n_tasks == 2 and standing.catalog == "mini"
    assert standing.ci_low == 1.0 and standing.ci_high == 5.0 and standing.rank == 1
    # The speeds are medians over the answers that count: attempt 2 of a, and b.
    a2 = store.generation(regenerated.generation_id)
    b = store.generation(states["b"].id)
    assert standing.median_ttft_s == pytest.approx((a2["ttft_s"] + b["ttft_s"]) / 2)
    assert standing.median_decode_tps == pytest.approx(
        (a2["decode_tps"] + b["decode_tps"]) / 2)
    assert standing.median_prompt_tps == pytest.approx((a2["prompt_tps"] + b["prompt_tps"]) / 2)


def test_rater_filter_and_models_across_sessions(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    first = run_all(db, "alpha")
    second = run_all(db, "alpha")  # the same model again, in a later session
    other = run_all(db, "beta")
    store = Store(db)
    for runner, scores, rater in ((first, (5, 5), "ann"), (second, (1, None), "bob"),
                                  (other, (3, 3), "ann")):
        states = store.task_states(runner.session_id)
        for key, score in zip("ab", scores, strict=True):
            if score is not None:
                store.rate(states[key].id, score, rater=rater)
    board = {s.model: s for s in ranking.leaderboard(store)}
    # Per model and task the latest rating counts, whichever session it is in.
    assert (board["alpha"].n_rated, board["alpha"].total) == (2, 6)
    assert (board["beta"].n_rated, board["beta"].total) == (2, 6)
    ann = {s.model: s for s in ranking.leaderboard(store, rater="ann")}
    assert (ann["alpha"].total, ann["beta"].total) == (10, 6)
    assert [s.model for s in ranking.leaderboard(store, rater="bob")] == ["alpha"]
    assert ranking.leaderboard(store, catalog="nope") == []
    assert {s.catalog for s in ranking.leaderboard(store, catalog="mini")} == {"mini"}


def test_chart_data(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    runner = run_all(db, "alpha")
    store = runner.store
    states = store.task_states(runner.session_id)
    store.rate(states["a"].id, 4)
    store.rate(states["b"].id, 2)
    legacy.import_paths(store, [LEGACY / "gemma-2-2b-it_CPP_8DYBB.csv"])  # no speeds
    standings = ranking.leaderboard(store)
    chart = ranking.chart(standings, "mini")
    assert [p.model for p in chart.points] == ["alpha"] and chart.without_speed == ()
    point = chart.points[0]
    assert point.mean == 3.0 and point.decode_tps == standings[0].median_decode_tps
    assert chart.x_max == pytest.approx(point.decode_tps * 1.05)
    # 3.0 of 5 on a 10-row grid is row 4 from the top; the speed at 1/1.05 of the width.
    assert chart.place(21, 10) == [(20, 4, point)]
    imported = ranking.chart(standings, "rbyf-v2")
    assert imported.points == () and imported.without_speed == ("gemma-2-2b-it",)
    with pytest.raises(ValueError):
        chart.place(0, 10)


def counted_rows(db: Path) -> list[tuple[object, ...]]:
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT * FROM counted ORDER BY ALL").fetchall()
    finally:
        con.close()


def test_the_counted_table_kept_while_rating_equals_a_rebuild(tmp_path: Path) -> None:
    """Store keeps the counted rating of each model and task as it writes ratings; after
    re-ratings, regenerations, several raters and imports of old, earlier ratings, what it
    kept is exactly what a rebuild from all ratings gives."""
    db = tmp_path / "rbyf.duckdb"
    first = run_all(db, "alpha")
    second = run_all(db, "alpha")
    store = Store(db)
    one, two = store.task_states(first.session_id), store.task_states(second.session_id)
    store.rate(one["warm"].id, 5, rater="ann")
    store.rate(one["a"].id, 1, rater="ann")
    store.rate(two["a"].id, 4, rater="bob")
    store.rate(one["a"].id, 2, rater="ann")  # ann re-rates the older session's answer
    store.rate(one["b"].id, 3, rater="bob")
    again = first.run_task(mini_catalog().task("b"))
    store.rate(again.generation_id, 5, rater="ann")
    legacy.import_paths(store, [LEGACY])  # 2024 ratings: older than all of the above
    legacy.import_paths(store, [LEGACY / "gemma-2-2b-it_CPP_8DYBB.csv"], model="alpha")
    kept = counted_rows(db)
    # Rows for all raters and for each rater: four imported runs (one without "I am ready"),
    # the gemma CSV again under the name alpha, and alpha's two tasks (raters ann and bob).
    assert len(kept) == 2 * (14 + 14 + 14 + 13) + 2 * 14 + (2 + 2 * 2)
    store.rebuild_counted()
    assert counted_rows(db) == kept
    alpha = ranking.leaderboard(store, "mini")[0]
    assert (alpha.n_rated, alpha.total) == (2, 7)  # a: ann's 2 (latest), b: ann's 5
    bob = ranking.leaderboard(store, "mini", "bob")[0]  # a: bob's 4, b: bob's 3
    assert (bob.n_rated, bob.total, bob.mean) == (2, 7, 3.5)


def test_every_rating_goes_through_the_store() -> None:
    """The counted table stays right only if ratings are written by writes.insert_rating."""
    from conftest import REPO

    writers = sorted(str(p.relative_to(REPO)) for p in (REPO / "rbyf_tui").rglob("*.py")
                     if "INSERT INTO ratings" in p.read_text(encoding="utf-8"))
    assert writers == ["rbyf_tui/store/writes.py"]

"""Ranking from battles: the Bradley–Terry fit against independent computations, its
bootstrap intervals, and `rbyf leaderboard --method bt` on a real DuckDB file."""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
import random
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from rbyf_tui.bradley_terry import SCALE, PoissonDraw, bt_ranking, kendall_tau
from rbyf_tui.store import Store, Vote

from conftest import assert_one_line_error, run_cli
from fakes import ScriptedBackend
from helpers import new_runner

T0 = datetime(2026, 12, 3, 14, 0)


def vote(left: str, right: str, verdict: str, n: int = 0, catalog: str = "c",
         rater: str | None = None) -> Vote:
    return Vote(f"v{n}", catalog, f"t{n % 7}", f"g{n}l", f"g{n}r", left, right, verdict,
                None, rater, T0 + timedelta(seconds=n))


def votes_from(outcomes: list[tuple[str, str, str]]) -> list[Vote]:
    return [vote(a, b, v, n) for n, (a, b, v) in enumerate(outcomes)]


def by_id(report: object) -> dict[str, object]:
    return {r.model_id: r for r in report.rows}  # type: ignore[attr-defined]


def test_three_wins_to_one_is_400_log10_3_apart() -> None:
    # a beats b three times, b beats a once; a is on either side.
    votes = votes_from([("a", "b", "left"), ("b", "a", "right"), ("a", "b", "left"),
                        ("b", "a", "left")])
    report = bt_ranking(votes, names={"a": "Alpha", "b": "Beta"})
    a, b = report.rows
    assert (a.model, b.model) == ("Alpha", "Beta")
    # The ridge that keeps undefeated models finite moves this by well under a point.
    assert a.rating - b.rating == pytest.approx(400 * math.log10(3), abs=0.5)
    assert (a.rating + b.rating) / 2 == pytest.approx(1000)
    assert (a.votes, b.votes, a.win_rate, b.win_rate) == (4, 4, 0.75, 0.25)
    assert a.ci_low < a.rating < a.ci_high and b.ci_low < b.rating < b.ci_high
    assert (a.rank, b.rank) == (1, 1)  # four votes cannot tell them apart
    assert report.win_matrix == {("a", "b"): 0.75, ("b", "a"): 0.25}
    assert (report.left_share, report.decisive, report.counted) == (0.75, 4, 4)  # 3 of 4 left


def test_ties_count_half_and_both_bad_is_a_tie_or_left_out() -> None:
    # a: one win and two ties in three votes = 2 points of 3: odds 2 to 1.
    votes = votes_from([("a", "b", "left"), ("a", "b", "tie"), ("b", "a", "tie")])
    a, b = bt_ranking(votes).rows
    assert a.rating - b.rating == pytest.approx(400 * math.log10(2), abs=0.5)
    assert a.win_rate == pytest.approx(2 / 3)
    with_bad = votes_from([("a", "b", "left"), ("a", "b", "both_bad"), ("b", "a", "tie")])
    as_tie = bt_ranking(with_bad)
    assert [r.rating for r in as_tie.rows] == [r.rating for r in bt_ranking(votes).rows]
    dropped = bt_ranking(with_bad, both_bad="drop")
    assert dropped.counted == 2 and dropped.rows[0].votes == 2
    assert dropped.rows[0].rating - dropped.rows[1].rating == pytest.approx(
        400 * math.log10(3), abs=0.5)
    assert (dropped.left_share, dropped.decisive) == (1.0, 1)  # the one decisive vote: left
    with pytest.raises(ValueError, match="both_bad"):
        bt_ranking(votes, both_bad="ignore")


def zermelo(outcomes: list[tuple[str, str, str]], rounds: int = 20_000) -> dict[str, float]:
    """The textbook MM iteration (Zermelo 1929, Hunter 2004), ties half a win, written
    without numpy: strengths p_i <- W_i / sum_j n_ij / (p_i + p_j)."""
    models = sorted({m for a, b, _ in outcomes for m in (a, b)})
    wins = dict.fromkeys(models, 0.0)
    games: dict[tuple[str, str], int] = {}
    for a, b, verdict in outcomes:
        share = {"left": 1.0, "right": 0.0}.get(verdict, 0.5)
        wins[a] += share
        wins[b] += 1.0 - share
        for pair in ((a, b), (b, a)):
            games[pair] = games.get(pair, 0) + 1
    p = dict.fromkeys(models, 1.0)
    for _ in range(rounds):
        p = {i: wins[i] / sum(n / (p[i] + p[j]) for (x, j), n in games.items() if x == i)
             for i in models}
        mean_log = sum(math.log(v) for v in p.values()) / len(p)
        p = {i: v / math.exp(mean_log) for i, v in p.items()}
    return {i: 1000 + SCALE * math.log(v) for i, v in p.items()}


def test_the_fit_equals_an_independent_computation() -> None:
    rng = random.Random(5)
    strengths = {"a": 1.2, "b": 0.5, "c": 0.0, "d": -0.3, "e": -1.0}
    outcomes = []
    for _ in range(300):
        x, y = rng.sample(sorted(strengths), 2)
        p = 1 / (1 + math.exp(strengths[y] - strengths[x]))
        r = rng.random()
        outcomes.append((x, y, "tie" if r < 0.1 else "left" if r < 0.1 + 0.9 * p else "right"))
    expected = zermelo(outcomes)
    report = bt_ranking(votes_from(outcomes), rounds=10)
    for row in report.rows:
        assert row.rating == pytest.approx(expected[row.model_id], abs=0.5)
    assert [r.model_id for r in report.rows] == sorted(expected, key=lambda m: -expected[m])


def synthetic(ratings: dict[str, float], count: int, seed: int) -> list[Vote]:
    """Votes from known ratings: random pairs, random sides, the winner drawn by the model."""
    rng = random.Random(seed)
    models = sorted(ratings)
    out = []
    for n in range(count):
        left, right = rng.sample(models, 2)
        p_left = 1 / (1 + 10 ** ((ratings[right] - ratings[left]) / 400))
        out.append(vote(left, right, "left" if rng.random() < p_left else "right", n))
    return out


def test_known_strengths_are_recovered_within_their_intervals() -> None:
    truth = {"m1": 1150.0, "m2": 1075.0, "m3": 1000.0, "m4": 950.0, "m5": 900.0,
             "m6": 925.0}
    mean = sum(truth.values()) / len(truth)
    truth = {m: r - mean + 1000 for m, r in truth.items()}  # centred like the fit
    report = bt_ranking(synthetic(truth, 4000, seed=11))
    assert [r.model_id for r in report.rows] == sorted(truth, key=lambda m: -truth[m])
    inside = [r.ci_low <= truth[r.model_id] <= r.ci_high for r in report.rows]
    assert sum(inside) >= 5, [(r.model_id, r.ci_low, truth[r.model_id], r.ci_high)
                              for r in report.rows]
    for r in report.rows:
        half = (r.ci_high - r.ci_low) / 2
        assert abs(r.rating - truth[r.model_id]) < 1.5 * half
        assert 10 < half < 40  # ~1,300 votes per model: a few dozen points, not 0, not 400
    # 75 points apart with this many votes: clearly separated, so different ranks.
    assert [r.rank for r in report.rows][:2] == [1, 2]
    assert report.left_share is not None and abs(report.left_share - 0.5) < 0.05


def test_the_interval_has_the_width_theory_gives() -> None:
    """Two models, 400 votes, 60% to a: the log-odds' standard error is 1/sqrt(n p (1-p));
    each rating is half the gap from the centre, so its 95% half-width is 1.96 x SE / 2."""
    votes = votes_from([("a", "b", "left" if n < 240 else "right") for n in range(400)])
    a = by_id(bt_ranking(votes, rounds=4000))["a"]
    expected = 1.96 * SCALE / math.sqrt(400 * 0.6 * 0.4) / 2
    assert (a.ci_high - a.ci_low) / 2 == pytest.approx(expected, rel=0.12)  # type: ignore[attr-defined]


def test_the_bootstrap_is_deterministic_and_order_free() -> None:
    votes = synthetic({"a": 1050, "b": 1000, "c": 950, "d": 1000}, 600, seed=3)
    first, again = bt_ranking(votes, seed=4), bt_ranking(votes, seed=4)
    assert first == again
    shuffled = list(votes)
    random.Random(1).shuffle(shuffled)
    assert bt_ranking(shuffled, seed=4) == first  # counts, not order, decide
    other = bt_ranking(votes, seed=5)
    assert [r.rating for r in other.rows] == [r.rating for r in first.rows]
    assert [r.ci_low for r in other.rows] != [r.ci_low for r in first.rows]


def test_the_quick_bootstrap_refits_equal_full_newton() -> None:
    """Each bootstrap round is refitted by steps that reuse the full fit's curvature; the
    result must be the round's own maximum likelihood, as full Newton finds it."""
    from rbyf_tui import bradley_terry as bt

    for models, count in ((12, 3000), (6, 150)):
        ratings = {f"m{k}": 1000 + 40.0 * k for k in range(models)}
        tally = bt._tally(synthetic(ratings, count, seed=models), "tie")
        pairs, m = len(tally.i), len(tally.models)
        strength = bt.fit(tally.i, tally.j, tally.wins_i + tally.ties / 2,
                          tally.wins_i + tally.wins_j + tally.ties, m)
        draw = bt.PoissonDraw(np.concatenate([tally.wins_i, tally.wins_j, tally.ties]))
        wins_i, wins_j, ties = draw(np.random.default_rng(1), 50).reshape(
            50, 3, pairs).transpose(1, 0, 2)
        quick = bt._Refit(tally, strength)(wins_i + ties / 2, wins_i + wins_j + ties)
        exact = bt.fit(tally.i, tally.j, wins_i + ties / 2, wins_i + wins_j + ties, m,
                       start=strength)
        assert np.abs(quick - exact).max() * SCALE < 0.1  # rating points
        assert np.abs(quick - strength).max() * SCALE > 5  # the rounds do differ


def test_undefeated_models_unmet_pairs_and_catalogs() -> None:
    # a won everything; c and d never met anyone but each other.
    votes = votes_from([("a", "b", "left")] * 5 + [("c", "d", "tie"), ("d", "c", "left")])
    report = bt_ranking(votes)
    rows = by_id(report)
    assert all(math.isfinite(r.rating) and math.isfinite(r.ci_high) for r in report.rows)
    assert report.rows[0].model_id == "a" and rows["a"].win_rate == 1.0  # type: ignore[attr-defined]
    assert report.win_matrix[("a", "c")] is None and report.win_matrix[("c", "d")] == 0.25
    assert bt_ranking([]).rows == []
    mixed = [vote("a", "b", "left", 0, catalog="one"), vote("a", "b", "left", 1, "two")]
    with pytest.raises(ValueError, match="one catalog at a time"):
        bt_ranking(mixed)
    assert bt_ranking([vote("a", "a", "left")]).rows == []  # a model against itself: no vote


def test_kendall_tau() -> None:
    assert kendall_tau(["a", "b", "c"], ["a", "b", "c"]) == 1.0
    assert kendall_tau(["a", "b", "c"], ["c", "b", "a"]) == -1.0
    assert kendall_tau(["a", "b", "c", "x"], ["b", "a", "c", "y"]) == pytest.approx(1 / 3)
    assert kendall_tau(["a", "b"], ["a", "z"]) is None
    # Against a brute-force count over every pair.
    rng = random.Random(2)
    one = [f"m{k}" for k in range(9)]
    two = rng.sample(one, 9)
    place = {m: k for k, m in enumerate(two)}
    pairs = list(itertools.combinations(one, 2))
    concordant = sum(place[x] < place[y] for x, y in pairs)
    assert kendall_tau(one, two) == pytest.approx((2 * concordant - len(pairs)) / len(pairs))


def test_the_poisson_draws_have_the_right_mean_and_spread() -> None:
    counts = np.array([0, 1, 3, 7, 40, 2500])
    drawn = PoissonDraw(counts)(np.random.default_rng(0), 40_000)
    assert drawn.shape == (40_000, 6) and drawn[:, 0].max() == 0
    for k, c in enumerate(counts[1:], 1):
        assert drawn[:, k].mean() == pytest.approx(c, rel=0.02)
        assert drawn[:, k].var() == pytest.approx(c, rel=0.05)
    assert (np.bincount(drawn[:, 1].astype(int), minlength=3)[:3] / 40_000
            == pytest.approx([math.exp(-1), math.exp(-1), math.exp(-1) / 2], abs=0.01))


# --- the command, on a real DuckDB file ---------------------------------------------------


def seed_db(db: Path) -> tuple[Store, dict[str, dict[str, str]]]:
    """Three scripted models answering the mini catalog, rated, then battle votes between
    their answers: alpha beats beta beats gamma, mostly. Returns the store and each
    model's generation id per task."""
    answers: dict[str, dict[str, str]] = {}
    store = Store(db)
    for name, score in (("alpha", 5), ("beta", 3), ("gamma", 1)):
        runner = new_runner(db, ScriptedBackend(["an answer"], model=name))
        for task in runner.catalog.all_tasks():
            runner.run_task(task)
        states = store.task_states(runner.session_id)
        answers[name] = {key: states[key].id for key in ("a", "b")}
        for key in ("a", "b"):
            store.rate(states[key].id, score)
    models = dict((name, mid) for mid, name in store.models_named(list(answers)))
    plan = [("alpha", "beta", "left")] * 6 + [("beta", "alpha", "left")] * 2 + \
        [("beta", "gamma", "left")] * 5 + [("gamma", "beta", "tie")] * 2 + \
        [("alpha", "gamma", "both_bad")] * 2 + [("gamma", "alpha", "right")] * 4
    rows = [(f"vote{n:03d}", "mini", "ab"[n % 2], answers[a]["ab"[n % 2]],
             answers[b]["ab"[n % 2]], models[a], models[b], verdict, None, "tester",
             T0 + timedelta(seconds=n)) for n, (a, b, verdict) in enumerate(plan)]
    store.db.write(lambda con: con.executemany(
        "INSERT INTO votes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows))
    return store, answers


def test_store_votes_reads_them_back(tmp_path: Path) -> None:
    store, _ = seed_db(tmp_path / "rbyf.duckdb")
    votes = store.votes("mini")
    assert len(votes) == 21 and votes[0].id == "vote000" and votes[-1].id == "vote020"
    assert isinstance(votes[0].created_at, datetime) and votes[0].catalog_name == "mini"
    assert store.votes("other") == [] and len(store.votes(rater="tester")) == 21
    assert store.votes(rater="nobody") == []


def test_cli_bt_leaderboard(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    store, _ = seed_db(db)
    expected = bt_ranking(store.votes("mini"), names=dict(store.models_named(
        ["alpha", "beta", "gamma"])))
    store.close()
    out = run_cli("leaderboard", "--db", str(db), "--method", "bt", "--format", "json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [list(r) for r in rows] == [["model", "catalog", "rating", "ci_low", "ci_high",
                                        "rank", "votes", "win_rate"]] * 3
    assert [r["model"] for r in rows] == ["alpha", "beta", "gamma"]
    for row, want in zip(rows, expected.rows, strict=True):
        assert row["catalog"] == "mini"
        assert (row["rating"], row["ci_low"], row["ci_high"], row["rank"], row["votes"]) == (
            pytest.approx(want.rating), pytest.approx(want.ci_low),
            pytest.approx(want.ci_high), want.rank, want.votes)
    assert rows[0]["votes"] == 14 and rows[0]["win_rate"] == pytest.approx(11 / 14)

    table = run_cli("leaderboard", "--db", str(db), "--method", "bt")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["rank", "model", "catalog", "rating", "95%", "CI", "votes",
                                "win", "rate"]
    assert lines[2].split()[1:3] == ["alpha", "mini"]
    # left won: 6 + 2 + 5 of the alpha-beta and beta-gamma votes, none of the 4 right wins
    assert "the left answer won 76% of 17 decisive votes" in table.stdout  # 13 of 17
    assert "Kendall's tau +1.00 over 3 models" in table.stdout  # scores 5 > 3 > 1, same order
    assert "win rate of the row's model" in table.stdout

    dropped = run_cli("leaderboard", "--db", str(db), "--method", "bt", "--both-bad", "drop",
                      "--format", "csv")
    parsed = list(csv.DictReader(io.StringIO(dropped.stdout)))
    assert [r["votes"] for r in parsed] == ["12", "15", "11"]  # alpha lost 2 both-bad votes

    for args in (["--catalog", "other"], ["--rater", "nobody"]):
        empty = run_cli("leaderboard", "--db", str(db), "--method", "bt", *args)
        assert empty.returncode == 0 and "no battle votes yet" in empty.stdout, args
    mine = run_cli("leaderboard", "--db", str(db), "--method", "bt", "--rater", "tester",
                   "--format", "json")
    assert json.loads(mine.stdout) == rows
    assert_one_line_error(run_cli("leaderboard", "--db", str(db), "--method", "bt",
                                  "--by-rater"), code=2)

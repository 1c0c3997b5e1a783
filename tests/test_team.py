"""Team stores with real DB files: merge without duplicates, several files read as one, agreement."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest

from rbyf_tui.agreement import quadratic_kappa
from rbyf_tui.runner import Runner
from rbyf_tui.store import Store

from conftest import assert_one_line_error, run_cli
from fakes import ScriptedBackend
from helpers import mini_catalog, new_runner


def rated_db(path: Path, rater: str, scores: dict[str, int], model: str = "m1") -> str:
    backend = ScriptedBackend()
    backend._info.key = f"scripted:{model}"
    backend._info.name = model
    runner = new_runner(path, backend)
    for task in runner.catalog.all_tasks():
        runner.run_task(task)
    states = runner.store.task_states(runner.session_id)
    for key, score in scores.items():
        runner.store.rate(states[key].id, score, f"{rater} says {score}", rater)
    return runner.session_id


def board(*dbs: Path, extra: tuple[str, ...] = ()) -> list[dict[str, object]]:
    args = ["leaderboard", "--format", "json", *extra]
    for db in dbs:
        args += ["--db", str(db)]
    result = run_cli(*args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_merge_brings_sessions_in_once(tmp_path: Path) -> None:
    a, b, team = tmp_path / "alice.duckdb", tmp_path / "bob.duckdb", tmp_path / "team.duckdb"
    sa = rated_db(a, "alice", {"a": 4, "b": 5})
    sb = rated_db(b, "bob", {"a": 2}, model="m2")
    result = run_cli("merge", str(a), str(b), "--into", str(team))
    assert result.returncode == 0, result.stderr
    assert "added 1 models, 1 catalogs, 1 sessions, 3 generations, 2 ratings" in result.stdout
    sessions = {s.id: s for s in Store(team).sessions()}
    assert set(sessions) == {sa, sb}
    assert sessions[sa].rater == "tester" and sessions[sa].status == "complete"
    states = Store(team).task_states(sa)
    assert (states["a"].rater, states["a"].remarks) == ("alice", "alice says 4")

    again = run_cli("merge", str(a), str(b), "--into", str(team))
    assert again.returncode == 0
    assert again.stdout.count("added 0 models, 0 catalogs, 0 sessions, 0 generations, "
                              "0 ratings") == 2
    assert len(Store(team).export_rows(None)) == 6


def test_merge_refuses_bad_sources_and_itself(tmp_path: Path) -> None:
    team = tmp_path / "team.duckdb"
    rated_db(team, "alice", {"a": 3})
    line = assert_one_line_error(run_cli("merge", str(team), "--into", str(team)), code=2)
    assert "is the target itself" in line
    notes = tmp_path / "notes.duckdb"
    notes.write_text("not a database", encoding="utf-8")
    line = assert_one_line_error(run_cli("merge", str(notes), "--into", str(team)))
    assert "cannot be opened as an rbyf database" in line
    assert notes.read_text(encoding="utf-8") == "not a database"


def contents(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr)
                for t in ("models", "catalogs", "sessions", "generations", "ratings",
                          "counted")}
    finally:
        con.close()


def renamed(db: Path, old: str, new: str) -> None:
    """The session `old` as `new`: ids were 8 hex digits once, and two raters' could clash."""
    con = duckdb.connect(str(db))
    for table, column in (("sessions", "id"), ("generations", "session_id"),
                          ("counted", "session_id")):
        con.execute(f"UPDATE {table} SET {column} = ? WHERE {column} = ?", [new, old])
    con.close()


def test_merge_refuses_a_session_whose_id_another_session_has(tmp_path: Path) -> None:
    a, b, team = tmp_path / "alice.duckdb", tmp_path / "bob.duckdb", tmp_path / "team.duckdb"
    renamed(a, rated_db(a, "alice", {"a": 4, "b": 5}), "1a2b3c4d")
    renamed(b, rated_db(b, "bob", {"a": 2}, model="m2"), "1a2b3c4d")
    # Both at once: refused, and not half done (alice's file would have gone in alone).
    line = assert_one_line_error(run_cli("merge", str(a), str(b), "--into", str(team)))
    assert line == (
        f"rbyf: session 1a2b3c4d in {b} is another session than 1a2b3c4d in {team} (another "
        "model, catalog, start time or answer): nothing was merged; merge again with "
        "--new-ids to bring it in under a new id")
    assert not any(contents(team).values())
    assert run_cli("merge", str(a), "--into", str(team)).returncode == 0
    before = contents(team)
    assert_one_line_error(run_cli("merge", str(b), "--into", str(team)))
    assert contents(team) == before

    result = run_cli("merge", str(b), "--into", str(team), "--new-ids")
    assert result.returncode == 0, result.stderr
    assert "added 1 models, 0 catalogs, 1 sessions, 3 generations, 1 ratings" in result.stdout
    sessions = {s.model: s.id for s in Store(team).sessions()}
    assert sessions["m1"] == "1a2b3c4d" and len(sessions["m2"]) == 32
    assert [(r["model"], r["total"]) for r in board(team)] == [("m1", 9), ("m2", 2)]
    again = run_cli("merge", str(a), str(b), "--into", str(team), "--new-ids")
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("added 0 models, 0 catalogs, 0 sessions, 0 generations, "
                              "0 ratings") == 2


def test_merge_brings_a_sessions_progress_but_refuses_two_histories(tmp_path: Path) -> None:
    """One session copied to two files and answered on in both: the same task's same
    attempt is another answer in each, which one session cannot hold."""
    alice, team, copy = (tmp_path / f"{n}.duckdb" for n in ("alice", "team", "copy"))
    runner = new_runner(alice)
    catalog = runner.catalog
    for key in ("warm", "a"):
        runner.run_task(catalog.task(key))
    assert run_cli("merge", str(alice), "--into", str(team)).returncode == 0
    shutil.copy(alice, copy)
    state = runner.run_task(catalog.task("b"))
    runner.store.rate(state.generation_id, 3)
    progress = run_cli("merge", str(alice), "--into", str(team))  # the same session, further
    assert progress.returncode == 0, progress.stderr
    assert "added 0 models, 0 catalogs, 0 sessions, 1 generations, 1 ratings" in (
        progress.stdout)
    other = Runner(Store(copy), ScriptedBackend(["Another answer."]), mini_catalog(),
                   runner.session_id)
    other.run_task(catalog.task("b"))
    before = contents(team)
    line = assert_one_line_error(run_cli("merge", str(copy), "--into", str(team)))
    assert f"session {runner.session_id} in {copy} is another session than" in line
    assert contents(team) == before


def test_several_files_rank_as_one(tmp_path: Path) -> None:
    a, b, team = tmp_path / "alice.duckdb", tmp_path / "bob.duckdb", tmp_path / "team.duckdb"
    rated_db(a, "alice", {"a": 4, "b": 5})
    rated_db(b, "bob", {"a": 1, "b": 2}, model="m2")
    run_cli("merge", str(a), str(b), "--into", str(team))
    together = board(a, b)
    assert [(r["model"], r["total"], r["n_rated"]) for r in together] == [
        ("m1", 9, 2), ("m2", 3, 2)]
    assert together == board(team)
    # A file given twice, or a session present in two files, counts once.
    assert board(a, team) == board(team)
    before = a.read_bytes()
    board(a, b)
    assert a.read_bytes() == before  # read-only


def test_per_rater_means_and_agreement(tmp_path: Path) -> None:
    a, b, team = tmp_path / "alice.duckdb", tmp_path / "bob.duckdb", tmp_path / "team.duckdb"
    rated_db(a, "alice", {"a": 4, "b": 5})
    # Bob rates the same model (same key) on his own machine.
    rated_db(b, "bob", {"a": 2, "b": 5})
    run_cli("merge", str(a), str(b), "--into", str(team))
    out = board(team, extra=("--by-rater",))
    assert isinstance(out, dict)
    means = {(m["rater"], m["model"]): m["mean"] for m in out["raters"]}
    assert means == {("alice", "m1"): 4.5, ("bob", "m1"): 3.5}
    (pair,) = out["agreement"]
    assert (pair["rater_a"], pair["rater_b"], pair["n_common"]) == ("alice", "bob", 2)
    assert pair["mean_abs_diff"] == pytest.approx(1.0)
    assert pair["kappa"] == pytest.approx(quadratic_kappa([4, 5], [2, 5]))
    text = run_cli("leaderboard", "--db", str(team), "--by-rater").stdout
    assert "agreement (same model and task)" in text and "alice" in text


def test_quadratic_kappa_values() -> None:
    assert quadratic_kappa([0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5]) == pytest.approx(1.0)
    assert quadratic_kappa([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert quadratic_kappa([5, 5], [5, 5]) is None  # no variation: undefined
    assert quadratic_kappa([], []) is None
    near = quadratic_kappa([0, 2, 4, 5], [1, 2, 4, 4])
    far = quadratic_kappa([0, 2, 4, 5], [5, 3, 0, 1])
    assert near is not None and far is not None and near > 0.8 > 0 > far

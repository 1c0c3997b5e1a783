"""Pairwise votes against a real DuckDB file: recording them (and refusing bad ones), choosing
the next battle, `rbyf vote`, a kill -9 while voting, and votes in export and merge."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from rbyf_tui import battles, catalog
from rbyf_tui.battles import choose_battle
from rbyf_tui.errors import NotFoundError, UsageError
from rbyf_tui.store import BattleAnswer, PairVotes, Store

from conftest import REPO, assert_one_line_error, cli_env, run_cli
from fakes import ScriptedBackend
from helpers import MINI, new_runner

OTHER = catalog.parse(MINI.replace('name = "mini"', 'name = "other"'), "other.toml")


def answered(db: Path, model: str, cat: catalog.Catalog | None = None,
             backend: ScriptedBackend | None = None) -> dict[str, str]:
    """A session of `model` with every task answered: task key -> generation id."""
    runner = new_runner(db, backend or ScriptedBackend([f"{model} says so."], model=model),
                        cat)
    for task in runner.catalog.all_tasks():
        runner.run_task(task)
    return {k: s.id for k, s in runner.store.task_states(runner.session_id).items()}


def vote_count(db: Path) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        row = con.execute("SELECT count(*) FROM votes").fetchone()
        return row[0] if row else 0
    finally:
        con.close()


def test_a_vote_is_stored_and_bad_ones_refused_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    m1, m2 = answered(db, "m1"), answered(db, "m2")
    m3 = answered(db, "m3", OTHER)
    failed = answered(db, "m4", backend=ScriptedBackend(fail_on=["First task"], model="m4"))
    store = Store(db)
    vote_id = store.record_vote(m1["a"], m2["a"], "left", "clearer")
    con = duckdb.connect(str(db), read_only=True)
    row = con.execute("SELECT id, catalog_name, task_key, left_generation_id, "
                      "right_generation_id, left_model_id, right_model_id, verdict, remarks, "
                      "rater FROM votes").fetchall()
    con.close()
    assert row == [(vote_id, "mini", "a", m1["a"], m2["a"], "scripted:m1", "scripted:m2",
                    "left", "clearer", "tester")]

    again = new_runner(db, ScriptedBackend(model="m1"))  # a second answer of m1 to task a
    second = again.run_task(again.catalog.task("a")).generation_id
    refused = [
        (UsageError, "verdict 'better' is not one of left, right, tie, both_bad",
         (m1["a"], m2["a"], "better")),
        (NotFoundError, "no answer feedbeef: it was deleted or never existed",
         (m1["a"], "feedbeef", "tie")),
        (UsageError, "answer different tasks (a, b)", (m1["a"], m2["b"], "tie")),
        (UsageError, "are from the same model", (m1["a"], second, "tie")),
        (UsageError, "from different catalogs (mini, other)", (m1["a"], m3["a"], "tie")),
        (UsageError, "is the warm-up", (m1["warm"], m2["warm"], "right")),
        (UsageError, "ended with status error", (failed["a"], m2["a"], "both_bad")),
    ]
    for kind, text, args in refused:
        with pytest.raises(kind) as caught:
            store.record_vote(*args)
        assert text in str(caught.value) and "\n" not in str(caught.value)
    assert vote_count(db) == 1


def answers(catalog_name: str, table: dict[str, dict[str, str | None]],
            ) -> list[BattleAnswer]:
    """model -> task -> generation id (None: no answer) as Store.battle_state gives them."""
    out = []
    for model, tasks in table.items():
        given = [(t, g) for t, g in tasks.items() if g is not None]
        out += [BattleAnswer(catalog_name, model, model.upper(), t, g) for t, g in given]
        if not given:
            out.append(BattleAnswer(catalog_name, model, model.upper(), None, None))
    return out


def full(models: str, tasks: str = "ab") -> dict[str, dict[str, str | None]]:
    return {m: {t: f"{m}-{t}" for t in tasks} for m in models}


def test_the_pair_and_task_with_fewest_votes_come_first() -> None:
    given = answers("mini", full("xyz"))
    # pairs: x-y 2 votes, x-z 1 (on b), y-z 1 (on a); tasks: a 3 votes, b 1
    votes = [PairVotes("mini", "a", "x", "y", "ann", 2), PairVotes("mini", "b", "x", "z", "bob", 1),
             PairVotes("mini", "a", "y", "z", "bob", 1)]
    for seed in range(20):
        battle = choose_battle(given, votes, "me", random.Random(seed))
        # x-z and y-z have the fewest votes; x-z on a and y-z on b none; b has fewer in all
        assert battle is not None and battle.task_key == "b"
        assert {battle.left.model_id, battle.right.model_id} == {"y", "z"}
        assert battle.left.generation_id == f"{battle.left.model_id}-b"
        assert battle.left.model == battle.left.model_id.upper()


def test_a_rater_never_meets_the_same_pair_on_a_task_twice_unless_asked() -> None:
    given = answers("mini", full("xy"))
    mine = [PairVotes("mini", t, "x", "y", "me", 1) for t in "ab"]
    assert choose_battle(given, mine, "me", random.Random(1)) is None
    assert choose_battle(given, mine, "me", random.Random(1), repeat=True) is not None
    other = choose_battle(given, mine, "you", random.Random(1))
    assert other is not None and other.catalog == "mini"
    only_a = choose_battle(given, mine[:1], "me", random.Random(1))
    assert only_a is not None and only_a.task_key == "b"


def test_left_is_random_but_seeded_and_catalogs_never_mix() -> None:
    given = answers("mini", full("xy")) + answers("other", full("uv"))
    seen = set()
    for seed in range(40):
        battle = choose_battle(given, [], "me", random.Random(seed))
        assert battle == choose_battle(given, [], "me", random.Random(seed))
        assert battle is not None
        models = {battle.left.model_id, battle.right.model_id}
        assert models == ({"x", "y"} if battle.catalog == "mini" else {"u", "v"})
        assert battle.left.generation_id == f"{battle.left.model_id}-{battle.task_key}"
        seen.add((battle.catalog, battle.left.model_id))
    assert seen == {("mini", "x"), ("mini", "y"), ("other", "u"), ("other", "v")}


def test_a_missing_answer_is_skipped_or_left_to_generate() -> None:
    table = full("xy")
    table["z"] = {"a": "z-a", "b": None}
    table["w"] = {"a": None, "b": None}
    given = answers("mini", table)
    voted = [PairVotes("mini", t, *p, "me", 1) for t in "ab" for p in
             (("x", "y"), ("x", "z"), ("y", "z"))]
    # Every pair with answers voted on: what is left needs an answer made first.
    assert choose_battle(given, voted, "me", random.Random(0)) is None
    made = choose_battle(given, voted, "me", random.Random(0), missing="generate")
    assert made is not None and made.task_key in "ab"
    missing = [s for s in (made.left, made.right) if s.generation_id is None]
    assert len(missing) == 1 and missing[0].model_id in "zw"
    # Among equally voted pairs, one whose answers both exist comes first.
    fresh = choose_battle(given, [], "me", random.Random(0), missing="generate")
    assert fresh is not None and fresh.left.generation_id and fresh.right.generation_id
    with pytest.raises(UsageError):
        choose_battle(given, [], "me", random.Random(0), missing="ask")


def test_battles_from_the_store_until_every_pair_is_voted(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    gens = {m: answered(db, m) for m in ("m1", "m2", "m3")}
    answered(db, "lonely", OTHER)
    store = Store(db)
    rng = random.Random(5)
    met = []
    while battle := battles.next_battle(store, "mini", "tester", rng=rng):
        assert battle.catalog == "mini"
        left, right = battle.left, battle.right
        assert (left.generation_id, right.generation_id) == (
            gens[left.model][battle.task_key], gens[right.model][battle.task_key])
        met.append((battle.task_key, frozenset((left.model, right.model))))
        store.record_vote(left.generation_id, right.generation_id, "tie", rater="tester")
    assert len(met) == len(set(met)) == 6  # 3 pairs x 2 tasks, each once
    assert len({pair for _, pair in met[:3]}) == 3  # fewest votes first: every pair once
    assert battles.next_battle(store, "mini", "someone else", rng=rng) is not None
    two = battles.next_battle(store, "mini", "someone else", ["scripted:m1", "scripted:m2"],
                              rng)
    assert two is not None and {two.left.model, two.right.model} == {"m1", "m2"}
    assert battles.next_battle(store, "other", "tester", rng=rng) is None  # one model only


def test_rbyf_vote_takes_prefixes_and_errors_in_one_line(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    m1, m2 = answered(db, "m1"), answered(db, "m2")
    result = run_cli("vote", "--db", str(db), "--left", m1["b"][:12], "--right", m2["b"],
                     "--verdict", "both_bad", "--remark", "neither", "--rater", "ann")
    assert result.returncode == 0, result.stderr
    vote_id = result.stdout.strip()
    (row,) = Store(db).vote_rows()
    assert (row["vote_id"], row["left_model"], row["right_model"], row["verdict"],
            row["remarks"], row["rater"]) == (vote_id, "m1", "m2", "both_bad", "neither", "ann")
    line = assert_one_line_error(run_cli("vote", "--db", str(db), "--left", "0000zzzz",
                                         "--right", m2["a"], "--verdict", "left"))
    assert "no answer 0000zzzz" in line
    line = assert_one_line_error(run_cli("vote", "--db", str(db), "--left", m1["a"],
                                         "--right", m1["a"], "--verdict", "left"), code=2)
    assert "same model" in line
    assert_one_line_error(run_cli("vote", "--db", str(db), "--left", m1["a"], "--right",
                                  m2["a"], "--verdict", "maybe"), code=2)
    assert vote_count(db) == 1


VOTER = """
import sys
from rbyf_tui.store import Store
store = Store(sys.argv[1])
left, right = sys.argv[2:4]
n = 0
while True:
    verdict = ("left", "right", "tie", "both_bad")[n % 4]
    print(store.record_vote(left, right, verdict, f"vote {n}"), flush=True)
    n += 1
"""


def test_a_kill_9_while_voting_loses_no_vote_given(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    m1, m2 = answered(db, "m1"), answered(db, "m2")
    proc = subprocess.Popen([sys.executable, "-c", VOTER, str(db), m1["a"], m2["a"]],
                            stdout=subprocess.PIPE, text=True, cwd=REPO, env=cli_env())
    assert proc.stdout is not None
    printed = [proc.stdout.readline().strip() for _ in range(25)]
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    rest = proc.stdout.read().split()  # lines printed before the kill landed
    given = [p for p in printed + rest if p]
    assert len(given) >= 25
    stored = {row["vote_id"] for row in Store(db).vote_rows()}
    assert set(given) <= stored


def test_votes_are_exported_and_merged_once(tmp_path: Path) -> None:
    a, b, team = tmp_path / "alice.duckdb", tmp_path / "bob.duckdb", tmp_path / "team.duckdb"
    a1, a2 = answered(a, "m1"), answered(a, "m2")
    Store(a).record_vote(a1["a"], a2["a"], "left", rater="alice")
    Store(a).record_vote(a2["b"], a1["b"], "tie", rater="alice")
    b1, b3 = answered(b, "m1"), answered(b, "m3")
    Store(b).record_vote(b3["a"], b1["a"], "right", rater="bob")

    lines = run_cli("export", "--db", str(a), "--all", "--format", "jsonl").stdout.splitlines()
    records = [json.loads(line) for line in lines]
    voted = [r for r in records if r.get("kind") == "vote"]
    assert [(v["left_model"], v["verdict"], v["rater"]) for v in voted] == [
        ("m1", "left", "alice"), ("m2", "tie", "alice")]
    assert len(records) == len(voted) + 6  # 2 sessions x (warm-up + 2 tasks)
    md = run_cli("export", "--db", str(a), "--all", "--format", "md").stdout
    assert "# Votes" in md and "| mini | a | m1 | m2 | left | alice |" in md
    out = tmp_path / "all.csv"
    result = run_cli("export", "--db", str(a), "--all", "--format", "csv", "--out", str(out))
    assert result.returncode == 0, result.stderr
    beside = (tmp_path / "all.votes.csv").read_text(encoding="utf-8").splitlines()
    assert beside[0].startswith("vote_id,catalog,task_key,left_generation_id")
    assert len(beside) == 3
    parquet = tmp_path / "one.parquet"
    session = Store(b).sessions()[0].id  # m3's, the newest
    assert run_cli("export", "--db", str(b), "--session", session, "--format", "parquet",
                   "--out", str(parquet)).returncode == 0
    con = duckdb.connect()
    rows = con.execute("SELECT left_model, verdict FROM read_parquet(?)",
                       [str(tmp_path / "one.votes.parquet")]).fetchall()
    assert rows == [("m3", "right")]

    # A comparison and its blind order travel too (written here as the compare code will).
    con = duckdb.connect(str(a))
    sessions = [r[0] for r in con.execute("SELECT id FROM sessions ORDER BY created_at").fetchall()]
    con.execute("INSERT INTO comparisons VALUES ('c1', 'h', 'mini', 7, '{}', 'run', now())")
    con.execute("INSERT INTO blind_orders VALUES ('c1', 'a', ?, 7, now())",
                [json.dumps(sessions[::-1])])
    con.close()
    result = run_cli("merge", str(a), str(b), "--into", str(team))
    assert result.returncode == 0, result.stderr
    assert "1 comparisons, 2 votes, 1 blind_orders" in result.stdout
    assert "0 comparisons, 1 votes, 0 blind_orders" in result.stdout
    assert sorted((v["rater"], v["verdict"]) for v in Store(team).vote_rows()) == [
        ("alice", "left"), ("alice", "tie"), ("bob", "right")]
    again = run_cli("merge", str(a), str(b), "--into", str(team))
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("0 comparisons, 0 votes, 0 blind_orders") == 2
    assert vote_count(team) == 3


def test_a_blind_order_follows_its_session_to_a_new_id(tmp_path: Path) -> None:
    """Two raters' sessions with one id (8-digit ids of old): --new-ids renames bob's, and
    his blind order names the new id."""
    a, b, team = tmp_path / "alice.duckdb", tmp_path / "bob.duckdb", tmp_path / "team.duckdb"
    for db, model in ((a, "m1"), (b, "m2")):
        answered(db, model)
        con = duckdb.connect(str(db))
        for table, column in (("sessions", "id"), ("generations", "session_id"),
                              ("counted", "session_id")):
            con.execute(f"UPDATE {table} SET {column} = '1a2b3c4d'")
        con.execute("INSERT INTO comparisons VALUES (?, 'h', 'mini', 7, '{}', 'run', now())",
                    [f"c-{model}"])
        con.execute("INSERT INTO blind_orders VALUES (?, 'a', '[\"1a2b3c4d\"]', 7, now())",
                    [f"c-{model}"])
        con.close()
    assert run_cli("merge", str(a), str(b), "--into", str(team), "--new-ids").returncode == 0
    con = duckdb.connect(str(team), read_only=True)
    orders = dict(con.execute("SELECT comparison_id, sessions::VARCHAR FROM blind_orders"
                              ).fetchall())
    bob = con.execute("SELECT s.id FROM sessions s JOIN models m ON m.id = s.model_id "
                      "WHERE m.name = 'm2'").fetchone()
    con.close()
    assert bob is not None and bob[0] != "1a2b3c4d"
    assert json.loads(orders["c-m1"]) == ["1a2b3c4d"]
    assert json.loads(orders["c-m2"]) == [bob[0]]
    again = run_cli("merge", str(a), str(b), "--into", str(team), "--new-ids")
    assert again.stdout.count("0 comparisons, 0 votes, 0 blind_orders") == 2

"""The DuckDB store against real files: schema, refusals, ratings, recovery, round trips."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from rbyf_tui.errors import NotFoundError, StoreError, UsageError
from rbyf_tui.store import Store, writes
from rbyf_tui.store.schema import SCHEMA_VERSION

from conftest import run_cli
from fakes import ScriptedBackend
from helpers import mini_catalog, new_runner


def test_a_new_file_gets_the_schema_and_its_version(tmp_path: Path) -> None:
    db = tmp_path / "new" / "rbyf.duckdb"
    assert Store(db).sessions() == []
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT max(version) FROM rbyf_schema").fetchone() == (SCHEMA_VERSION,)
    con.close()


def test_a_db_from_a_newer_rbyf_is_refused_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    Store(db).sessions()
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO rbyf_schema VALUES (?, now()::TIMESTAMP, '9.9')",
                [SCHEMA_VERSION + 1])
    con.close()
    before = db.read_bytes()
    with pytest.raises(StoreError, match=rf"written by a newer rbyf \(schema {SCHEMA_VERSION + 1}"):
        Store(db).sessions()
    assert db.read_bytes() == before


def test_a_file_that_is_not_duckdb_is_refused_and_left_untouched(tmp_path: Path) -> None:
    db = tmp_path / "notes.duckdb"
    db.write_text("these are my notes", encoding="utf-8")
    with pytest.raises(StoreError, match="cannot be opened as an rbyf database"):
        Store(db).sessions()
    assert db.read_text(encoding="utf-8") == "these are my notes"


def test_another_apps_duckdb_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "other.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE sales (x INTEGER)")
    con.close()
    with pytest.raises(StoreError, match="a DuckDB database but not an rbyf one"):
        Store(db).sessions()


def test_reading_a_missing_file_says_so(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no rbyf database at"):
        Store(tmp_path / "nope.duckdb", read_only=True).sessions()
    assert not (tmp_path / "nope.duckdb").exists()


def test_attempts_ratings_and_completion(tmp_path: Path) -> None:
    runner = new_runner(tmp_path / "db.duckdb")
    store = runner.store
    cat = runner.catalog
    for task in cat.all_tasks():
        runner.run_task(task)
    again = runner.run_task(cat.task("a"))
    states = store.task_states(runner.session_id)
    assert states["a"].attempt == 2 and states["a"].attempts == 2
    assert states["a"].id == again.generation_id

    store.rate(states["warm"].id, 1, "warm-up only")
    store.rate(states["a"].id, 2, "first look")
    store.rate(states["a"].id, 4, "on reflection")  # re-rated: the latest counts
    row = store.sessions()[0]
    assert (row.status, row.rated, row.generated, row.tasks) == ("open", 1, 2, 2)
    store.rate(states["b"].id, 5)
    row = store.sessions()[0]
    assert (row.status, row.rated) == ("complete", 2)
    board = store.leaderboard()
    assert len(board) == 1
    assert (board[0]["n_rated"], board[0]["total"], board[0]["mean"]) == (2, 9, 4.5)
    assert store.task_states(runner.session_id)["a"].remarks == "on reflection"


def test_bad_scores_and_unknown_ids(tmp_path: Path) -> None:
    runner = new_runner(tmp_path / "db.duckdb")
    outcome = runner.run_task(runner.catalog.task("a"))
    for bad in (-1, 6, 7, True):
        with pytest.raises(UsageError):
            runner.store.rate(outcome.generation_id, bad)  # type: ignore[arg-type]
    with pytest.raises(NotFoundError):
        runner.store.find_session("ffffffff")
    assert runner.store.find_session(runner.session_id[:3]).id == runner.session_id


def test_new_session_ids_are_long_and_a_short_prefix_finds_them(tmp_path: Path) -> None:
    runner = new_runner(tmp_path / "db.duckdb")
    sid, store = runner.session_id, runner.store
    assert re.fullmatch(r"[0-9a-f]{32}", sid), sid  # merging many raters' files: no clash
    for given in (sid, sid[:8], sid[:8].upper(), f" {sid[:12]} "):
        assert store.find_session(given).id == sid
    assert store.short_session_id(sid) == sid[:8]


OLD = "1a2b3c4d"  # an id from before ids were long (8 hex digits)
LONG_E, LONG_F = OLD + "0e" + "0" * 22, OLD + "0f" + "0" * 22  # made since, starting like it


def sessions_with_ids(db: Path, ids: list[str], monkeypatch: pytest.MonkeyPatch) -> Store:
    made = iter(ids)
    monkeypatch.setattr(writes, "new_id", lambda length=32: next(made))
    store = Store(db)
    for _ in ids:
        store.create_session(ScriptedBackend().load(), mini_catalog(), settings={},
                             hardware={}, rater="tester", origin="run")
    monkeypatch.undo()
    return store


def test_old_short_ids_keep_working_beside_long_ones_that_start_like_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = "9f" + "1" * 30
    store = sessions_with_ids(tmp_path / "db.duckdb", [OLD, LONG_E, LONG_F, other],
                              monkeypatch)
    assert store.find_session(OLD).id == OLD  # the whole id wins over the prefix
    assert store.find_session(OLD + "0e").id == LONG_E
    with pytest.raises(UsageError, match=f"session id '{OLD}0' is ambiguous"):
        store.find_session(OLD + "0")
    assert {sid: store.short_session_id(sid) for sid in (OLD, LONG_E, LONG_F, other)} == {
        OLD: OLD, LONG_E: OLD + "0e", LONG_F: OLD + "0f", other: other[:8]}
    for sid in (OLD, LONG_E, LONG_F, other):
        assert store.find_session(store.short_session_id(sid)).id == sid


def test_rbyf_sessions_lists_short_ids_and_its_json_the_whole_ones(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "db.duckdb"
    sessions_with_ids(db, [OLD, LONG_E, LONG_F], monkeypatch)
    listing = run_cli("sessions", "--db", str(db))
    assert listing.returncode == 0, listing.stderr
    ids = [line.split()[0] for line in listing.stdout.splitlines()[2:]]
    assert sorted(ids) == [OLD, OLD + "0e", OLD + "0f"]
    listed = run_cli("sessions", "--db", str(db), "--json")
    assert sorted(s["id"] for s in json.loads(listed.stdout)) == [OLD, LONG_E, LONG_F]


def test_running_generations_of_dead_processes_become_interrupted(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    runner = new_runner(db)
    store = runner.store
    task = runner.catalog.task("a")
    from rbyf_tui.backends.base import ChatRequest

    gen_id = store.start_generation(runner.session_id, task, ChatRequest.for_task(task))
    store.checkpoint_generation(gen_id, "partial answ")
    # Our own process is alive: nothing changes.
    assert store.recover_interrupted() == 0
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    con = duckdb.connect(str(db))
    con.execute("UPDATE sessions SET pid = ? WHERE id = ?", [int(dead.stdout), runner.session_id])
    con.close()
    assert Store(db).recover_interrupted() == 1
    row = store.generation(gen_id)
    assert (row["status"], row["response"]) == ("interrupted", "partial answ")


def test_any_text_round_trips_exactly(tmp_path: Path) -> None:
    runner = new_runner(tmp_path / "db.duckdb")
    tricky = "naïve 生鱼片 🐟 \"quoted\" 'single' \\ back\r\nCRLF\nline\ttab\x00nul? " * 1
    big = ("x" * 99 + "\n") * 1024  # 100 KB
    outcome = runner.run_task(runner.catalog.task("a"))
    runner.store.rate(outcome.generation_id, 3, tricky + big)
    state = runner.store.task_states(runner.session_id)["a"]
    assert state.remarks == tricky + big


def test_session_catalog_is_the_one_it_started_with(tmp_path: Path) -> None:
    runner = new_runner(tmp_path / "db.duckdb")
    ref = runner.store.find_session(runner.session_id)
    assert runner.store.session_catalog(ref).content_hash == mini_catalog().content_hash


def test_two_writers_in_two_processes_wait_for_each_other(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    runner = new_runner(db)
    outcome = runner.run_task(runner.catalog.task("a"))
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
         " time.sleep(1.0); c.close()", str(db)],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    Store(db).rate(outcome.generation_id, 4)  # waits for the holder, then writes
    holder.wait(timeout=10)
    assert Store(db).task_states(runner.session_id)["a"].score == 4


def test_a_db_held_too_long_names_the_holder(tmp_path: Path) -> None:
    db = tmp_path / "db.duckdb"
    Store(db).sessions()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
         " time.sleep(30)", str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreError, match=rf"is held by python.* \(PID {holder.pid}\)"):
            Store(db, wait_s=0.5).sessions()
    finally:
        holder.kill()
        holder.wait()
    assert os.path.exists(db)


def test_a_failed_load_is_kept_until_its_model_or_session_loads(tmp_path: Path) -> None:
    from rbyf_tui.backends.base import ModelInfo

    store = Store(tmp_path / "db.duckdb")
    store.record_load_failure(model="/m/x.gguf", backend="llama.cpp", origin="run",
                              error="llama.cpp could not load x.gguf: bad tensor",
                              catalog_name="mini")
    (row,) = store.load_failures()
    assert (row.model, row.origin, row.catalog_name, row.session_id) == (
        "/m/x.gguf", "run", "mini", None)
    assert "bad tensor" in row.error and not row.loaded_since

    # the same file loads later (e.g. after an upgrade): the failure is history
    model = ModelInfo(key="sha256:ab", name="x", backend="llama.cpp", path="/m/x.gguf")
    sid = store.create_session(model, mini_catalog(), settings={}, hardware={},
                               rater="tester", origin="tui")
    assert store.load_failures()[0].loaded_since

    # a resume that failed is open until that session is claimed again
    store.record_load_failure(model="/m/x.gguf", backend="llama.cpp", origin="tui",
                              error="the model of session … is no longer at /m/x.gguf",
                              session_id=sid)
    newest, older = store.load_failures()
    assert newest.session_id == sid and not newest.loaded_since
    assert older.loaded_since and len(store.load_failures(1)) == 1
    store.claim_session(sid)
    assert store.load_failures()[0].loaded_since

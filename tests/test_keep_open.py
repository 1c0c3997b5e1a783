"""A process holding the DB file open (the app: Store(keep_open=True)) lets others in."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from rbyf_tui.store import Store
from rbyf_tui.store.db import DEFAULT_WAIT_S, IDLE_RELEASE_S

from conftest import REPO, cli_env, run_cli
from helpers import new_runner

# Holds the file from its first rating on; rates one more answer per line read, prints
# "rated N" once it is committed; idles in between.
HOLDER = textwrap.dedent("""
    import json, sys
    from rbyf_tui.store import Store
    store = Store(sys.argv[1], keep_open=True)
    ids = json.loads(sys.argv[2])
    n = 0
    for line in sys.stdin:
        if line.strip() == "exit":
            break
        store.rate(ids[n % len(ids)], n % 6, f"held {n}", "holder")
        n += 1
        # Holding, unless another process asked for the file within the last second.
        print("rated", n, "holding" if store.db.holding else "short-lived", flush=True)
""")


def held_by_someone(db: Path) -> bool:
    try:
        duckdb.connect(str(db), read_only=True).close()
    except duckdb.Error as exc:
        assert "lock" in str(exc).lower(), exc
        return True
    return False


def rated_ids(tmp_path: Path) -> tuple[Path, list[str]]:
    db = tmp_path / "held.duckdb"
    runner = new_runner(db)
    ids = [runner.run_task(task).generation_id for task in runner.catalog.all_tasks()]
    return db, ids


def start_holder(tmp_path: Path, db: Path, ids: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", HOLDER, str(db), json.dumps(ids)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO, env=cli_env(tmp_path))


def rate_in(holder: subprocess.Popen[str]) -> str:
    assert holder.stdin is not None and holder.stdout is not None
    holder.stdin.write("rate\n")
    holder.stdin.flush()
    line = holder.stdout.readline()
    assert line.startswith("rated"), holder.stderr.read() if holder.stderr else line
    return line


def test_other_rbyf_processes_get_in_while_a_process_holds_the_file(tmp_path: Path) -> None:
    db, ids = rated_ids(tmp_path)
    assert DEFAULT_WAIT_S < IDLE_RELEASE_S / 2  # what tells "let go when asked" apart
    holder = start_holder(tmp_path, db, ids)
    try:
        assert rate_in(holder).endswith("holding\n")
        time.sleep(0.3)
        assert held_by_someone(db)  # it really holds the file while idle
        runner_session = Store(db).sessions()[0].id
        for args in (["rate", "--session", runner_session, "--task", "a", "--score", "5",
                      "--remarks", "from the CLI", "--rater", "cli"],
                     ["leaderboard", "--format", "json"], ["sessions", "--json"],
                     ["export", "--all", "--format", "csv"]):
            result = run_cli(*args, "--db", str(db), home=tmp_path)
            # Never a raw lock error, nor the "held by" one: the command waits at most
            # DEFAULT_WAIT_S, well short of the holder's idle release, so it got in because
            # the holder let go when asked.
            assert result.returncode == 0, result.stderr
            rate_in(holder)  # and the holder takes the file back for its next write
        board = json.loads(run_cli("leaderboard", "--db", str(db), "--format", "json",
                                   home=tmp_path).stdout)
        assert board and board[0]["n_rated"] == 2
        assert holder.stdin is not None
        holder.stdin.write("exit\n")
        holder.stdin.flush()
        assert holder.wait(timeout=60) == 0, holder.stderr.read() if holder.stderr else ""
    finally:
        holder.kill()
        holder.wait()
    # It closed the file cleanly at exit: checkpointed, no write-ahead log left.
    assert not Path(str(db) + ".wal").exists()
    con = duckdb.connect(str(db), read_only=True)
    held = con.execute("SELECT remarks FROM ratings WHERE rater = 'holder' ORDER BY created_at"
                       ).fetchall()
    cli = con.execute("SELECT score FROM ratings WHERE rater = 'cli'").fetchall()
    con.close()
    assert [r[0] for r in held] == [f"held {n}" for n in range(5)] and cli == [(5,)]


def test_two_holding_processes_take_turns_and_lose_nothing(tmp_path: Path) -> None:
    db, ids = rated_ids(tmp_path)
    holders = [start_holder(tmp_path, db, ids) for _ in range(2)]
    try:
        for _ in range(6):
            for holder in holders:
                rate_in(holder)
        for holder in holders:
            assert holder.stdin is not None
            holder.stdin.write("exit\n")
            holder.stdin.flush()
            assert holder.wait(timeout=60) == 0, holder.stderr.read() if holder.stderr else ""
    finally:
        for holder in holders:
            holder.kill()
            holder.wait()
    con = duckdb.connect(str(db), read_only=True)
    got = con.execute("SELECT count(*) FROM ratings WHERE rater = 'holder'").fetchone()
    con.close()
    assert got == (12,)


def test_kill_9_of_a_holding_process_loses_no_rating(tmp_path: Path) -> None:
    db, ids = rated_ids(tmp_path)
    holder = start_holder(tmp_path, db, ids)
    for _ in range(4):
        rate_in(holder)
    holder.kill()  # SIGKILL, the file still held and its log not checkpointed
    holder.wait()
    store = Store(db)
    assert [s.rated for s in store.sessions()] == [2]
    con = duckdb.connect(str(db), read_only=True)
    remarks = con.execute("SELECT remarks FROM ratings ORDER BY created_at").fetchall()
    counted = con.execute("SELECT task_key, score FROM counted WHERE all_raters "
                          "ORDER BY task_key").fetchall()
    con.close()
    assert [r[0] for r in remarks] == [f"held {n}" for n in range(4)]
    # Ratings n went to ids[n % 3]: warm-up (not counted), a (1), b (2), warm-up.
    assert counted == [("a", 1), ("b", 2)]


def test_in_one_process_a_held_file_is_let_go_for_a_read_only_store(tmp_path: Path) -> None:
    db, ids = rated_ids(tmp_path)
    held = Store(db, keep_open=True)
    held.rate(ids[1], 4)
    assert held.db.holding
    # DuckDB refuses a read-only connection while the file is open read-write here.
    assert Store(db, read_only=True).leaderboard()[0]["total"] == 4
    held.rate(ids[2], 5)
    assert held.db.holding
    held.close()
    assert not held.db.holding and not held_by_someone(db)


def test_a_held_file_is_let_go_when_idle(tmp_path: Path) -> None:
    db, ids = rated_ids(tmp_path)
    with Store(db, keep_open=True) as store:
        store.db.idle_s = 0.2
        store.rate(ids[1], 1)
        assert store.db.holding
        deadline = time.monotonic() + 5
        while store.db.holding and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not store.db.holding
        con = duckdb.connect(str(db), read_only=True)  # another tool gets in
        assert con.execute("SELECT count(*) FROM ratings").fetchone() == (1,)
        con.close()
        store.rate(ids[2], 2)  # and the next operation opens it again
        assert store.db.holding
    assert not store.db.holding


@pytest.mark.parametrize("read_only", [False, True])
def test_a_default_store_never_holds_the_file(tmp_path: Path, read_only: bool) -> None:
    db, _ = rated_ids(tmp_path)
    store = Store(db, read_only=read_only)
    store.sessions()
    assert not store.db.holding and not held_by_someone(db)

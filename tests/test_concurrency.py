"""Two rbyf processes (or two threads of one) on one DB file, corrupt files, and text that
must survive every export."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from rbyf_tui.backends.base import ChatRequest
from rbyf_tui.errors import StoreError
from rbyf_tui.metrics import Figures
from rbyf_tui.store import Store, db, writes

from conftest import REPO, assert_one_line_error, cli_env, run_cli
from helpers import new_runner

WRITES = 120

WRITER = textwrap.dedent("""
    import json, sys
    from rbyf_tui.store import Store
    store = Store(sys.argv[1])
    ids = json.loads(sys.argv[2])
    for i in range({writes}):
        store.rate(ids[i % len(ids)], i % 6, f"rating {{i}}", "writer")
    print("wrote", {writes})
""").format(writes=WRITES)

READER = textwrap.dedent("""
    import sys
    from rbyf_tui.store import Store
    from rbyf_tui.export import to_jsonl
    store = Store(sys.argv[1], read_only=True)
    reads = 0
    while True:
        store.leaderboard()
        to_jsonl(store.export_rows(None))
        reads += 1
        if sys.stdin.readline().strip() == "stop":
            break
    print("reads", reads)
""")


def test_one_process_rates_while_another_reads_and_exports(tmp_path: Path) -> None:
    db = tmp_path / "shared.duckdb"
    runner = new_runner(db)
    ids = [runner.run_task(task).generation_id for task in runner.catalog.all_tasks()]
    env = cli_env(tmp_path)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(db), json.dumps(ids)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=REPO, env=env)
    reader = subprocess.Popen([sys.executable, "-c", READER, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              cwd=REPO, env=env)
    assert reader.stdin is not None
    cli_runs = 0
    while writer.poll() is None:
        reader.stdin.write("more\n")
        reader.stdin.flush()
        for args in (["leaderboard", "--format", "json"], ["export", "--all", "--format", "csv"],
                     ["sessions", "--json"]):
            result = run_cli(*args, "--db", str(db), home=tmp_path)
            assert result.returncode == 0, result.stderr  # never a raw lock error
            cli_runs += 1
    out, err = writer.communicate()
    assert writer.returncode == 0, err
    assert out.strip() == f"wrote {WRITES}"
    r_out, r_err = reader.communicate("stop\n", timeout=60)
    assert reader.returncode == 0, r_err
    assert int(r_out.split()[-1]) > 0 and cli_runs > 0
    con = duckdb.connect(str(db), read_only=True)
    got = con.execute("SELECT remarks, score FROM ratings WHERE rater = 'writer'").fetchall()
    con.close()
    assert sorted(got) == sorted((f"rating {i}", i % 6) for i in range(WRITES))


def conflicts_seen(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The DuckDB errors the store judged to be another writer's (and retried)."""
    seen: list[str] = []
    judge = db._is_busy

    def spy(exc: Exception) -> bool:
        busy = judge(exc)
        if busy:
            seen.append(str(exc))
        return busy

    monkeypatch.setattr(db, "_is_busy", spy)
    return seen


def in_threads(*jobs: Callable[[], None], timeout: float = 300) -> list[BaseException]:
    """Run the jobs at once, one thread each; what they raised."""
    errors: list[BaseException] = []

    def guarded(job: Callable[[], None]) -> None:
        try:
            job()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
        assert not thread.is_alive(), f"a thread still runs after {timeout:.0f} s"
    return errors


def test_two_threads_write_one_session_through_the_held_connection(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The app holds the file (keep_open) and its threads write through cursors of that
    connection: a rating and an answer's start both update the session's row, and DuckDB
    lets the later of two overlapping writes fail ("Conflict on update!"). The store
    retries it; nothing is lost and no error reaches the user."""
    path = tmp_path / "app.duckdb"
    runner = new_runner(path)
    ids = [runner.run_task(task).generation_id for task in runner.catalog.all_tasks()]
    session, task = runner.session_id, runner.catalog.task("b")
    store = Store(path, keep_open=True)
    seen = conflicts_seen(monkeypatch)
    ratings, answers = 150, 50

    def rate() -> None:
        for n in range(ratings):
            store.rate(ids[n % len(ids)], n % 6, f"rating {n}", "rater")

    def generate() -> None:
        for n in range(answers):
            gen = store.start_generation(session, task, ChatRequest.for_task(task))
            store.checkpoint_generation(gen, "partial")
            store.finish_generation(gen, response=f"answer {n}", finish_reason="stop",
                                    status="ok", error=None, figures=Figures(total_s=1.0))

    errors = in_threads(rate, generate)
    store.close()
    assert errors == []
    assert seen, "the threads never wrote at the same time: the test proves nothing"
    con = duckdb.connect(str(path), read_only=True)
    got = con.execute("SELECT remarks, score FROM ratings WHERE rater = 'rater'").fetchall()
    answered = con.execute("SELECT response FROM generations WHERE session_id = ? AND "
                           "task_key = 'b' AND status = 'ok' AND attempt > 1",
                           [session]).fetchall()
    con.close()
    assert sorted(got) == sorted((f"rating {n}", n % 6) for n in range(ratings))
    assert sorted(r[0] for r in answered) == sorted(f"answer {n}" for n in range(answers))


def add_failure(failure_id: str) -> Callable[[duckdb.DuckDBPyConnection], None]:
    """A write that inserts a key unless it finds it, as a rating inserts the counted row
    of its task (writes.insert_rating)."""
    def write(con: duckdb.DuckDBPyConnection) -> None:
        if not con.execute("SELECT 1 FROM load_failures WHERE id = ?", [failure_id]).fetchone():
            writes.record_load_failure(con, failure_id, "m.gguf", "llama.cpp", "broken",
                                       "tui", None, None)
    return write


def touch_session(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("UPDATE sessions SET note = 'mine', updated_at = now()")


def delete_failure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("DELETE FROM load_failures WHERE id = 'gone'")


# What this write does before and after another thread commits, and what DuckDB says then:
# two changes of one column of a row (a rating and an answer's start both set the session's
# updated_at), two deletes of a row (two ratings of one task replace its counted rating),
# two inserts of a key neither found (two first ratings of one task), the other's commit
# coming after this insert or before it.
OVERLAPS = {
    "update": ([], [touch_session], touch_session, "Conflict on update"),
    "delete": ([], [delete_failure], delete_failure, "Conflict on tuple deletion"),
    "insert, the other commits first": ([add_failure("same")], [], add_failure("same"),
                                        "Failed to commit: ... duplicate key"),
    "insert after the other's commit": ([], [add_failure("same")], add_failure("same"),
                                        "Duplicate key ... violates primary key"),
}


@pytest.mark.parametrize("case", OVERLAPS)
def test_each_kind_of_write_conflict_is_retried(tmp_path: Path, case: str) -> None:
    """Another thread commits while this write's transaction is open, for each error
    DuckDB gives then: the write runs again from the start and succeeds."""
    before, after, other, error = OVERLAPS[case]
    path = tmp_path / "app.duckdb"
    new_runner(path)
    store = Store(path, keep_open=True)
    store.db.write(add_failure("gone"))
    tries = []

    def write(con: duckdb.DuckDBPyConnection) -> None:
        tries.append(case)
        con.execute("SELECT count(*) FROM sessions").fetchone()  # the transaction began
        for step in before:
            step(con)
        if len(tries) == 1:
            thread = threading.Thread(target=store.db.write, args=(other,))
            thread.start()
            thread.join(60)
        for step in after:
            step(con)

    store.db.write(write)
    assert len(tries) == 2, f"{error!r} was not met, or not retried"
    store.close()
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT note FROM sessions").fetchall() == (
        [("mine",)] if case == "update" else [(None,)])
    assert con.execute("SELECT id FROM load_failures ORDER BY id").fetchall() == (
        [] if case == "delete" else [("gone",), ("same",)] if "insert" in case
        else [("gone",)])
    con.close()


def test_a_real_duplicate_key_fails_at_once_in_one_line(tmp_path: Path) -> None:
    """Bad data is not another writer: it fails after a few quick tries, not after the
    whole wait for a busy file."""
    path = tmp_path / "app.duckdb"
    runner = new_runner(path)
    store = Store(path, keep_open=True, wait_s=30)
    tries: list[int] = []

    def insert_twice(con: duckdb.DuckDBPyConnection) -> None:
        tries.append(1)
        writes.record_load_failure(con, "twice", "m.gguf", "llama.cpp", "x", "tui", None,
                                   runner.session_id)

    store.db.write(insert_twice)
    started = time.monotonic()
    with pytest.raises(StoreError, match=r"cannot write to .*[Dd]uplicate key") as raised:
        store.db.write(insert_twice)
    assert time.monotonic() - started < 5 and len(tries) < 6
    assert "\n" not in str(raised.value)
    store.close()


def test_a_corrupt_db_is_refused_and_never_modified(tmp_path: Path) -> None:
    db = tmp_path / "corrupt.duckdb"
    runner = new_runner(db)
    for task in runner.catalog.all_tasks():
        runner.run_task(task)
    data = bytearray(db.read_bytes())
    for offset in range(0, len(data), 4096):  # scribble over the middle of every block
        data[offset + 1000: offset + 1400] = b"\xde\xad\xbe\xef" * 100
    db.write_bytes(bytes(data))
    before = db.read_bytes()
    for args in (["sessions"], ["leaderboard"], ["export", "--all", "--format", "jsonl"],
                 ["rate", "--session", runner.session_id, "--task", "a", "--score", "3"],
                 ["run", "--resume", runner.session_id]):
        line = assert_one_line_error(run_cli(*args, "--db", str(db), home=tmp_path))
        assert str(db) in line and "this one was left untouched" in line
    assert db.read_bytes() == before
    assert not Path(str(db) + ".wal").exists()


TRICKY = ("naïve 生鱼片是死鱼片吗 🐟🚀 \"double\" 'single' `tick` \\back\\slash, comma; "
          "tab\there\r\nCRLF line\nLF line\n- starts like a list\n# like a header\n")
BIG = "".join(f"line {i:05d}: {'x' * 90}\n" for i in range(1024))  # ~100 KB


def test_any_text_round_trips_through_the_store_and_every_export(tmp_path: Path) -> None:
    from fakes import ScriptedBackend

    db = tmp_path / "text.duckdb"
    runner = new_runner(db, ScriptedBackend([TRICKY + BIG]), max_tokens=100_000)
    task = runner.catalog.task("a")
    outcome = runner.run_task(task)
    answer = Store(db).generation(outcome.generation_id)["response"]
    # The scripted backend splits on spaces and joins them back: the text is unchanged.
    assert answer == TRICKY + BIG
    remarks = TRICKY + BIG
    Store(db).rate(outcome.generation_id, 4, remarks)
    session = runner.session_id

    def export(fmt: str) -> Path:
        out = tmp_path / f"out.{fmt}"
        result = run_cli("export", "--db", str(db), "--session", session, "--format", fmt,
                         "--out", str(out), home=tmp_path)
        assert result.returncode == 0, result.stderr
        return out

    rows = list(csv.DictReader(io.StringIO(export("csv").read_bytes().decode("utf-8"),
                                           newline="")))
    row = next(r for r in rows if r["task_key"] == "a")
    assert (row["response"], row["remarks"]) == (answer, remarks)

    records = [json.loads(line) for line in
               export("jsonl").read_text(encoding="utf-8").splitlines()]
    record = next(r for r in records if r["task_key"] == "a")
    assert (record["response"], record["remarks"]) == (answer, remarks)

    parquet = export("parquet")
    back = duckdb.sql(f"SELECT response, remarks FROM '{parquet}' WHERE task_key = 'a'")
    assert back.fetchall() == [(answer, remarks)]

    seed = list(csv.reader(io.StringIO(export("seed-csv").read_bytes().decode("utf-8"),
                                       newline="")))
    assert seed[1][1:] == ["Task A", "4", remarks]

    md = export("md").read_bytes().decode("utf-8")
    assert answer in md and remarks in md


def test_a_session_another_live_process_generates_into_is_refused(tmp_path: Path) -> None:
    """Two raters on one machine: the second to resume a session gets one line naming the
    process that holds it, before any model loads; once that process is gone, it goes on."""
    from rbyf_tui.backends import BackendOptions
    from rbyf_tui.errors import SessionBusyError
    from rbyf_tui.opening import Opening, ResumeSession, open_session

    from fakes import ScriptedBackend

    db_path = tmp_path / "rbyf.duckdb"
    runner = new_runner(db_path)
    session_id = runner.session_id
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        runner.store.db.write(lambda con: con.execute(
            "UPDATE sessions SET pid = ? WHERE id = ?", [other.pid, session_id]))
        loads: list[str] = []

        def make(options: BackendOptions, n_ctx: int, seed: int) -> ScriptedBackend:
            loads.append(options.api_model or "")
            return ScriptedBackend()

        opening = Opening(Store(db_path), "run", backend_factory=make)
        start = ResumeSession(session_id, BackendOptions())
        with pytest.raises(SessionBusyError) as refused:
            open_session(opening, start)
        assert str(refused.value) == (f"session {session_id[:8]} is open in process "
                                      f"{other.pid} on this machine: go on there, or once "
                                      "it ends")
        assert loads == []  # refused before a model loaded
        with pytest.raises(SessionBusyError):
            Store(db_path).claim_session(session_id)
    finally:
        other.kill()
        other.wait()
    opened = open_session(opening, start)  # its holder is gone: the session goes on
    assert opened.runner.session_id == session_id and len(loads) == 1
    opened.backend.close()

"""Two rbyf processes on one DB file, corrupt files, and text that must survive every export."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb

from rbyf_tui.store import Store

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

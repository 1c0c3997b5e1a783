"""Kills, crashes and signals against real processes: nothing saved is lost, sessions resume."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from conftest import REPO, assert_one_line_error, cli_env, run_cli

pytestmark = pytest.mark.model

LONG = '''name = "long"
version = "1"

[defaults]
max_tokens = 400
temperature = 0.8

[rubric]
0 = "0"
1 = "1"
2 = "2"
3 = "3"
4 = "4"
5 = "5"

[[tasks]]
key = "first"
prompt = "Say hello."
max_tokens = 8

[[tasks]]
key = "story"
prompt = "Write a very long story about a lighthouse keeper and the sea, in many chapters."

[[tasks]]
key = "last"
prompt = "Name three colours."
max_tokens = 8
'''


def rows(db: Path, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


def start_run(home: Path, db: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "rbyf_tui", "run", "--db", str(db), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=cli_env(home))


def wait_line(proc: subprocess.Popen[str], prefix: str) -> str:
    assert proc.stdout is not None
    while True:
        line = proc.stdout.readline()
        assert line, f"process ended before {prefix!r}: {proc.stderr.read() if proc.stderr else ''}"
        if line.startswith(prefix):
            return line


def wait_checkpoint(db: Path, timeout: float = 120) -> dict[str, Any]:
    """Wait until the running answer has partial text in the DB (checkpointed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = rows(db, "SELECT id, task_key, response FROM generations "
                             "WHERE status = 'running' AND response <> ''")
        except duckdb.Error:  # the writer holds the file for a moment
            found = []
        if found:
            return found[0]
        time.sleep(0.1)
    raise AssertionError("no checkpoint appeared")


@pytest.fixture()
def long_catalog(tmp_path: Path) -> Path:
    path = tmp_path / "long.toml"
    path.write_text(LONG, encoding="utf-8")
    return path


def test_kill_9_mid_stream_loses_nothing_and_resumes(tmp_path: Path, long_catalog: Path,
                                                     demo_model: Path) -> None:
    db = tmp_path / "k.duckdb"
    proc = start_run(tmp_path, db, "--catalog", str(long_catalog), "--seed", "3")
    session = wait_line(proc, "model ").rsplit("session ", 1)[1].strip()
    wait_line(proc, "[1/3]")
    partial = wait_checkpoint(db)
    assert partial["task_key"] == "story"
    proc.kill()
    proc.wait()

    listed = json.loads(run_cli("sessions", "--db", str(db), "--json", home=tmp_path).stdout)
    mine = next(s for s in listed if s["id"] == session)
    assert (mine["status"], mine["running"], mine["generated"]) == ("open", False, 1)
    gens = {g["task_key"]: g for g in rows(db, "SELECT * FROM generations")}
    assert gens["first"]["status"] == "ok" and gens["first"]["response"]
    story = gens["story"]
    assert story["status"] == "interrupted"
    assert story["response"].startswith(partial["response"]) and story["response"]

    result = run_cli("run", "--db", str(db), "--resume", session[:4], home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "resuming: 1 of 3 tasks already answered" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == session
    after = rows(db, "SELECT task_key, attempt, status, response FROM generations "
                     "ORDER BY started_at")
    assert [(g["task_key"], g["attempt"], g["status"]) for g in after] == [
        ("first", 1, "ok"), ("story", 1, "interrupted"), ("story", 2, "ok"), ("last", 1, "ok")]
    assert after[1]["response"] == story["response"]  # the cut answer is kept as it was
    settings = json.loads(rows(db, "SELECT settings FROM sessions")[0]["settings"])
    assert settings["seed"] == 3


def test_kill_9_while_loading_leaves_a_usable_db(tmp_path: Path, demo_model: Path) -> None:
    db = tmp_path / "load.duckdb"
    proc = start_run(tmp_path, db)
    wait_line(proc, "loading ")
    proc.kill()
    proc.wait()
    result = run_cli("sessions", "--db", str(db), home=tmp_path)
    assert result.returncode == 0, result.stderr


def test_kill_9_right_after_an_answer_keeps_it(tmp_path: Path, long_catalog: Path,
                                               demo_model: Path) -> None:
    db = tmp_path / "after.duckdb"
    proc = start_run(tmp_path, db, "--catalog", str(long_catalog))
    wait_line(proc, "[1/3]")
    proc.kill()
    proc.wait()
    run_cli("sessions", "--db", str(db), home=tmp_path)
    gens = rows(db, "SELECT task_key, status, response, completion_tokens FROM generations "
                    "ORDER BY started_at")
    assert gens[0]["task_key"] == "first" and gens[0]["status"] == "ok"
    assert gens[0]["response"] and gens[0]["completion_tokens"]
    assert all(g["status"] in ("ok", "interrupted") for g in gens)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_sigterm_and_sighup_save_and_exit(tmp_path: Path, long_catalog: Path, demo_model: Path,
                                          signum: int) -> None:
    db = tmp_path / "sig.duckdb"
    proc = start_run(tmp_path, db, "--catalog", str(long_catalog))
    wait_line(proc, "[1/3]")
    wait_checkpoint(db)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, err
    assert "Traceback" not in err
    assert f"rbyf: stopped by {signal.Signals(signum).name}" in err
    assert "stopped: 1 of 3 tasks answered and saved" in out
    gens = {g["task_key"]: g for g in rows(db, "SELECT * FROM generations")}
    story = gens["story"]
    assert story["status"] == "cancelled" and story["response"]
    assert story["completion_tokens"] > 0  # the whole partial answer, with its figures
    session = rows(db, "SELECT pid, status FROM sessions")[0]
    assert session["pid"] is None and session["status"] == "open"
    # The DB was closed cleanly: no write-ahead log is left behind.
    assert not Path(str(db) + ".wal").exists()


def test_resume_checks_the_model_file(tmp_path: Path, demo_model: Path) -> None:
    model = tmp_path / "copy.gguf"
    shutil.copyfile(demo_model, model)
    catalog = tmp_path / "long.toml"
    catalog.write_text(LONG.replace("max_tokens = 400", "max_tokens = 4"), encoding="utf-8")
    db = tmp_path / "m.duckdb"
    result = run_cli("run", "--db", str(db), "--model", str(model), "--catalog", str(catalog),
                     home=tmp_path)
    assert result.returncode == 0, result.stderr
    session = result.stdout.strip().splitlines()[-1]
    con = duckdb.connect(str(db))
    con.execute("UPDATE generations SET status = 'interrupted' WHERE task_key = 'last'")
    con.close()

    moved = tmp_path / "moved.gguf"
    model.rename(moved)
    line = assert_one_line_error(run_cli("run", "--db", str(db), "--resume", session,
                                         home=tmp_path))
    assert f"the model of session {session} is no longer at {model}" in line
    assert "pass --model" in line and "sha256 a5fd3b62230a" in line

    other = tmp_path / "other.gguf"
    shutil.copyfile(moved, other)
    with other.open("ab") as fh:
        fh.write(b"\0")
    line = assert_one_line_error(run_cli("run", "--db", str(db), "--resume", session,
                                         "--model", str(other), home=tmp_path))
    assert f"{other} is not the model session {session} used" in line

    result = run_cli("run", "--db", str(db), "--resume", session, "--model", str(moved),
                     home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "[3/3] last" in result.stdout


def test_a_complete_session_is_not_resumed(tmp_path: Path) -> None:
    from helpers import new_runner

    runner = new_runner(tmp_path / "c.duckdb")
    for task in runner.catalog.all_tasks():
        runner.run_task(task)
    for state in runner.store.task_states(runner.session_id).values():
        runner.store.rate(state.id, 3)
    line = assert_one_line_error(run_cli("run", "--db", str(tmp_path / "c.duckdb"),
                                         "--resume", runner.session_id, home=tmp_path))
    assert f"session {runner.session_id} is complete" in line

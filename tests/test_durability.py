"""Kills, crashes and signals against real processes: nothing saved is lost, sessions resume."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from conftest import REPO, assert_one_line_error, cli_env, run_cli
from helpers import STORY, Child, rows, wait_checkpoint

pytestmark = pytest.mark.model

LONG = '''name = "long"
version = "1"

[defaults]
max_tokens = 1500

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
''' + STORY + '''

[[tasks]]
key = "last"
prompt = "Name three colours."
max_tokens = 8
'''


def start_run(home: Path, db: Path, *args: str) -> Child:
    return Child(subprocess.Popen(
        [sys.executable, "-m", "rbyf_tui", "run", "--db", str(db), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=cli_env(home)))


@pytest.fixture()
def long_catalog(tmp_path: Path) -> Path:
    path = tmp_path / "long.toml"
    path.write_text(LONG, encoding="utf-8")
    return path


def test_kill_9_mid_stream_loses_nothing_and_resumes(tmp_path: Path, long_catalog: Path,
                                                     demo_model: Path) -> None:
    db = tmp_path / "k.duckdb"
    with start_run(tmp_path, db, "--catalog", str(long_catalog), "--seed", "3") as run:
        session = run.wait_line("model ").rsplit("session ", 1)[1].strip()
        run.wait_line("[1/3]")
        partial = wait_checkpoint(db)
        assert partial["task_key"] == "story"
        run.proc.kill()
        run.finish()

    listed = json.loads(run_cli("sessions", "--db", str(db), "--json", home=tmp_path).stdout)
    mine = next(s for s in listed if s["id"] == session)
    assert (mine["status"], mine["running"], mine["generated"]) == ("open", False, 1)
    gens = {g["task_key"]: g for g in rows(db, "SELECT * FROM generations")}
    assert gens["first"]["status"] == "ok" and gens["first"]["response"]
    story = gens["story"]
    assert story["status"] == "interrupted"
    assert story["response"].startswith(partial["response"]) and story["response"]

    result = run_cli("run", "--db", str(db), "--resume", session[:4], "--max-tokens", "8",
                     home=tmp_path)
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


def test_kill_9_while_loading_leaves_a_usable_db(tmp_path: Path, long_catalog: Path,
                                                 demo_model: Path) -> None:
    db = tmp_path / "load.duckdb"
    with start_run(tmp_path, db, "--catalog", str(long_catalog)) as run:
        run.wait_line("loading ")
        run.proc.kill()
        run.finish()
    listed = run_cli("sessions", "--db", str(db), "--json", home=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == []  # killed before a session began: none half-made
    # The next run uses the file as if nothing had happened.
    result = run_cli("run", "--db", str(db), "--catalog", str(long_catalog), "--max-tokens",
                     "4", home=tmp_path)
    assert result.returncode == 0, result.stderr
    [session] = json.loads(run_cli("sessions", "--db", str(db), "--json",
                                   home=tmp_path).stdout)
    assert (session["id"], session["generated"], session["running"]) == (
        result.stdout.strip().splitlines()[-1], 3, False)


def test_kill_9_right_after_an_answer_keeps_it(tmp_path: Path, long_catalog: Path,
                                               demo_model: Path) -> None:
    db = tmp_path / "after.duckdb"
    with start_run(tmp_path, db, "--catalog", str(long_catalog)) as run:
        run.wait_line("[1/3]")
        run.proc.kill()
        run.finish()
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
    with start_run(tmp_path, db, "--catalog", str(long_catalog)) as run:
        run.wait_line("[1/3]")
        wait_checkpoint(db)
        run.proc.send_signal(signum)
        out, err = run.finish(timeout=60)
    assert run.proc.returncode == 128 + signum, err
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
    catalog.write_text(LONG.replace("max_tokens = 1500", "max_tokens = 4"), encoding="utf-8")
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

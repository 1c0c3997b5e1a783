"""The real `rbyf` in a pseudo-terminal: keys in, ratings in the DB, signals, resume."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from conftest import run_cli
from helpers import MINI, with_story
from pty_harness import (
    LLAMA_WORDS,
    generations,
    quit_app,
    rate_when_done,
    rated,
    spawn,
    start,
    until_tokens_shown,
    wait_for,
)

pytestmark = pytest.mark.model


def test_keys_in_a_terminal_rate_and_llama_stays_off_the_screen(
        tmp_path: Path, demo_model: Path) -> None:
    child, home, db = start(tmp_path, demo_model, 16)
    wait_for(child, lambda: any(g[0] == "warm" and g[2] == "ok" for g in generations(db)))
    child.send("s")
    rate_when_done(child, tmp_path / "screen.txt", "Task A", 4)
    wait_for(child, lambda: rated(db) == [("a", 4)])
    wait_for(child, lambda: any(g[0] == "b" and g[2] == "ok" for g in generations(db)))
    quit_app(child)
    assert child.exitstatus == 0
    screen = (tmp_path / "screen.txt").read_text(encoding="utf-8")
    assert "Task A" in screen
    assert not [w for w in LLAMA_WORDS if w in screen]  # llama.cpp wrote to the log file
    log = (home / "logs" / "llama.log").read_text(encoding="utf-8", errors="replace")
    assert any(w in log for w in LLAMA_WORDS)


@pytest.mark.parametrize("how", ["SIGTERM", "SIGHUP", "terminal closed"])
def test_a_stop_signal_mid_stream_keeps_everything(tmp_path: Path, demo_model: Path,
                                                   how: str) -> None:
    signum = signal.SIGTERM if how == "SIGTERM" else signal.SIGHUP
    child, home, db = start(tmp_path, demo_model, None, with_story(MINI, "b", 1000))
    wait_for(child, lambda: any(g[0] == "warm" and g[2] == "ok" for g in generations(db)),
             timeout=300)
    child.send("s")
    rate_when_done(child, tmp_path / "screen.txt", "Task A", 3)
    # b starts; stop it once its first tokens are on the screen (the stats pane counts them)
    wait_for(child, lambda: any(g[0] == "b" for g in generations(db)))
    until_tokens_shown(child, tmp_path / "screen.txt")
    if how == "terminal closed":  # an SSH connection dropping: the kernel hangs up
        os.close(child.child_fd)
        end = time.monotonic() + 60
        while child.isalive() and time.monotonic() < end:
            time.sleep(0.1)
        assert not child.isalive()
    else:
        child.kill(signum)
        wait_for(child, lambda: not child.isalive(), timeout=60)
        child.close()
    listing = run_cli("sessions", "--json", home=home)  # also marks cut answers interrupted
    rows = {(k, a): (s, r) for k, a, s, r in generations(db)}
    status, text = rows[("b", 1)]
    assert child.signalstatus is None and child.exitstatus == 128 + signum
    assert status == "cancelled" and text  # SIGKILL: see test_tui_kill.py
    assert rated(db) == [("a", 3)]

    [row] = json.loads(listing.stdout)
    assert row["status"] == "open" and not row["running"]

    # resume: b's partial answer was cut, so b is generated again; a keeps its rating
    child = spawn(home, "--resume", row["id"], "--max-tokens", "8")
    child.logfile_read = (tmp_path / "screen2.txt").open("w", encoding="utf-8")
    wait_for(child, lambda: any(g[0] == "b" and g[1] == 2 and g[2] == "ok"
                                for g in generations(db)))
    quit_app(child)
    assert rated(db) == [("a", 3)]
    assert not any(k == "a" and a > 1 for k, a, _, _ in generations(db))


def test_resume_in_a_terminal_shows_the_unrated_answer(tmp_path: Path,
                                                       demo_model: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    catalog = tmp_path / "mini.toml"
    catalog.write_text(MINI, encoding="utf-8")
    done = run_cli("run", "--model", str(demo_model), "--catalog", str(catalog),
                   "--max-tokens", "8", home=home)
    assert done.returncode == 0, done.stderr
    sid = done.stdout.strip().splitlines()[-1]
    db = home / "rbyf.duckdb"
    before = generations(db)
    child = spawn(home, "--resume", sid)
    child.logfile_read = (tmp_path / "screen.txt").open("w", encoding="utf-8")
    child.expect("Task A", timeout=120)
    child.expect("done", timeout=30)
    time.sleep(0.5)
    child.send("5")
    child.send("\r")
    wait_for(child, lambda: rated(db) == [("a", 5)])
    quit_app(child)
    assert generations(db) == before  # nothing generated again


def test_quit_confirmed_mid_stream_exits_and_keeps_the_answer(tmp_path: Path,
                                                              demo_model: Path) -> None:
    child, _home, db = start(tmp_path, demo_model, None, with_story(MINI, "a", 1000))
    wait_for(child, lambda: any(g[0] == "warm" and g[2] == "ok" for g in generations(db)),
             timeout=300)
    child.send("s")
    wait_for(child, lambda: any(g[0] == "a" for g in generations(db)))
    screen = tmp_path / "screen.txt"
    seen = until_tokens_shown(child, screen)
    child.send("q")
    wait_for(child, lambda: "Quit rbyf?" in screen.read_text(encoding="utf-8")[seen:])
    child.send("y")
    wait_for(child, lambda: not child.isalive(), timeout=30)
    child.close()
    assert child.signalstatus is None and child.exitstatus == 0
    rows = {(k, a): (s, r) for k, a, s, r in generations(db)}
    status, text = rows[("a", 1)]
    assert status == "cancelled" and text

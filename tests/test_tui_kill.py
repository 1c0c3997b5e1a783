"""kill -9 of the app in a terminal, at several moments: nothing committed is lost.

Each test runs the real `rbyf` in a pseudo-terminal on the demo model, kills it with
SIGKILL (no handler runs), then checks the DB row by row with the next rbyf processes.
"""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from conftest import run_cli
from helpers import MINI, with_story
from pty_harness import (
    generations,
    quit_app,
    rate_when_done,
    rated,
    spawn,
    start,
    wait_for,
)

pytestmark = pytest.mark.model


def kill9(child: object) -> None:
    child.kill(signal.SIGKILL)  # type: ignore[attr-defined]
    wait_for(child, lambda: not child.isalive(), timeout=30)  # type: ignore[attr-defined]
    child.close()  # type: ignore[attr-defined]


def sessions(home: Path) -> list[dict[str, object]]:
    listing = run_cli("sessions", "--json", home=home)
    assert listing.returncode == 0, listing.stderr
    return json.loads(listing.stdout)


def rate_a(child: object, tmp_path: Path, db: Path, score: int) -> None:
    """Skip the warm-up's rating, rate task a once its answer is on the screen."""
    wait_for(child, lambda: any(g[0] == "warm" and g[2] == "ok" for g in generations(db)),
             timeout=300)
    child.send("s")  # type: ignore[attr-defined]
    rate_when_done(child, tmp_path / "screen.txt", "Task A", score)  # type: ignore[arg-type]


def test_kill9_right_after_a_rating_keeps_it(tmp_path: Path, demo_model: Path) -> None:
    child, home, db = start(tmp_path, demo_model, None, with_story(MINI, "b", 1500))
    rate_a(child, tmp_path, db, 4)
    wait_for(child, lambda: rated(db) == [("a", 4)])
    kill9(child)  # b is starting or streaming: it becomes interrupted
    [row] = sessions(home)
    assert row["status"] == "open" and not row["running"]
    assert rated(db) == [("a", 4)]
    states = {(k, a): s for k, a, s, _ in generations(db)}
    assert states[("warm", 1)] == "ok" and states[("a", 1)] == "ok"
    assert states.get(("b", 1)) in (None, "interrupted")


def long_b(tmp_path: Path, demo_model: Path) -> tuple[object, Path, Path]:
    """MINI with short answers but a long one for b, so b streams for many seconds."""
    home = tmp_path / "home"
    home.mkdir()
    catalog = tmp_path / "long-b.toml"
    catalog.write_text(with_story(MINI, "b", 1500), encoding="utf-8")
    child = spawn(home, "--model", str(demo_model), "--catalog", str(catalog))
    child.logfile_read = (tmp_path / "screen.txt").open("w", encoding="utf-8")
    return child, home, home / "rbyf.duckdb"


def test_kill9_mid_stream_keeps_the_checkpointed_partial_answer(tmp_path: Path,
                                                               demo_model: Path) -> None:
    child, home, db = long_b(tmp_path, demo_model)
    rate_a(child, tmp_path, db, 2)
    # the answer in progress is checkpointed every 3 s: wait for text in the running row
    wait_for(child, lambda: any(g[0] == "b" and g[2] == "running" and g[3]
                                for g in generations(db)), timeout=120)
    kill9(child)
    [row] = sessions(home)  # this rbyf marks the crashed generation interrupted
    assert row["status"] == "open" and not row["running"]
    rows = {(k, a): (s, r) for k, a, s, r in generations(db)}
    status, text = rows[("b", 1)]
    assert status == "interrupted" and text.strip()
    assert rated(db) == [("a", 2)]

    # resume in the app: a keeps its rating and answer; b is generated again
    child = spawn(home, "--resume", str(row["id"]), "--max-tokens", "8")
    wait_for(child, lambda: any(g[0] == "b" and g[1] == 2 and g[2] == "ok"
                                for g in generations(db)), timeout=300)
    quit_app(child)
    rows = {(k, a): (s, r) for k, a, s, r in generations(db)}
    assert rows[("b", 1)] == (status, text)  # the interrupted attempt is kept as it was
    assert not any(k == "a" and a > 1 for k, a in rows)
    assert rated(db) == [("a", 2)]


def test_kill9_while_the_model_loads_on_resume(tmp_path: Path, demo_model: Path) -> None:
    child, home, db = start(tmp_path, demo_model, 16)
    rate_a(child, tmp_path, db, 5)
    wait_for(child, lambda: rated(db) == [("a", 5)])
    wait_for(child, lambda: any(g[0] == "b" and g[2] == "ok" for g in generations(db)),
             timeout=300)
    quit_app(child)
    before = generations(db)
    [row] = sessions(home)

    child = spawn(home, "--resume", str(row["id"]))
    child.expect("loading", timeout=60)
    kill9(child)
    [again] = sessions(home)
    assert again["id"] == row["id"] and again["status"] == "open" and not again["running"]
    assert generations(db) == before and rated(db) == [("a", 5)]

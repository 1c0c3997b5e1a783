"""Two raters on one machine at once, each in a real terminal (80x24, as over SSH): two
`rbyf battle` and two `rbyf blind` processes on one DB file. Every vote and rating lands,
the letters agree, and nobody sees an error."""

from __future__ import annotations

import time
from pathlib import Path

import pexpect

from rbyf_tui.store import Store

from comparison_db import COMPARISON, comparison_db
from pty_harness import drain_for, spawn, wait_for


def shown(log: Path, text: str, after: int = 0) -> bool:
    """Whether the terminal got `text` in one piece (a whole new line or title; Textual
    rewrites only the changed cells of a line it repaints)."""
    return text in log.read_text(encoding="utf-8", errors="replace")[after:]


def open_app(tmp_path: Path, name: str, *args: str) -> tuple[pexpect.spawn, Path]:
    home = tmp_path / f"home-{name}"
    home.mkdir()
    child = spawn(home, *args, "--rater", name)
    log = tmp_path / f"screen-{name}.txt"
    child.logfile_read = log.open("w", encoding="utf-8")
    return child, log


def vote_left(child: pexpect.spawn, log: Path, rater: str, count: int) -> None:
    """space (the next battle), then 1 (left is better), until the screen counts the
    rater's `count`th vote: a key that comes while the screen is busy is ignored, so both
    are sent again, but only once a vote had time to be saved (a second space and 1 after
    a vote would vote again)."""
    want = f"{count} vote{'' if count == 1 else 's'} this time"
    end = time.monotonic() + 120
    while not shown(log, want):
        assert time.monotonic() < end, f"{rater}'s vote {count} never showed"
        child.send(" ")
        drain_for(child, 0.2)
        child.send("1")
        wait = time.monotonic() + 10
        while not shown(log, want) and time.monotonic() < wait:
            drain_for(child, 0.5)


def leave(child: pexpect.spawn) -> None:
    child.send("q")  # back: the home screen
    time.sleep(0.5)
    child.send("q")  # quit
    wait_for(child, lambda: not child.isalive(), timeout=60)
    child.close()
    assert child.exitstatus == 0


def test_two_raters_battle_at_once_on_one_file(tmp_path: Path) -> None:
    db = comparison_db(tmp_path / "rbyf.duckdb")
    raters = {name: open_app(tmp_path, name, "battle", "--db", str(db), "--catalog", "mini")
              for name in ("ann", "bob")}
    for child, log in raters.values():
        wait_for(child, lambda log=log: shown(log, "0 votes this time"))
    for round_no in range(3):  # the two alternate, each vote while the other's app is open
        for name, (child, log) in raters.items():
            vote_left(child, log, name, round_no + 1)
    for child, _ in raters.values():
        leave(child)
    for _, log in raters.values():
        assert not shown(log, "Cannot")
    with Store(db) as store:
        votes = store.vote_rows()
    by_rater = {name: [v for v in votes if v["rater"] == name] for name in raters}
    assert {name: len(v) for name, v in by_rater.items()} == {"ann": 3, "bob": 3}
    for given in by_rater.values():  # never the same pair on the same task twice
        pairs = {(v["task_key"], *sorted((v["left_model"], v["right_model"]))) for v in given}
        assert len(pairs) == 3 and all(v["verdict"] == "left" for v in given)


def test_two_raters_rate_one_comparison_blind_at_once(tmp_path: Path) -> None:
    db = comparison_db(tmp_path / "rbyf.duckdb")
    raters = {name: open_app(tmp_path, name, "blind", COMPARISON[:8], "--db", str(db))
              for name in ("ann", "bob")}
    for child, log in raters.values():
        wait_for(child, lambda log=log: shown(log, "0/3 rated, names hidden"))
    for score in "345":
        for child, _ in raters.values():
            child.send(score)
            time.sleep(0.3)
    for child, log in raters.values():
        wait_for(child, lambda log=log: shown(log, "names shown"))
    for child, _ in raters.values():
        leave(child)
    with Store(db) as store:
        orders = store.blind_orders(COMPARISON)
        members = {m.session_id: m.model for m in store.comparison(COMPARISON).members}
        rows = store.db.read(lambda con: con.execute(
            "SELECT r.rater, s.id, r.score, r.blind FROM ratings r JOIN generations g "
            "ON g.id = r.generation_id JOIN sessions s ON s.id = g.session_id "
            "WHERE g.task_key = 'a' ORDER BY r.rater, r.created_at").fetchall())
    assert list(orders) in (["a"], ["a", "b"])  # one stored order per task, for both
    letters = {session: "ABC"[n] for n, session in enumerate(orders["a"])}
    for rater in ("ann", "bob"):  # both scored A 3, B 4, C 5: the same letters, blind
        given = {letters[sid]: (score, blind) for r, sid, score, blind in rows if r == rater}
        assert given == {"A": (3, True), "B": (4, True), "C": (5, True)}, (rater, members)

"""A comparison in the app, on two real models (the demo model and its Q8_0 requantization):
home, pick both (c), the catalog generates on each in turn, then blind rating by keys, the
names shown only once every answer of a task is rated; and battles on the same answers."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from rbyf_tui.tui.app import RbyfApp
from rbyf_tui.tui.config import AppConfig
from rbyf_tui.tui.screens.battle import BattleScreen
from rbyf_tui.tui.screens.blind import BlindScreen
from rbyf_tui.tui.screens.comparison_run import ComparisonRunScreen
from rbyf_tui.tui.screens.dialogs import PickMany

from board_app import screen_text
from helpers import MINI

pytestmark = [pytest.mark.anyio, pytest.mark.model]


async def until(pilot: Any, condition: Callable[[], object], what: str,
                timeout: float = 240.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"not there in {timeout:.0f} s: {what}; the screen shows:\n"
                                 f"{screen_text(pilot.app)}")
        await pilot.pause(0.05)


async def test_compare_two_real_models_then_rate_them_blind_and_battle(
        tmp_path: Path, demo_model: Path, q8_model: Path, rbyf_home: Path) -> None:
    catalog = tmp_path / "mini.toml"
    catalog.write_text(MINI, encoding="utf-8")
    db = tmp_path / "rbyf.duckdb"
    app = RbyfApp(AppConfig(db_path=db, offer_demo=True, catalog=str(catalog), max_tokens=6,
                            handle_signals=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.query("#models"), "the home screen")
        app.screen.query_one("#model-path").focus()
        await pilot.press(*str(q8_model), "enter")  # a second model, typed
        await pilot.press("c")
        await until(pilot, lambda: isinstance(app.screen, PickMany), "the model picker")
        await pilot.press("space", "enter")  # one model: refused
        assert isinstance(app.screen, PickMany)
        await pilot.press("down", "space", "enter")
        await until(pilot, lambda: isinstance(app.screen, ComparisonRunScreen), "the run")
        run = app.screen
        await until(pilot, lambda: not run.running, "both models generated")
        text = screen_text(app)
        assert "gemma-3-270m-it-Q8_0 (Q8_0," in text and "(Q4_K_M," in text
        assert sum(line.endswith(" ok") for line in text.splitlines()) == 6  # 3 tasks each
        assert "t/s" not in text and "tok" not in text  # nothing that tells answers apart
        assert "done · b rates the answers blind" in text

        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, BlindScreen)
                    and app.screen.round is not None, "blind rating")
        blind = app.screen
        text = screen_text(app)
        assert "task 1/2: Task A · 0/2 rated, names hidden" in text
        assert "Q8_0" not in text and "Q4_K_M" not in text and "gemma" not in text
        letters = {b.letter: b.member.quantization for b in blind.round.tasks[0].answers}
        await pilot.press("5")
        await until(pilot, lambda: "1/2 rated" in screen_text(app), "the first rating")
        assert "Q8_0" not in screen_text(app)
        await pilot.press("2")
        await until(pilot, lambda: "names shown" in screen_text(app), "the names")
        await pilot.press("escape", "escape")  # back to home

        await until(pilot, lambda: app.screen.query("#models"), "home again")
        await pilot.press("b")
        await until(pilot, lambda: isinstance(app.screen, BattleScreen)
                    and "0 votes this time" in screen_text(app), "a battle")
        await pilot.press("left")
        await until(pilot, lambda: "saved: left is better" in screen_text(app), "the vote")
        votes = app.store.vote_rows()
    assert [(v["catalog"], v["verdict"], v["rater"]) for v in votes] == [
        ("mini", "left", "tester")]
    assert {votes[0]["left_model"], votes[0]["right_model"]} == {
        "gemma-3-270m-it-Q8_0", demo_model.stem}

    con = duckdb.connect(str(db), read_only=True)
    try:
        rated = con.execute("""
            SELECT m.quantization, r.score, r.blind FROM ratings r
            JOIN generations g ON g.id = r.generation_id JOIN sessions s ON s.id = g.session_id
            JOIN models m ON m.id = s.model_id ORDER BY r.created_at""").fetchall()
        linked = con.execute("SELECT count(DISTINCT comparison_id), count(DISTINCT settings "
                             "->> 'seed') FROM sessions").fetchone()
    finally:
        con.close()
    assert rated == [(letters["A"], 5, True), (letters["B"], 2, True)]
    assert linked == (1, 1)  # both sessions in one comparison, with one seed


async def test_a_battle_generates_the_answer_a_model_lacks_when_asked(
        tmp_path: Path, demo_model: Path, q8_model: Path, rbyf_home: Path) -> None:
    from rbyf_tui import catalog as catalogs
    from rbyf_tui.backends import BackendOptions
    from rbyf_tui.opening import NewSession, Opening, open_session
    from rbyf_tui.store import Store
    from rbyf_tui.tui.screens.battle import BattleScreen

    from comparison_db import ScreenApp

    db = tmp_path / "rbyf.duckdb"
    catalog = catalogs.parse(MINI, "mini.toml")
    store = Store(db)
    for model, tasks in ((demo_model, ("warm", "a", "b")), (q8_model, ("warm", "a"))):
        opened = open_session(Opening(store, "run", max_tokens=4),
                              NewSession(BackendOptions(model=str(model)), catalog))
        try:
            for task in catalog.all_tasks():
                if task.key in tasks:
                    assert opened.runner.run_task(task).status == "ok"
        finally:
            store.release_session(opened.runner.session_id)
            opened.backend.close()
    store.close()

    app = ScreenApp(db, lambda: BattleScreen("mini", rater="ann", seed=1,
                                             missing="generate"))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "0 votes this time" in screen_text(app), "a battle")
        assert "Task A" in screen_text(app)  # both answered it: it comes first
        await pilot.press("t")
        await until(pilot, lambda: "saved: a tie" in screen_text(app), "the vote")
        await pilot.press("space")
        await until(pilot, lambda: "1 vote this time" in screen_text(app),
                    "the battle on task b, its missing answer generated")
        assert "Task B" in screen_text(app)
        await pilot.press("1")
        await until(pilot, lambda: "saved: left is better" in screen_text(app), "the vote")
        votes = [(v["task_key"], v["verdict"]) for v in app.store.vote_rows()]
    assert votes == [("a", "tie"), ("b", "left")]
    con = duckdb.connect(str(db), read_only=True)
    try:
        made = con.execute("SELECT m.quantization, g.task_key, g.status FROM generations g "
                           "JOIN sessions s ON s.id = g.session_id JOIN models m ON "
                           "m.id = s.model_id WHERE m.quantization = 'Q8_0' "
                           "ORDER BY g.started_at").fetchall()
    finally:
        con.close()
    assert made == [("Q8_0", "warm", "ok"), ("Q8_0", "a", "ok"), ("Q8_0", "b", "ok")]


async def test_quit_while_a_comparison_generates_keeps_what_is_done(
        tmp_path: Path, rbyf_home: Path) -> None:
    """ctrl+q on the run screen: the answer in progress ends as cancelled, the model not
    started stays waiting, the app exits; nothing scripted replaces the store or the app."""
    from rbyf_tui.backends import BackendOptions
    from rbyf_tui.comparison import ModelSpec, plan_comparison
    from rbyf_tui.store import Store

    from fakes import ScriptedBackend
    from helpers import mini_catalog

    db = tmp_path / "rbyf.duckdb"
    with Store(db) as store:
        specs = [ModelSpec(BackendOptions(backend="openai", base_url="http://x.test/v1",
                                          api_model=name)) for name in ("a", "b")]
        cid = plan_comparison(store, mini_catalog(), specs, seed=3,
                              settings={"max_tokens": 400})

    def make(options: BackendOptions, n_ctx: int, seed: int) -> ScriptedBackend:
        return ScriptedBackend(["word " * 400], delay_s=0.02, model=options.api_model)

    app = RbyfApp(AppConfig(db_path=db, backend_factory=make, handle_signals=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: "comparison of 2 models" in screen_text(app), "home")
        app.screen.query_one("#sessions").focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ComparisonRunScreen), "the run")
        await until(pilot, lambda: "[1/3]" in screen_text(app), "the warm-up answered",
                    timeout=60)
        await pilot.press("ctrl+q")
        await until(pilot, lambda: not app.is_running, "the app to exit", timeout=60)
    with Store(db) as store:
        row = store.comparison(cid)
        [first] = [m for m in row.members if m.session_id is not None]
        states = store.task_states(first.session_id)
    assert [m.status for m in row.members][1] == "waiting"
    assert states["warm"].status == "ok" and states["a"].status == "cancelled"
    assert "b" not in states

"""Battles by keys: two anonymous answers, a vote, the names after it, the next battle;
never the same pair on the same task twice for one rater; every vote stored at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from rbyf_tui.store import Store
from rbyf_tui.tui.screens.battle import BattleScreen
from rbyf_tui.tui.screens.board.battle_board import BattleBoardScreen

from board_app import settle, until
from comparison_db import MODELS, ScreenApp, comparison_db

pytestmark = pytest.mark.anyio

NAMES = [name for name, _, _ in MODELS]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def votes(app: ScreenApp) -> list[tuple[str, str, str, str, str, str]]:
    """(task, left model, right model, verdict, remarks, rater), oldest first, read through
    the app's store (it holds the file)."""
    return [(v["task_key"], v["left_model"], v["right_model"], v["verdict"],
             v["remarks"] or "", v["rater"]) for v in app.store.vote_rows()]


async def test_a_vote_then_the_names_then_the_next_battle_until_none_is_left(
        tmp_path: Path) -> None:
    db = comparison_db(tmp_path / "rbyf.duckdb")
    app = ScreenApp(db, lambda: BattleScreen("mini", rater="ann", seed=3))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = await until(pilot, "0 votes this time")
        assert not any(name in text for name in NAMES)
        assert "decode" not in text  # speed would give a model away
        assert text.count(" answer to Task ") == 2
        assert "Left" in text and "Right" in text

        await pilot.press("left")
        await settle(pilot)
        text = await until(pilot, "saved: left is better")
        [(_, left, right, verdict, _, rater)] = votes(app)
        assert (verdict, rater) == ("left", "ann")
        assert f"left was {left}, right was {right}" in text
        assert f"Left · {left}" in text and f"Right · {right}" in text
        assert "decode" in text
        await pilot.press("right")  # one vote per battle: a second key changes nothing
        await settle(pilot)
        assert len(votes(app)) == 1

        await pilot.press("space")
        await settle(pilot)
        await until(pilot, "1 vote this time")
        await pilot.press("e")
        await pilot.press(*"same", "enter")
        await pilot.press("t")
        await settle(pilot)
        await until(pilot, "saved: a tie")
        for key in ("b", "2", "1", "1"):  # six battles: three pairs on two tasks
            await pilot.press("space")
            await settle(pilot)
            await until(pilot, "votes this time")
            await pilot.press(key)
            await settle(pilot)
            await until(pilot, "saved:")
        await pilot.press("space")
        await settle(pilot)
        await until(pilot, "no battle left for you (6 votes this time)")
        assert not any(c.display for c in app.screen.query("#battle-columns"))
        given = votes(app)


    assert [v[3] for v in given] == ["left", "tie", "both_bad", "right", "left", "left"]
    assert given[1][4] == "same"
    battles = {(task, *sorted((left, right))) for task, left, right, *_ in given}
    assert len(battles) == 6  # every pair on every task, none twice


async def test_skip_moves_on_without_a_vote_and_r_allows_repeats(tmp_path: Path) -> None:
    db = comparison_db(tmp_path / "rbyf.duckdb")
    app = ScreenApp(db, lambda: BattleScreen("mini", rater="ann", seed=5))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await until(pilot, "0 votes this time")
        screen = app.screen
        assert isinstance(screen, BattleScreen) and screen.shown and screen.shown.battle
        skipped = screen.shown.battle.key
        await pilot.press("s")
        await settle(pilot)
        assert screen.shown.battle is not None and screen.shown.battle.key != skipped
        assert votes(app) == []
        for _ in range(6):
            await pilot.press("1")
            await settle(pilot)
            await until(pilot, "saved:")
            await pilot.press("space")
            await settle(pilot)
        await until(pilot, "no battle left")
        assert screen.shown.battle is None
        await pilot.press("r")  # repeats allowed: battles come again
        await settle(pilot)
        text = await until(pilot, "6 votes this time")
        assert screen.shown.battle is not None and "no battle left" not in text
        assert screen.query_one("#battle-columns").display and "prompt:" in text
        assert len(votes(app)) == 6  # the skipped battle was voted on later, once


async def test_the_battle_ranking_orders_models_by_their_votes(tmp_path: Path) -> None:
    db = comparison_db(tmp_path / "rbyf.duckdb")
    with Store(db) as store:
        answers = {(a.model, a.task_key): a.generation_id
                   for a in store.battle_state("mini")[0]}
        for task in ("a", "b"):  # q4 beats q8 beats beta, the winner once left, once right
            for better, worse in (("alpha-1b-q4", "alpha-1b-q8"), ("alpha-1b-q8", "beta-2b-q4"),
                                  ("alpha-1b-q4", "beta-2b-q4")):
                left, right = (better, worse) if task == "a" else (worse, better)
                store.record_vote(answers[(left, task)], answers[(right, task)],
                                  "left" if task == "a" else "right", rater="ann")
    app = ScreenApp(db, lambda: BattleBoardScreen("mini"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        text = await until(pilot, "Battles · mini · 6 votes, 3 models")
        ranked = [line.split()[1] for line in text.splitlines()
                  if line.strip()[:1].isdigit() and ("alpha" in line or "beta" in line)]
        assert ranked[:3] == ["alpha-1b-q4", "alpha-1b-q8", "beta-2b-q4"]
        assert "the left answer won 50% of decided votes" in text
        assert "100%" in text  # the winner won every vote


async def test_escape_from_rbyf_battle_goes_home(tmp_path: Path) -> None:
    from rbyf_tui.tui.app import RbyfApp
    from rbyf_tui.tui.config import AppConfig, BattleStart
    from rbyf_tui.tui.screens.home import HomeScreen

    db = comparison_db(tmp_path / "rbyf.duckdb")
    app = RbyfApp(AppConfig(db_path=db, battle=BattleStart("mini"), handle_signals=False))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await until(pilot, "0 votes this time")
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, HomeScreen)  # not an empty screen
        await until(pilot, "rbyf · rate local LLMs")


@pytest.mark.anyio
async def test_rbyf_battle_and_blind_refuse_bad_input_in_one_line(tmp_path: Path) -> None:
    from conftest import assert_one_line_error, run_cli

    db = str(comparison_db(tmp_path / "rbyf.duckdb"))
    empty = str(tmp_path / "empty.duckdb")
    cases = [
        (("battle", "--db", db, "--catalog", "nope"), 1,
         "rbyf: no answers on catalog 'nope'; catalogs with answers: mini"),
        (("battle", "--db", db, "--models", "alpha-1b-q4"), 2,
         "rbyf: a battle needs two models or more with answers on 'mini'; of those named, "
         "1 answered it"),
        (("battle", "--db", db, "--models", "zzz", "alpha-1b-q4"), 1,
         "rbyf: no model named 'zzz'; see rbyf leaderboard for the names"),
        (("battle", "--db", empty), 1, "rbyf: no answers to battle over: generate some "
         "first, e.g. rbyf run --model A.gguf --model B.gguf"),
        (("blind", "nope", "--db", db), 1,
         "rbyf: no comparison nope; list them with: rbyf sessions"),
        (("blind", "--db", empty), 1, "rbyf: no comparison yet: start one with rbyf run "
         "--model A.gguf --model B.gguf"),
    ]
    for args, code, line in cases:
        assert assert_one_line_error(run_cli(*args, home=tmp_path), code) == line, args

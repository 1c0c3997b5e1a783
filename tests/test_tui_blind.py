"""Blind rating by keys: a comparison's answers under letters, names and speed hidden until
this rater has rated every answer of the task; the letters stay put when the rater comes
back; the ratings are ordinary ones that say they were given blind."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest

from rbyf_tui import blind
from rbyf_tui.store import Store
from rbyf_tui.tui.screens.blind import BlindColumn, BlindScreen

from board_app import settle, until
from comparison_db import COMPARISON, MODELS, ScreenApp, comparison_db

pytestmark = pytest.mark.anyio

NAMES = [name for name, _, _ in MODELS]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def letters_of(db: Path, task: str) -> dict[str, str]:
    """Letter -> model name for one task, as the store keeps the order."""
    with Store(db) as store:
        rnd = blind.load_round(store, COMPARISON, "ann")
    return {b.letter: b.member.model for b in next(t for t in rnd.tasks if t.key == task).answers}


def ratings(db: Path) -> list[tuple[str, int, str, bool, str]]:
    """(model, score, remarks, blind, task) of every rating, by model then task."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("""
            SELECT m.name, r.score, r.remarks, r.blind, g.task_key FROM ratings r
            JOIN generations g ON g.id = r.generation_id JOIN sessions s ON s.id = g.session_id
            JOIN models m ON m.id = s.model_id WHERE r.rater = 'ann' ORDER BY 1, 5""").fetchall()
    finally:
        con.close()


async def test_names_and_speed_show_only_once_every_answer_of_the_task_is_rated(
        tmp_path: Path) -> None:
    db = comparison_db(tmp_path / "rbyf.duckdb")
    app = ScreenApp(db, lambda: BlindScreen(COMPARISON, rater="ann"))
    async with app.run_test(size=(140, 30)) as pilot:  # wide: side by side
        await settle(pilot)
        text = await until(pilot, "task 1/2: Task A")
        assert "0/3 rated, names hidden" in text
        assert all(f"Answer {x}" in text for x in "ABC")
        assert not any(name in text for name in NAMES)
        assert "decode" not in text and "t/s" not in text  # speed gives a model away
        assert "amber answer" in text and "cobalt answer" in text and "olive answer" in text
        assert all(c.display for c in app.screen.query(BlindColumn))

        order = letters_of(db, "a")
        await pilot.press("4")  # answer A
        await settle(pilot)
        text = await until(pilot, "1/3 rated, names hidden")
        assert not any(name in text for name in NAMES)
        await pilot.press("e")
        await pilot.press(*"too short", "enter")  # a remark on B, saved with its score
        await pilot.press("2")
        await settle(pilot)
        await until(pilot, "2/3 rated, names hidden")
        await pilot.press("5")  # C: the last one
        await settle(pilot)
        text = await until(pilot, "names shown")
        assert all(name in text for name in NAMES)
        assert "decode" in text  # figures too, now
        assert f"Answer A · {order['A']}" in text
        await pilot.press("1")  # C again, the names in view: no longer blind
        await settle(pilot)
        await until(pilot, " 1  of 5")

        await pilot.press("n")  # the next task is blind again
        text = await until(pilot, "task 2/2: Task B · 0/3 rated, names hidden")
        assert not any(name in text for name in NAMES)

    given = ratings(db)
    assert sorted((m, s, r, b) for m, s, r, b, _ in given) == sorted([
        (order["A"], 4, "", True), (order["B"], 2, "too short", True),
        (order["C"], 5, "", True), (order["C"], 1, "", False)])
    assert {task for *_, task in given} == {"a"}


async def test_the_letters_stay_with_their_answers_when_the_rater_comes_back(
        tmp_path: Path) -> None:
    db = comparison_db(tmp_path / "rbyf.duckdb")
    first = {key: letters_of(db, key) for key in ("a", "b")}
    assert first == {key: letters_of(db, key) for key in ("a", "b")}
    with Store(db) as store:
        sessions = {m.model: m.session_id for m in store.comparison(COMPARISON).members}
        stored = store.blind_orders(COMPARISON)
    for key in ("a", "b"):  # the order is the seeded shuffle, stored once
        assert [sessions[first[key][x]] for x in "ABC"] == stored[key]
        assert stored[key] == blind.shuffled(list(sessions.values()), 7, key)

    # Half rated, then the rater leaves and comes back: the same letters, the rest to rate.
    app = ScreenApp(db, lambda: BlindScreen(COMPARISON, rater="ann"))
    async with app.run_test(size=(140, 30)) as pilot:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        await until(pilot, "1/3 rated")
    app = ScreenApp(db, lambda: BlindScreen(COMPARISON, rater="ann"))
    async with app.run_test(size=(140, 30)) as pilot:
        await settle(pilot)
        text = await until(pilot, "task 1/2: Task A · 1/3 rated")
        assert " 3  of 5" in text
        assert app.screen.current == 1  # the next answer still to rate
    assert letters_of(db, "a") == first["a"]
    assert [(m, s) for m, s, *_ in ratings(db)] == [(first["a"]["A"], 3)]


async def test_scores_typed_ahead_of_the_screen_land_in_order(tmp_path: Path) -> None:
    # Over SSH a rater types 3 4 5 before the first score is saved: none may be lost.
    db = comparison_db(tmp_path / "rbyf.duckdb")
    order = letters_of(db, "a")
    app = ScreenApp(db, lambda: BlindScreen(COMPARISON, rater="ann"))
    async with app.run_test(size=(140, 30)) as pilot:
        await settle(pilot)
        await until(pilot, "0/3 rated, names hidden")
        rate = app.store.rate
        gate = threading.Event()

        def slow_rate(*args: object, **kwargs: object) -> None:  # a slow link or disk
            gate.wait(60)
            rate(*args, **kwargs)  # type: ignore[arg-type]

        app.store.rate = slow_rate  # type: ignore[method-assign]
        await pilot.press("3", "4", "5")
        assert app.screen.typed_ahead == [4, 5]  # the screen is still saving the first
        gate.set()
        await settle(pilot)
        await until(pilot, "names shown")
    assert sorted((m, s, b) for m, s, _, b, _ in ratings(db)) == sorted([
        (order["A"], 3, True), (order["B"], 4, True), (order["C"], 5, True)])


async def test_at_80_columns_one_answer_shows_and_a_switches(tmp_path: Path) -> None:
    db = comparison_db(tmp_path / "rbyf.duckdb")
    app = ScreenApp(db, lambda: BlindScreen(COMPARISON, rater="ann"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await until(pilot, "rating A")
        columns = list(app.screen.query(BlindColumn))
        assert [c.display for c in columns] == [True, False, False]
        await pilot.press("a")
        text = await until(pilot, "rating B")
        assert [c.display for c in columns] == [False, True, False]
        assert "Answer B" in text and "Answer A" not in text
        await pilot.press("shift+tab", "shift+tab")
        await until(pilot, "rating C")


async def test_an_unknown_comparison_says_so_in_one_line(tmp_path: Path) -> None:
    db = comparison_db(tmp_path / "rbyf.duckdb")
    app = ScreenApp(db, lambda: BlindScreen("nope", rater="ann"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await until(pilot, "Cannot open the comparison: no comparison nope")

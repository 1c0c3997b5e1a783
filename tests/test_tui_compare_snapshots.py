"""Snapshots of the blind rating and battle screens at 80x24 and 120x40, and without colour,
from a fixed comparison (no model, no random ids on screen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rbyf_tui.tui.screens.battle import BattleScreen
from rbyf_tui.tui.screens.blind import BlindScreen

from board_app import settle, until
from comparison_db import COMPARISON, ScreenApp, comparison_db


def blind_app(tmp_path: Path) -> ScreenApp:
    return ScreenApp(comparison_db(tmp_path / "rbyf.duckdb"),
                     lambda: BlindScreen(COMPARISON, rater="ann"))


def test_blind_hidden(snap_compare: Any, tmp_path: Path) -> None:
    async def ready(pilot: Any) -> None:
        await settle(pilot)
        await until(pilot, "rating A")
        await pilot.press("4")  # rated, still hidden: the score shows, the name does not
        await settle(pilot)
        await until(pilot, "1/3 rated")

    assert snap_compare(blind_app(tmp_path), terminal_size=(80, 24), run_before=ready)


def test_blind_revealed(snap_compare: Any, tmp_path: Path) -> None:
    async def ready(pilot: Any) -> None:
        await settle(pilot)
        for score in "425":
            await pilot.press(score)
            await settle(pilot)
        await until(pilot, "names shown")

    assert snap_compare(blind_app(tmp_path), terminal_size=(120, 40), run_before=ready)


def test_blind_without_colour(snap_compare: Any, tmp_path: Path,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")

    async def ready(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("3")
        await settle(pilot)
        await until(pilot, "1/3 rated")

    assert snap_compare(blind_app(tmp_path), terminal_size=(80, 24), run_before=ready)


def battle_app(tmp_path: Path) -> ScreenApp:
    return ScreenApp(comparison_db(tmp_path / "rbyf.duckdb"),
                     lambda: BattleScreen("mini", rater="ann", seed=3))


def test_battle_before_the_vote(snap_compare: Any, tmp_path: Path) -> None:
    async def ready(pilot: Any) -> None:
        await settle(pilot)
        await until(pilot, "0 votes this time")

    assert snap_compare(battle_app(tmp_path), terminal_size=(80, 24), run_before=ready)


def test_battle_after_the_vote(snap_compare: Any, tmp_path: Path) -> None:
    async def ready(pilot: Any) -> None:
        await settle(pilot)
        await until(pilot, "0 votes this time")
        await pilot.press("right")
        await settle(pilot)
        await until(pilot, "saved: right is better")

    assert snap_compare(battle_app(tmp_path), terminal_size=(120, 40), run_before=ready)


def test_battle_without_colour(snap_compare: Any, tmp_path: Path,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")

    async def ready(pilot: Any) -> None:
        await settle(pilot)
        await until(pilot, "0 votes this time")
        await pilot.press("left")
        await settle(pilot)
        await until(pilot, "saved: left is better")

    assert snap_compare(battle_app(tmp_path), terminal_size=(80, 24), run_before=ready)

"""The compare screen: pick models by keyboard, then each task's answers side by side."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import SelectionList

from rbyf_tui.tui.screens.board.compare import AnswerColumn, CompareScreen, ModelPicker
from rbyf_tui.tui.screens.board.leaderboard import LeaderboardScreen

from board_app import BoardApp, full_db, legacy_db, screen_text, settle, until

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def pick_qwen_and_llama_1b(pilot) -> None:
    """From the leaderboard: v, then drop the two preselected, pick qwen and Llama-1B."""
    await settle(pilot)
    await pilot.press("v")
    await settle(pilot)
    # options in leaderboard order: gemma, Llama-3B, qwen, Llama-1B (legacy runs)
    await pilot.press("space", "down", "space", "down", "space", "down", "space", "enter")
    await settle(pilot)


async def test_compare_steps_through_the_tasks_side_by_side(tmp_path: Path) -> None:
    app = BoardApp(legacy_db(tmp_path / "rbyf.duckdb"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        assert isinstance(app.screen, ModelPicker)
        picks = app.screen.query_one(SelectionList)
        assert picks.selected == ["legacy:gemma-2-2b-it-q5_k_m",
                                  "legacy:Llama-3.2-3B-Instruct"]  # the best two, ready
        await pilot.press("space", "down", "space", "enter")  # one model only: refused
        assert isinstance(app.screen, ModelPicker)
        await pilot.press("down", "space", "down", "space", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        assert [c.model for c in screen.query(AnswerColumn)] == [
            "qwen2.5-1.5b-instruct-q5_k_m", "Llama-3.2-1B-Instruct-Q8_0"]
        text = screen_text(app)
        assert "task 1/14: introduction" in text
        assert "prompt: Hi there I am Fabio, a Medium writer. who are you?" in text
        assert " 4  of 5 · tester" in text and " 5  of 5 · tester" in text
        assert "Hello! As an AI language model" in text and "Nice to meet you, Fabio!" in text

        await pilot.press("n")
        text = screen_text(app)
        assert "task 2/14: explain in one sentence" in text
        assert "prompt: explain in one sentence what is science." in text

        await pilot.press("n", "n")  # "I am ready": the Llama-1B run predates it
        text = screen_text(app)
        assert "task 4/14: say 'I am ready'" in text
        assert "I am ready." in text
        assert "no answer to this task" in text

        await pilot.press("n", "n")  # two-sentence summary: qwen 1 with a remark, llama 5
        text = screen_text(app)
        assert "task 6/14: Summarize in two sentences" in text
        assert " 1  of 5 · tester" in text and " 5  of 5 · tester" in text
        assert "remarks: - there are made up" in text

        await pilot.press("p", "left")  # back two, and left is "previous" too
        text = screen_text(app)
        assert "task 4/14: say 'I am ready'" in text and "I am ready." in text
        await pilot.press("p", "p", "p", "p")  # wraps around to the last task
        text = screen_text(app)
        assert "task 14/14: Reflection prompt" in text
        assert "prompt: You are an AI assistant designed to provide detailed" in text

        await pilot.press("escape")
        assert isinstance(app.screen, LeaderboardScreen)


async def test_long_answers_scroll_in_their_column(tmp_path: Path) -> None:
    app = BoardApp(legacy_db(tmp_path / "rbyf.duckdb"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pick_qwen_and_llama_1b(pilot)
        await pilot.press(*["n"] * 12)  # the 1000-word SF story
        assert "task 13/14" in screen_text(app)
        first = app.screen.query(AnswerColumn).first()
        assert first.has_focus and first.max_scroll_y > 20
        await pilot.press("pagedown", "pagedown")
        assert first.scroll_y > 0
        await pilot.press("n")  # a new task starts at the top
        assert first.scroll_y == 0


async def test_picking_again_and_cancelling(tmp_path: Path) -> None:
    app = BoardApp(full_db(tmp_path / "rbyf.duckdb"))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert [c.model for c in app.screen.query(AnswerColumn)] == [
            "gemma-2-2b-it-q5_k_m", "Llama-3.2-3B-Instruct"]
        await pilot.press("m")  # pick a third model
        await settle(pilot)
        await pilot.press("down", "down", "space", "enter")
        await settle(pilot)
        columns = list(app.screen.query(AnswerColumn))
        assert [c.model for c in columns] == [
            "gemma-2-2b-it-q5_k_m", "Llama-3.2-3B-Instruct", "steady-7b-q4"]
        text = screen_text(app)
        assert "TTFT 3.06 s · prompt 39.2 t/s" in text  # its fixed figures
        assert "decode 14.0 t/s · e2e 11.7 t/s" in text
        await pilot.press("m", "escape")  # cancelled: the comparison stays
        await settle(pilot)
        assert isinstance(app.screen, CompareScreen)
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("c")  # the mini catalog has one model: cannot compare
        await pilot.press("enter")
        assert isinstance(app.screen, ModelPicker)
        await pilot.press("escape", "escape")
        assert isinstance(app.screen, LeaderboardScreen)


async def test_three_models_at_80_columns_scroll_sideways(tmp_path: Path) -> None:
    app = BoardApp(full_db(tmp_path / "rbyf.duckdb"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await app.push_screen(CompareScreen("rbyf-v2", models=[
            "fixed:swift-1b-q4", "legacy:gemma-2-2b-it-q5_k_m", "fixed:steady-7b-q4"]))
        await settle(pilot)
        columns = list(app.screen.query(AnswerColumn))
        assert [c.model for c in columns] == [
            "swift-1b-q4", "gemma-2-2b-it-q5_k_m", "steady-7b-q4"]
        assert all(c.outer_size.width >= 38 for c in columns)  # never squeezed
        assert "steady-7b-q4 on introduction." not in screen_text(app)
        await pilot.press("tab", "tab")
        await pilot.pause()
        assert columns[2].has_focus
        text = screen_text(app)
        assert "steady-7b-q4 on introduction." in text and " 5  of 5 · ann" in text


async def test_a_model_that_is_gone_is_one_line(tmp_path: Path) -> None:
    app = BoardApp(legacy_db(tmp_path / "rbyf.duckdb"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await app.push_screen(CompareScreen("rbyf-v2", models=[
            "legacy:gemma-2-2b-it-q5_k_m", "nobody"]))
        await settle(pilot)
        assert "Cannot compare: no model 'nobody'" in await until(pilot, "Cannot compare")


async def test_cancelling_the_first_pick_goes_back(tmp_path: Path) -> None:
    app = BoardApp(legacy_db(tmp_path / "rbyf.duckdb"))
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("v")
        await settle(pilot)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, LeaderboardScreen)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_snapshot_compare(tmp_path: Path, snap_compare, size: tuple[int, int]) -> None:
    async def on_task_six(pilot) -> None:
        await pick_qwen_and_llama_1b(pilot)
        await pilot.press(*["n"] * 5)

    app = BoardApp(legacy_db(tmp_path / "rbyf.duckdb"))
    assert snap_compare(app, terminal_size=size, run_before=on_task_six)

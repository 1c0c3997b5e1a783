"""The leaderboard, matrix and chart screens in a real Textual app over a real DuckDB file
(the old scripts' runs imported, plus runs with fixed figures)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.widgets import Static

from rbyf_tui.store import Store
from rbyf_tui.tui.screens.board.answer import AnswerScreen
from rbyf_tui.tui.screens.board.chart import ChartScreen
from rbyf_tui.tui.screens.board.grid import ScoreGrid
from rbyf_tui.tui.screens.board.leaderboard import LeaderboardScreen
from rbyf_tui.tui.screens.board.matrix import MatrixScreen

from board_app import BoardApp, full_db, legacy_db, screen_text, settle, until
from conftest import REPO

pytestmark = pytest.mark.anyio

QWEN = "legacy:qwen2.5-1.5b-instruct-q5_k_m"
LLAMA_1B = "legacy:Llama-3.2-1B-Instruct-Q8_0"


def rows(table: ScoreGrid) -> list[str]:
    return list(table.row_keys)


def cells(table: ScoreGrid, index: int) -> list[str]:
    return [text.strip() for text in table.cell_text(index)]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def legacy(tmp_path: Path) -> Path:
    return legacy_db(tmp_path / "rbyf.duckdb")


@pytest.fixture
def full(tmp_path: Path) -> Path:
    return full_db(tmp_path / "rbyf.duckdb")


async def test_the_leaderboard_ranks_the_imported_runs_with_their_totals(legacy: Path) -> None:
    app = BoardApp(legacy)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ScoreGrid)
        assert rows(table) == ["legacy:gemma-2-2b-it-q5_k_m", "legacy:Llama-3.2-3B-Instruct",
                               QWEN, LLAMA_1B]
        shown = [cells(table, i) for i in range(4)]
        # rank, mean, interval, rated, total (the model name may be shortened at 80 columns)
        assert [[c[0], *c[2:6]] for c in shown] == [
            ["1", "5.00", "5.00–5.00", "14/14", "70/70"],
            ["1", "4.93", "4.79–5.00", "14/14", "69/70"],
            ["2", "4.07", "3.14–4.79", "14/14", "57/70"],
            ["3", "3.38", "2.23–4.46", "13/14", "44/65"]]
        assert shown[2][6] == "21.51"  # median TTFT from the log; the CSV-only run has none
        assert shown[1][6] == "–"
        text = screen_text(app)
        assert "Leaderboard · rbyf-v2 · all raters" in text
        for total in ("70/70", "69/70", "57/70", "44/65"):
            assert total in text
        await pilot.press("down", "down")
        detail = str(app.screen.query_one("#board-detail", Static).content)
        assert detail.startswith("qwen2.5-1.5b-instruct-q5_k_m: rank 2, mean 4.07 (95% CI "
                                 "3.14–4.79), 14 of 14 tasks rated, total 57/70")
        # 80 columns: the longest names are shortened, the speeds still show in full
        assert shown[3][1] == "Llama-3.2-1B…-Q8_0"
        assert [line.split()[-1] for line in text.splitlines()[2:6]] == ["–"] * 4
        await pilot.resize_terminal(120, 40)
        await settle(pilot)
        assert cells(table, 3)[1] == "Llama-3.2-1B-Instruct-Q8_0"
        assert table.cursor_row == 2  # the cursor stays on its model


async def test_rater_and_catalog_filters(full: Path) -> None:
    app = BoardApp(full)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = app.screen.query_one(ScoreGrid)
        assert len(rows(table)) == 6  # rbyf-v2 has the most ratings: shown first
        await pilot.press("r")  # raters in turn: ann, tester, then all again
        await settle(pilot)
        assert rows(table) == ["fixed:steady-7b-q4", "fixed:swift-1b-q4"]
        assert "rater ann" in screen_text(app)
        await pilot.press("r")
        await settle(pilot)
        assert rows(table)[2:] == [QWEN, LLAMA_1B]
        await pilot.press("r")
        await settle(pilot)
        assert len(rows(table)) == 6 and "all raters" in screen_text(app)
        await pilot.press("c")
        await settle(pilot)
        assert rows(table) == ["fixed:mini-model"]
        assert "Leaderboard · mini · all raters" in screen_text(app)


async def test_the_given_catalog_and_rater_come_first(full: Path) -> None:
    app = BoardApp(full, catalog="mini", rater="ann")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        assert "No ratings by ann in catalog mini yet" in screen_text(app)
        await pilot.press("r")  # ann -> tester
        await settle(pilot)
        assert rows(app.screen.query_one(ScoreGrid)) == ["fixed:mini-model"]


async def test_the_matrix_sorts_by_the_cursor_column(full: Path) -> None:
    app = BoardApp(full)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert isinstance(app.screen, MatrixScreen)
        table = app.screen.query_one(ScoreGrid)
        by_mean = rows(table)
        assert by_mean[0] == "legacy:gemma-2-2b-it-q5_k_m" and by_mean[-1] == (
            "fixed:swift-1b-q4")
        # model, n, total, mean, then the tasks: the 4th is "say 'I am ready'", which the
        # Llama-3.2-1B run never had; swift scored it 3, steady 4, the others 5.
        await pilot.press(*["right"] * 7)
        assert "task 4: say 'I am ready'" in screen_text(app)
        await pilot.press("s")
        assert rows(table)[-1] == LLAMA_1B  # no score: last either way
        assert rows(table)[-3:-1] == ["fixed:steady-7b-q4", "fixed:swift-1b-q4"]
        await pilot.press("s")  # again: lowest first
        assert rows(table)[:2] == ["fixed:swift-1b-q4", "fixed:steady-7b-q4"]
        assert rows(table)[-1] == LLAMA_1B
        assert "sorted by task 4, lowest first" in screen_text(app)
        await pilot.press("c")  # the mini catalog has no task 4: sorted by mean again
        await settle(pilot)
        assert rows(table) == ["fixed:mini-model"]
        assert "sorted by mean score, highest first" in screen_text(app)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press(*["left"] * 7, "s")  # the model column: A to Z
        assert rows(table) == sorted(by_mean, key=lambda k: k.split(":")[1].casefold())
        await pilot.press("right", "right", "s")  # total, highest first
        assert [cells(table, i)[2].strip() for i in range(6)] == [
            "70", "69", "60", "57", "44", "37"]


async def test_a_matrix_cell_opens_its_answer(legacy: Path) -> None:
    app = BoardApp(legacy)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        table = app.screen.query_one(ScoreGrid)
        assert rows(table)[2] == QWEN
        # the 13th task is the 1000-word SF story, which qwen got a 0 for
        await pilot.press("down", "down", *["right"] * 16)
        assert "qwen2.5-1.5b-instruct-q5_k_m · task 13" in screen_text(app)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, AnswerScreen)
        text = screen_text(app)
        assert "qwen2.5-1.5b-instruct-q5_k_m · rbyf-v2 · " in text
        assert "(sf-story)" in text
        # rated at 08:43 by the clock of the machine that wrote the log, imported in this
        # machine's zone (board_app.legacy_db), shown in UTC
        rated = datetime(2024, 10, 1, 8, 43).astimezone(UTC)
        assert f"score  0  of 5 · by tester · {rated:%Y-%m-%d %H:%M} UTC" in text
        assert "remarks: - not ended generation with repeated text all over the place." in text
        assert "The Last Transmission" in text  # the answer, as Markdown (no ** shown)
        assert "**The Last Transmission**" not in text
        await pilot.press("escape")
        assert isinstance(app.screen, MatrixScreen)
        await pilot.press("up", "enter")  # Llama-3.2-3B's SF story: a CSV has no text
        await settle(pilot)
        text = screen_text(app)
        assert "Llama-3.2-3B-Instruct · rbyf-v2 · " in text and "score  5  of 5" in text
        assert "(no answer text)" in text


async def test_the_keys_are_in_the_command_palette(legacy: Path) -> None:
    app = BoardApp(legacy)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.press(*"matrix")
        await until(pilot, "Models x tasks, every score (m)")  # the search is asynchronous
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, MatrixScreen)


async def test_an_empty_cell_opens_nothing(legacy: Path) -> None:
    app = BoardApp(legacy)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        assert rows(app.screen.query_one(ScoreGrid))[3] == LLAMA_1B
        await pilot.press(*["down"] * 3, *["right"] * 7, "enter")
        await settle(pilot)
        assert isinstance(app.screen, MatrixScreen)
        assert "score none" in screen_text(app)


def markers(text: str) -> dict[str, tuple[int, int]]:
    """(line, column) of the chart's point markers 1 and 2 inside the plot."""
    found = {}
    for number, line in enumerate(text.splitlines()):
        if line[:4] in ("   │", " 5 ┤", " 4 ┤", " 3 ┤", " 2 ┤", " 1 ┤", " 0 ┤"):
            for marker in "12":
                at = line.find(f" {marker} ", 3) if f" {marker} " in line[3:] else -1
                if at < 0 and line.endswith(f" {marker}"):
                    at = len(line) - 2
                if at >= 0:
                    found[marker] = (number, at + 1)
    return found


async def test_the_chart_places_models_by_score_and_speed(full: Path) -> None:
    for size in ((80, 24), (120, 40)):
        app = BoardApp(full)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await pilot.press("g")
            await settle(pilot)
            assert isinstance(app.screen, ChartScreen)
            text = screen_text(app)
            assert "1 steady-7b-q4  mean 4.29 (4.00–4.57) · 14.0 t/s" in text
            assert "2 swift-1b-q4  mean 2.64 (2.14–3.07) · 85.0 t/s" in text
            assert "not placed, no decode speed: gemma-2-2b-it-q5_k_m" in text
            steady, swift = markers(text)["1"], markers(text)["2"]
            assert steady[0] < swift[0]  # the better mean is higher up
            assert steady[1] < size[0] // 3 < 2 * size[0] // 3 < swift[1]  # and slower
            axis = next(line for line in text.splitlines() if "└" in line)
            assert len(axis) == size[0]  # drawn at the terminal's size


async def test_every_screen_works_under_no_color(full: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """NO_COLOR: the scores stay readable, as the digits carry them."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = BoardApp(full)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert "57/70" in screen_text(app)
        await pilot.press("m")
        await settle(pilot)
        assert " 14     70  5.00  5  5  5  5" in screen_text(app)
        await pilot.press("right", "right", "right", "right", "enter")
        await settle(pilot)
        assert isinstance(app.screen, AnswerScreen)
        await pilot.press("escape", "escape", "g")
        await settle(pilot)
        assert "1 steady-7b-q4" in screen_text(app)
        await pilot.press("escape", "v")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert "task 1/14: introduction" in screen_text(app)


async def test_without_ratings_the_screens_say_how_to_get_some(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.duckdb", tmp_path / "empty.duckdb"):
        if path.name == "empty.duckdb":
            Store(path).sessions()  # a database with the schema and nothing in it
        app = BoardApp(path)
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(pilot)
            text = screen_text(app)
            assert "No ratings yet." in text
            assert "rbyf import PATH..." in text
            assert "rate a session" in text
            for key in ("m", "g", "v", "c", "r"):
                await pilot.press(key)
                await settle(pilot)
                assert isinstance(app.screen, LeaderboardScreen)
        assert not (tmp_path / "missing.duckdb").exists()  # looking creates no file


# --- snapshots (deterministic data; see tests/snapshots) ---------------------------------


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_snapshot_leaderboard(full: Path, snap_compare, size: tuple[int, int]) -> None:
    assert snap_compare(BoardApp(full), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_snapshot_matrix(full: Path, snap_compare, size: tuple[int, int]) -> None:
    async def open_matrix(pilot) -> None:
        await settle(pilot)
        await pilot.press("m")
        await settle(pilot)
        await pilot.press("right", "right", "right", "right", "right", "s")

    assert snap_compare(BoardApp(full), terminal_size=size, run_before=open_matrix)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_snapshot_chart(full: Path, snap_compare, size: tuple[int, int]) -> None:
    async def open_chart(pilot) -> None:
        await settle(pilot)
        await pilot.press("g")
        await settle(pilot)

    assert snap_compare(BoardApp(full), terminal_size=size, run_before=open_chart)


async def test_a_wide_matrix_scrolls_sideways_and_keeps_the_model_column(tmp_path: Path) -> None:
    """100 tasks at 80 columns: the cursor walks right, the grid scrolls, names stay."""
    spec = importlib.util.spec_from_file_location("board_screens",
                                                  REPO / "benchmarks" / "board_screens.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    grid = bench.synthetic(30, 100)
    app = BoardApp(tmp_path / "missing.duckdb")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = MatrixScreen()
        await app.push_screen(screen)
        await settle(pilot)
        screen.matrix = grid
        screen.render_table()
        await pilot.pause()
        scores = app.screen.query_one(ScoreGrid)
        await pilot.press(*["right"] * 60, *["down"] * 25)
        assert scores.scroll_offset.x > 0 and scores.scroll_offset.y > 0
        text = screen_text(app).splitlines()
        assert text[1].startswith(" model ")
        row = grid.rows[25]
        assert f"{row.model} · task 57: Task 56 · score {row.score('t56')}" in "\n".join(text)
        assert any(line.startswith(f" {row.model[:12]}") for line in text[2:])


def test_the_matrix_benchmark_runs_on_tiny_sizes() -> None:
    result = subprocess.run([sys.executable, "benchmarks/board_screens.py", "--models", "5",
                             "--tasks", "3", "--repeat", "1"],
                            capture_output=True, text=True, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "5 models x 3 tasks = 15 cells" in result.stdout
    for name in ("ScoreGrid: fill and paint", "ScoreGrid: sort by a task",
                 "DataTable: fill and paint", "DataTable / ScoreGrid"):
        assert name in result.stdout

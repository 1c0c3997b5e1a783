"""Matrix screen at scale: 1,000 models x 100 tasks drawn with ScoreGrid (line API, draws
the cells on screen only) against the same cells in Textual's DataTable (measures every
cell of every row), side by side in a headless app. Prints each median and the ratio.

    python benchmarks/board_screens.py                         # 1000 x 100
    python benchmarks/board_screens.py --models 5 --tasks 3 --repeat 1
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widgets import DataTable

from rbyf_tui.score_matrix import Cell, Matrix, MatrixRow, TaskColumn
from rbyf_tui.store import Store
from rbyf_tui.tui.screens.board.grid import ScoreGrid
from rbyf_tui.tui.screens.board.matrix import MatrixScreen


def synthetic(models: int, tasks: int) -> Matrix:
    rng = random.Random(7)
    columns = tuple(TaskColumn(f"t{i}", f"Task {i}") for i in range(tasks))
    rows = tuple(MatrixRow.of(f"model-{m:04d}-q4_k_m", f"id{m}",
                              {t.key: Cell(rng.randint(0, 5), f"g{m}-{t.key}") for t in columns})
                 for m in range(models))
    return Matrix("bench", None, columns, rows).sorted_by("mean")


class Host(App[None]):
    def __init__(self, screen: MatrixScreen | None = None) -> None:
        super().__init__()
        self.start = screen
        self.store = Store(Path("/nonexistent/bench.duckdb"))  # the screen reads nothing

    def compose(self) -> ComposeResult:
        if self.start is None:
            yield DataTable(cell_padding=0)

    def on_mount(self) -> None:
        if self.start is not None:
            self.push_screen(self.start)


async def score_grid(grid: Matrix) -> tuple[float, float]:
    """Seconds to fill and paint the matrix screen's grid, then to sort it by a task."""
    screen = MatrixScreen()
    app = Host(screen)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        start = time.perf_counter()
        screen.matrix = grid
        screen.render_table()
        await pilot.pause()
        filled = time.perf_counter() - start
        screen.query_one(ScoreGrid).move_to(0, 4)
        start = time.perf_counter()
        screen.action_sort()
        await pilot.pause()
        return filled, time.perf_counter() - start


async def data_table(grid: Matrix) -> float:
    """Seconds to fill and paint a DataTable with the same cells."""
    app = Host()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        table = app.query_one(DataTable)
        start = time.perf_counter()
        table.add_column(" model", key="model")
        for task in grid.tasks:
            table.add_column(f" {task.key} ", key=task.key)
        styles = {n: f"on {c}" for n, c in enumerate(("red", "red", "yellow", "yellow",
                                                       "green", "green"))}
        for row in grid.rows:
            table.add_row(Text(f" {row.model} "),
                          *[Text(f" {c.score} ", styles[c.score]) for c in row.cells.values()],
                          key=row.model_id)
        await pilot.pause()
        return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    grid = synthetic(args.models, args.tasks)
    print(f"{args.models} models x {args.tasks} tasks = {args.models * args.tasks} cells, "
          f"median of {args.repeat}")
    ours = [asyncio.run(score_grid(grid)) for _ in range(args.repeat)]
    theirs = [asyncio.run(data_table(grid)) for _ in range(args.repeat)]
    fill = statistics.median(f for f, _ in ours)
    sort = statistics.median(s for _, s in ours)
    table = statistics.median(theirs)
    print(f"ScoreGrid: fill and paint   {fill * 1000:9.1f} ms")
    print(f"ScoreGrid: sort by a task   {sort * 1000:9.1f} ms")
    print(f"DataTable: fill and paint   {table * 1000:9.1f} ms")
    print(f"DataTable / ScoreGrid       {table / fill:9.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

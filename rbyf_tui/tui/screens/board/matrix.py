"""Models x tasks: every counted score, coloured 0 (red) to 5 (green); sort by any column,
filter by catalog and rater, open a cell to read its answer."""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Footer, Static

from rbyf_tui.score_matrix import Matrix
from rbyf_tui.tui.screens.board.answer import AnswerScreen
from rbyf_tui.tui.screens.board.base import BACK, EMPTY_HELP, SWITCH, BoardScreen
from rbyf_tui.tui.screens.board.data import Choices, MatrixData, filter_label, load_matrix
from rbyf_tui.tui.screens.board.grid import GridColumn, ScoreGrid
from rbyf_tui.tui.screens.board.styles import score_text, shorten

SUMMARY_NAMES = {"model": "model name", "n_rated": "tasks rated", "total": "total",
                 "mean": "mean score"}
TASK_PREFIX = "task:"  # column keys of tasks, apart from the summary columns'
PLAIN = Style()
# One cell per score, shared by every row: nothing is built per cell.
SCORE_CELLS = {score: (text.plain, text.style if isinstance(text.style, Style) else
                       Style.parse(text.style))
               for score in (None, 0, 1, 2, 3, 4, 5) for text in [score_text(score)]}


def column_name(key: str) -> str:
    """The Matrix column (as sorted_by takes it) of a table column key."""
    return key.removeprefix(TASK_PREFIX)


class MatrixScreen(BoardScreen):
    """Scores of every model (rows) on every task (columns) of one catalog."""

    BINDINGS: ClassVar[list[BindingType]] = [
        BACK,
        Binding("s", "sort", "Sort", tooltip="Sort the rows by the cursor's column; again "
                "reverses"),
        Binding("enter", "open", "Answer", tooltip="Open the answer of the cursor's cell"),
        *SWITCH,
    ]

    def __init__(self, catalog: str | None = None, rater: str | None = None,
                 *, choices: Choices | None = None) -> None:
        super().__init__(catalog, rater)
        self.choices = choices
        self.matrix: Matrix | None = None
        self.sort_column = "mean"
        self.descending = True
        self._width = 0

    def compose(self) -> ComposeResult:
        yield Static("Matrix · loading…", id="matrix-title", classes="board-title")
        yield Static("", id="matrix-empty", classes="board-empty")
        yield ScoreGrid(id="matrix-table")
        yield Static("", id="matrix-status", classes="board-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#matrix-empty").display = False
        self.load()

    @work(thread=True, exclusive=True, group="matrix-load", exit_on_error=False)
    def load(self) -> MatrixData:
        return load_matrix(self.store, self.catalog, self.rater, self.choices)

    async def show(self, loaded: MatrixData) -> None:
        self.choices = loaded.choices
        if loaded.matrix is None:
            self.show_message(EMPTY_HELP)
            return
        self.catalog = loaded.matrix.catalog
        if self.sort_column not in loaded.matrix.columns:  # a task of another catalog
            self.sort_column, self.descending = "mean", True
        self.matrix = loaded.matrix.sorted_by(self.sort_column, self.descending)
        self.render_table()

    def show_message(self, text: str) -> None:
        message = self.query_one("#matrix-empty", Static)
        message.update(text)
        message.display = True
        self.query_one("#matrix-table").display = False
        self.query_one("#matrix-status").display = False

    # --- drawing ----------------------------------------------------------------------

    def render_table(self, keep_model: str | None = None) -> None:
        grid = self.matrix
        if grid is None:
            return
        self.query_one("#matrix-title", Static).update(
            f"Matrix · {filter_label(self.catalog, self.rater)} · {len(grid.rows)} models × "
            f"{len(grid.tasks)} tasks")
        table = self.query_one("#matrix-table", ScoreGrid)
        if not grid.rows:
            who = f" by {self.rater}" if self.rater else ""
            self.show_message(f"No ratings{who} in catalog {self.catalog} yet: press c for "
                              "another catalog, r for another rater.")
            return
        self.query_one("#matrix-empty").display = False
        table.display = True
        self.query_one("#matrix-status").display = True
        self._width = self.size.width
        total_width = max(len("total"), *(len(str(r.total)) for r in grid.rows))
        n_width = max(1, *(len(str(r.n_rated)) for r in grid.rows))
        fixed = (n_width + 2) + (total_width + 2) + 6 + 3 * len(grid.tasks)
        longest = max(len(r.model) for r in grid.rows)
        scrollbar = 2 if len(grid.rows) + 6 > self.size.height else 0
        room = self.size.width - fixed - 2 - scrollbar
        model_width = min(longest, room if room >= 12 else 24)  # else it scrolls sideways
        columns = [GridColumn("model", f" {'model':<{model_width}} ", model_width + 2),
                   GridColumn("n_rated", f" {'n':>{n_width}} ", n_width + 2),
                   GridColumn("total", f" {'total':>{total_width}} ", total_width + 2),
                   GridColumn("mean", " mean ", 6)]
        columns += [GridColumn(TASK_PREFIX + task.key, f"{number:>2} ", 3)
                    for number, task in enumerate(grid.tasks, start=1)]
        keys = [task.key for task in grid.tasks]
        rows = []
        for row in grid.rows:
            mean = f" {row.mean:.2f} " if row.mean is not None else "  –   "
            rows.append((row.model_id, [
                (f" {shorten(row.model, model_width):<{model_width}} ", PLAIN),
                (f" {row.n_rated:>{n_width}} ", PLAIN),
                (f" {row.total:>{total_width}} ", PLAIN), (mean, PLAIN),
                *[SCORE_CELLS[row.score(key)] for key in keys]]))
        row_index = table.cursor_row
        if keep_model is not None:
            row_index = next(i for i, r in enumerate(grid.rows) if r.model_id == keep_model)
        table.set_data(columns, rows, (row_index, table.cursor_column))
        if self.focused is None:  # it was hidden (a message) when the screen opened
            table.focus()
        self.show_status()

    def cursor_keys(self) -> tuple[str, str] | None:
        """(model id, table column key) under the cursor."""
        return self.query_one("#matrix-table", ScoreGrid).cursor_key

    def show_status(self) -> None:
        keys = self.cursor_keys()
        if self.matrix is None or keys is None:
            return
        model_id, column = keys
        row = next(r for r in self.matrix.rows if r.model_id == model_id)
        order = ("Z to A" if self.descending else "A to Z") if self.sort_column == "model" \
            else ("highest first" if self.descending else "lowest first")
        name = self.column_title(self.sort_column, short=True)
        lines = [f"{row.model} · {self.column_title(column_name(column))}",
                 f"sorted by {name}, {order}"]
        if column.startswith(TASK_PREFIX):
            score = row.score(column_name(column))
            lines[0] += f" · score {score if score is not None else 'none'}"
        self.query_one("#matrix-status", Static).update("\n".join(lines))

    def column_title(self, name: str, short: bool = False) -> str:
        if name in SUMMARY_NAMES:
            return SUMMARY_NAMES[name]
        assert self.matrix is not None
        for number, task in enumerate(self.matrix.tasks, start=1):
            if task.key == name:
                return f"task {number}" if short else f"task {number}: {task.title}"
        return name

    def on_score_grid_moved(self, event: ScoreGrid.Moved) -> None:
        self.show_status()

    def on_score_grid_opened(self, event: ScoreGrid.Opened) -> None:
        event.stop()
        self.action_open()

    def on_resize(self, event: events.Resize) -> None:
        if self.matrix is not None and event.size.width != self._width:
            self.render_table()

    # --- actions ----------------------------------------------------------------------

    def action_sort(self) -> None:
        keys = self.cursor_keys()
        if self.matrix is None or keys is None:
            return
        model_id, column = keys
        name = column_name(column)
        if name == self.sort_column:
            self.descending = not self.descending
        else:
            self.sort_column, self.descending = name, name != "model"
        self.matrix = self.matrix.sorted_by(self.sort_column, self.descending)
        self.render_table(keep_model=model_id)

    def action_open(self) -> None:
        keys = self.cursor_keys()
        if self.matrix is None or keys is None:
            return
        model_id, column = keys
        if not column.startswith(TASK_PREFIX):
            self.notify("Move the cursor to a task's score to open its answer.")
            return
        cell = self.matrix.cell(model_id, column_name(column))
        if cell is None:
            self.notify("No rating in this cell: nothing to open.")
            return
        self.app.push_screen(AnswerScreen(cell.generation_id, self.rater))

    def switchable(self) -> Choices | None:
        return self.choices

    def catalog_changed(self) -> None:
        self.reload()

    def rater_changed(self) -> None:
        self.reload()

    def reload(self) -> None:
        self.query_one("#matrix-title", Static).update(
            f"Matrix · {filter_label(self.catalog, self.rater)} · loading…")
        self.query_one("#matrix-table", ScoreGrid).cursor_row = 0
        self.load()


"""The models x tasks matrix of one catalog: each cell the score that counts and its answer.

Cells come from the same counting as the leaderboard (store/queries.py: counted_sql), so a
row's total is that model's leaderboard total.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rbyf_tui.store import Store

SUMMARY_COLUMNS = ("model", "n_rated", "total", "mean")


@dataclass(frozen=True)
class TaskColumn:
    key: str
    title: str


@dataclass(frozen=True)
class Cell:
    score: int
    generation_id: str  # open it with compare.answer(store, generation_id)
    rated_at: datetime


@dataclass(frozen=True)
class MatrixRow:
    model: str
    model_id: str
    cells: dict[str, Cell]  # by task key; a task without a rating has no cell

    @property
    def n_rated(self) -> int:
        return len(self.cells)

    @property
    def total(self) -> int:
        return sum(c.score for c in self.cells.values())

    @property
    def mean(self) -> float | None:
        return self.total / self.n_rated if self.cells else None

    def score(self, task_key: str) -> int | None:
        cell = self.cells.get(task_key)
        return cell.score if cell else None


@dataclass(frozen=True)
class Matrix:
    catalog: str
    rater: str | None
    tasks: tuple[TaskColumn, ...]  # in the catalog's order
    rows: tuple[MatrixRow, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column it can be sorted by."""
        return SUMMARY_COLUMNS + tuple(t.key for t in self.tasks)

    def cell(self, model_id: str, task_key: str) -> Cell | None:
        for row in self.rows:
            if row.model_id == model_id:
                return row.cells.get(task_key)
        return None

    def sorted_by(self, column: str, descending: bool | None = None) -> Matrix:
        """Rows sorted by a column of `columns`: names A to Z, numbers highest first by
        default. Empty cells go last either way; ties keep model-name order."""
        if column not in self.columns:
            raise ValueError(f"no column {column!r}: use one of {', '.join(self.columns)}")
        if descending is None:
            descending = column != "model"
        by_name = sorted(self.rows, key=lambda r: (r.model.casefold(), r.model_id))
        if column == "model":
            return replace(self, rows=tuple(reversed(by_name) if descending else by_name))

        def value(row: MatrixRow) -> float | None:
            if column in SUMMARY_COLUMNS:
                return getattr(row, column)
            return row.score(column)

        present = [r for r in by_name if value(r) is not None]
        present.sort(key=lambda r: value(r) or 0, reverse=descending)  # stable: names stay
        missing = [r for r in by_name if value(r) is None]
        return replace(self, rows=tuple(present + missing))


def matrix(store: Store, catalog: str, rater: str | None = None) -> Matrix:
    """Every model rated on `catalog` (by `rater`, if given), best mean first."""
    cells = store.matrix_cells(catalog, rater)
    rows: dict[str, MatrixRow] = {}
    for model_id, name, task_key, score, generation_id, rated_at in cells:
        row = rows.get(model_id)
        if row is None:
            row = rows[model_id] = MatrixRow(name, model_id, {})
        row.cells[task_key] = Cell(score, generation_id, rated_at)
    definition = store.latest_catalog(catalog)
    tasks = [TaskColumn(t.key, t.title) for t in definition.tasks] if definition else []
    known = {t.key for t in tasks}
    extra = sorted({key for row in rows.values() for key in row.cells} - known)
    if extra:  # rated under an older version of the catalog
        titles = store.task_titles(catalog, extra)
        tasks += [TaskColumn(key, titles.get(key, key)) for key in extra]
    return Matrix(catalog, rater, tuple(tasks), tuple(rows.values())).sorted_by("mean")

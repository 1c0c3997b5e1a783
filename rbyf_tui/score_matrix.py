"""The models x tasks matrix of one catalog: each cell the score that counts and its answer.

Cells come from the same counting as the leaderboard (store/queries.py: counted_sql), so a
row's total is that model's leaderboard total. At 1,000 models x 100 tasks a matrix is
100,000 cells: ~0.4 s to build (BENCHMARKS.md), so a screen should build it once and sort
it (`sorted_by`, milliseconds) rather than rebuild it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from rbyf_tui.store import Store

SUMMARY_COLUMNS = ("model", "n_rated", "total", "mean")


@dataclass(frozen=True)
class TaskColumn:
    key: str
    title: str


class Cell(NamedTuple):
    score: int
    generation_id: str  # open it with answers.answer(store, generation_id)


@dataclass(frozen=True)
class MatrixRow:
    model: str
    model_id: str
    cells: dict[str, Cell]  # by task key; a task without a rating has no cell
    n_rated: int
    total: int
    mean: float | None

    @classmethod
    def of(cls, model: str, model_id: str, cells: dict[str, Cell]) -> MatrixRow:
        total = sum(c.score for c in cells.values())
        return cls(model, model_id, cells, len(cells), total,
                   total / len(cells) if cells else None)

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
    cells, names = store.matrix_cells(catalog, rater)
    by_model: dict[str, dict[str, Cell]] = {}
    for model_id, task_key, score, generation_id in cells:
        row = by_model.get(model_id)
        if row is None:
            row = by_model[model_id] = {}
        row[task_key] = Cell(score, generation_id)
    definition = store.latest_catalog(catalog)
    tasks = [TaskColumn(t.key, t.title) for t in definition.tasks] if definition else []
    known = {t.key for t in tasks}
    extra = sorted({key for row in by_model.values() for key in row} - known)
    if extra:  # rated under an older version of the catalog
        titles = store.task_titles(catalog, extra)
        tasks += [TaskColumn(key, titles.get(key, key)) for key in extra]
    rows = tuple(MatrixRow.of(names.get(model_id, model_id), model_id, row)
                 for model_id, row in by_model.items())
    return Matrix(catalog, rater, tuple(tasks), rows).sorted_by("mean")

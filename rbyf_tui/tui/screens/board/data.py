"""What the leaderboard's screens load, in a worker thread through the app's store: the
standings, the catalogs and raters to switch between, the matrix of one catalog."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rbyf_tui import ranking, score_matrix
from rbyf_tui.ranking import Standing
from rbyf_tui.score_matrix import Matrix
from rbyf_tui.store import Store


@dataclass(frozen=True)
class Choices:
    """The catalogs (most ratings first) and raters a screen can switch between."""

    catalogs: tuple[str, ...] = ()
    raters: tuple[str, ...] = ()

    def next_catalog(self, current: str | None) -> str | None:
        return _next(self.catalogs, current, wrap_to_none=False)

    def next_rater(self, current: str | None) -> str | None:
        """None (all raters), then each rater in turn, then all raters again."""
        return _next(self.raters, current, wrap_to_none=True)

    def with_catalog(self, catalog: str | None) -> Choices:
        if catalog is None or catalog in self.catalogs:
            return self
        return Choices((catalog, *self.catalogs), self.raters)

    def with_rater(self, rater: str | None) -> Choices:
        if rater is None or rater in self.raters:
            return self
        return Choices(self.catalogs, (*self.raters, rater))


def _next(items: Sequence[str], current: str | None, *, wrap_to_none: bool) -> str | None:
    if not items:
        return current
    if current not in items:
        return items[0]
    index = items.index(current) + 1
    if index < len(items):
        return items[index]
    return None if wrap_to_none else items[0]


@dataclass(frozen=True)
class BoardData:
    """Standings of every catalog (by `rater`, if given) and what can be switched to."""

    rater: str | None = None
    standings: tuple[Standing, ...] = ()
    choices: Choices = field(default_factory=Choices)

    def of(self, catalog: str | None) -> list[Standing]:
        return [s for s in self.standings if s.catalog == catalog]

    @property
    def empty(self) -> bool:
        return not self.choices.catalogs


def load_choices(store: Store) -> tuple[Choices, list[Standing]]:
    """Catalogs by how many ratings count in them (most first), raters, and the standings of
    all raters (computed anyway to count)."""
    every = ranking.leaderboard(store)
    count: dict[str, int] = {}
    for standing in every:
        count[standing.catalog] = count.get(standing.catalog, 0) + standing.n_rated
    catalogs = tuple(sorted(count, key=lambda c: (-count[c], c)))
    return Choices(catalogs, tuple(store.raters())), every


def load_board(store: Store, rater: str | None = None) -> BoardData:
    """Runs in a worker thread: ~100 ms on a million-rating store. Without a database file
    (nothing rated on this machine yet) nothing is read, and no file is made."""
    if not store.path.exists():
        return BoardData(rater)
    choices, every = load_choices(store)
    standings = ranking.leaderboard(store, None, rater) if rater else every
    return BoardData(rater, tuple(standings), choices)


@dataclass(frozen=True)
class MatrixData:
    matrix: Matrix | None  # None: no catalog to show
    choices: Choices


def load_matrix(store: Store, catalog: str | None, rater: str | None,
                choices: Choices | None) -> MatrixData:
    """Runs in a worker thread: ~0.4 s for 1,000 models x 100 tasks."""
    if not store.path.exists():
        return MatrixData(None, Choices())
    if choices is None:
        choices, _ = load_choices(store)
    choices = choices.with_catalog(catalog).with_rater(rater)
    catalog = catalog or (choices.catalogs[0] if choices.catalogs else None)
    if catalog is None:
        return MatrixData(None, choices)
    return MatrixData(score_matrix.matrix(store, catalog, rater), choices)


def filter_label(catalog: str | None, rater: str | None) -> str:
    return f"{catalog or 'no catalog'} · {'rater ' + rater if rater else 'all raters'}"

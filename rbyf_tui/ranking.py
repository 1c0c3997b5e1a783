"""Leaderboard math: totals, means, 95% bootstrap intervals over tasks, interval-aware ranks.

Which rating counts is decided by the store (store/schema.py: COUNTED_FILL): per model,
catalog and task the latest rating of any attempt, never the warm-up. This module does the
math on what Store.leaderboard returns, plus the data of the quality-against-speed chart.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from rbyf_tui.store import Store

LEVEL = 0.95
MAX_SCORE = 5
_EPS = 1e-9  # FFT round-off must not move a quantile across a boundary it sits on


@dataclass(frozen=True)
class Standing:
    """One model's line of the leaderboard of one catalog."""

    model: str
    model_id: str
    catalog: str
    n_rated: int
    n_tasks: int | None
    total: int
    mean: float
    ci_low: float
    ci_high: float
    rank: int
    median_ttft_s: float | None
    median_prompt_tps: float | None
    median_decode_tps: float | None
    # Share of the automatic checks passed by the answers whose ratings count; None when
    # none of them had checks. A hint beside the human mean, never part of it.
    check_pass_rate: float | None = None
    checks_total: int = 0
    # Median seconds of thinking over the counted answers that thought; None: none did.
    median_reasoning_s: float | None = None
    quantization: str | None = None  # of the model file, shown beside its name
    size_bytes: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def bootstrap_interval(score_counts: Sequence[Sequence[int]],
                       level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap interval of the mean score, one per row of counts [n0, ..., n5]
    (how many of a model's rated tasks got each score).

    Resampling a model's n tasks with replacement makes the resampled total the sum of n
    independent draws from its own scores, so the total's distribution is the n-fold
    convolution of the score frequencies. Computed exactly (by FFT) it is the bootstrap with
    infinitely many resamples: the same scores always give the same interval, no seed or
    sampling noise, and one model's interval never depends on the others. Rows without any
    rating get NaN.
    """
    counts = np.asarray(score_counts, dtype=np.float64).reshape(-1, MAX_SCORE + 1)
    n = counts.sum(axis=1).astype(np.int64)
    low = np.full(len(n), np.nan)
    high = np.full(len(n), np.nan)
    tail = (1.0 - level) / 2.0
    # One FFT length per power of two that holds the totals 0..5n without wrapping around.
    lengths = np.array([1 << int(MAX_SCORE * k).bit_length() for k in n], dtype=np.int64)
    for length in np.unique(lengths[n > 0]):
        rows = np.flatnonzero((lengths == length) & (n > 0))
        size = n[rows][:, None]
        spectrum = _power(np.fft.rfft(counts[rows] / size, n=int(length), axis=1), size[:, 0])
        pmf = np.clip(np.fft.irfft(spectrum, n=int(length), axis=1), 0.0, None)
        cdf = np.cumsum(pmf, axis=1)
        cdf /= cdf[:, -1:]
        # The q-quantile is the smallest total whose cumulative probability reaches q.
        low[rows] = np.argmax(cdf >= tail - _EPS, axis=1) / size[:, 0]
        high[rows] = np.argmax(cdf >= 1.0 - tail - _EPS, axis=1) / size[:, 0]
    return low, high


def _power(base: np.ndarray, exponents: np.ndarray) -> np.ndarray:
    """Each row of `base` to its own whole power, by squaring: ~10x faster than numpy's
    complex `**` with an array of exponents."""
    base = base.copy()
    result = np.ones_like(base)
    left = exponents.astype(np.int64)
    while True:
        odd = (left & 1).astype(bool)
        if odd.all():
            result *= base
        elif odd.any():
            result[odd] *= base[odd]
        left >>= 1
        if not left.any():
            return result
        base *= base


def ranks(ci_low: Sequence[float], ci_high: Sequence[float]) -> list[int]:
    """Rank = 1 + the number of models whose lower bound is above this model's upper bound:
    models whose intervals overlap share a rank."""
    lows = np.sort(np.asarray(ci_low, dtype=np.float64))
    highs = np.asarray(ci_high, dtype=np.float64)
    above = len(lows) - np.searchsorted(lows, highs, side="right")
    return [int(r) for r in 1 + above]


def rank_rows(rows: Iterable[dict[str, Any]], level: float = LEVEL) -> list[Standing]:
    """Standings from Store.leaderboard rows: intervals, then ranks within each catalog.
    The order of the rows (by catalog, then mean) is kept."""
    rows = list(rows)
    if not rows:
        return []
    low, high = bootstrap_interval([r["score_counts"] for r in rows], level)
    rank_of: list[int] = [0] * len(rows)
    by_catalog: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        by_catalog.setdefault(row["catalog"], []).append(index)
    for indexes in by_catalog.values():
        for index, rank in zip(indexes, ranks(low[indexes], high[indexes]), strict=True):
            rank_of[index] = rank
    return [
        Standing(
            model=row["model"], model_id=row["model_id"], catalog=row["catalog"],
            n_rated=int(row["n_rated"]), n_tasks=row["n_tasks"], total=int(row["total"]),
            mean=float(row["mean"]), ci_low=float(low[i]), ci_high=float(high[i]),
            rank=rank_of[i], median_ttft_s=row["median_ttft_s"],
            median_prompt_tps=row["median_prompt_tps"],
            median_decode_tps=row["median_decode_tps"],
            check_pass_rate=_pass_rate(row.get("checks_passed"), row.get("checks_total")),
            checks_total=int(row.get("checks_total") or 0),
            median_reasoning_s=row.get("median_reasoning_s"),
            quantization=row.get("quantization"), size_bytes=row.get("size_bytes"),
        )
        for i, row in enumerate(rows)
    ]


def _pass_rate(passed: int | None, total: int | None) -> float | None:
    return passed / total if passed is not None and total else None


def leaderboard(store: Store, catalog: str | None = None,
                rater: str | None = None) -> list[Standing]:
    """Every rated model per catalog, best mean first, with intervals and ranks."""
    return rank_rows(store.leaderboard(catalog, rater))


# --- quality against speed --------------------------------------------------------------


@dataclass(frozen=True)
class ChartPoint:
    model: str
    model_id: str
    mean: float
    ci_low: float
    ci_high: float
    decode_tps: float
    rank: int


@dataclass(frozen=True)
class Chart:
    """Mean score (y, 0..5) against median decode tokens/s (x) for one catalog."""

    catalog: str
    points: tuple[ChartPoint, ...]
    without_speed: tuple[str, ...]  # rated models with no decode figure (e.g. imported runs)

    @property
    def x_max(self) -> float:
        """Right end of the x axis: the fastest model plus 5%, so no point sits on the edge."""
        return max((p.decode_tps for p in self.points), default=0.0) * 1.05 or 1.0

    def place(self, width: int, height: int) -> list[tuple[int, int, ChartPoint]]:
        """(column, row, point) on a width x height grid; row 0 is the top (score 5)."""
        if width < 1 or height < 1:
            raise ValueError("a chart needs at least one column and one row")
        placed = []
        for point in self.points:
            column = min(width - 1, int(point.decode_tps / self.x_max * width))
            row = min(height - 1, int((MAX_SCORE - point.mean) / MAX_SCORE * height))
            placed.append((column, row, point))
        return placed


def chart(standings: Iterable[Standing], catalog: str) -> Chart:
    """The chart data of one catalog's standings."""
    mine = [s for s in standings if s.catalog == catalog]
    points = tuple(
        ChartPoint(s.model, s.model_id, s.mean, s.ci_low, s.ci_high, s.median_decode_tps,
                   s.rank)
        for s in mine if s.median_decode_tps is not None
    )
    return Chart(catalog, points,
                 tuple(s.model for s in mine if s.median_decode_tps is None))

"""Agreement between raters who rated the same model and task: per-rater means, MAD, kappa."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rbyf_tui.store import RaterScore

SCORES = 6  # 0..5


def quadratic_kappa(a: Sequence[int], b: Sequence[int]) -> float | None:
    """Cohen's kappa with quadratic weights over scores 0–5; None when it is undefined."""
    n = len(a)
    if n == 0 or n != len(b):
        return None
    observed = [[0.0] * SCORES for _ in range(SCORES)]
    for x, y in zip(a, b, strict=True):
        observed[x][y] += 1
    hist_a = [sum(row) for row in observed]
    hist_b = [sum(observed[i][j] for i in range(SCORES)) for j in range(SCORES)]
    weight = [[(i - j) ** 2 / (SCORES - 1) ** 2 for j in range(SCORES)] for i in range(SCORES)]
    seen = sum(weight[i][j] * observed[i][j] for i in range(SCORES) for j in range(SCORES))
    expected = sum(weight[i][j] * hist_a[i] * hist_b[j] / n
                   for i in range(SCORES) for j in range(SCORES))
    if expected == 0:
        return None  # both raters gave one and the same score throughout
    return 1 - seen / expected


@dataclass(frozen=True)
class RaterMean:
    model: str
    catalog: str
    rater: str
    n_rated: int
    mean: float


@dataclass(frozen=True)
class Agreement:
    catalog: str
    rater_a: str
    rater_b: str
    n_common: int  # (model, task) pairs both rated
    mean_abs_diff: float | None
    kappa: float | None


def summarize(rows: Sequence[RaterScore]) -> tuple[list[RaterMean], list[Agreement]]:
    """Per model and rater the mean score; per pair of raters of a catalog, how they agree
    on the (model, task) pairs both rated (Store.per_rater_scores gives the rows)."""
    sums: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)
    by_item: dict[tuple[str, str], dict[tuple[str, str], int]] = defaultdict(dict)
    for row in rows:
        sums[(row.model_id, row.catalog, row.rater, row.model)].append(row.score)
        by_item[(row.catalog, row.rater)][(row.model_id, row.task_key)] = row.score
    means = sorted(
        (RaterMean(model, catalog, rater, len(s), sum(s) / len(s))
         for (_, catalog, rater, model), s in sums.items()),
        key=lambda m: (m.catalog, m.model, m.rater))
    agreements = []
    catalogs = sorted({c for c, _ in by_item})
    for catalog in catalogs:
        raters = sorted(r for c, r in by_item if c == catalog)
        for a, b in combinations(raters, 2):
            left, right = by_item[(catalog, a)], by_item[(catalog, b)]
            common = sorted(set(left) & set(right))
            xs = [left[k] for k in common]
            ys = [right[k] for k in common]
            mad = sum(abs(x - y) for x, y in zip(xs, ys, strict=True)) / len(xs) if xs else None
            agreements.append(Agreement(catalog, a, b, len(common), mad,
                                        quadratic_kappa(xs, ys)))
    return means, agreements

"""Agreement between raters who rated the same model and task: per-rater means, MAD, kappa."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import duckdb

SCORES = 6  # 0..5

# The latest rating of each rater for each (model, catalog, task); the warm-up never counts.
PER_RATER = """
    SELECT model, model_id, catalog, task_key, rater, score FROM (
        SELECT m.name AS model, s.model_id, s.catalog_name AS catalog, g.task_key,
               coalesce(r.rater, '?') AS rater, r.score,
               row_number() OVER (PARTITION BY s.model_id, s.catalog_name, g.task_key,
                                  coalesce(r.rater, '?')
                                  ORDER BY r.created_at DESC, r.id DESC) AS rn
        FROM ratings r JOIN generations g ON g.id = r.generation_id
        JOIN sessions s ON s.id = g.session_id JOIN models m ON m.id = s.model_id
        WHERE NOT g.is_warmup {where}
    ) WHERE rn = 1
"""


def per_rater_scores(con: duckdb.DuckDBPyConnection,
                     catalog: str | None = None) -> list[dict[str, Any]]:
    where, params = ("AND s.catalog_name = ?", [catalog]) if catalog else ("", [])
    cur = con.execute(PER_RATER.format(where=where), params)
    names = [d[0] for d in cur.description or []]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


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


def summarize(rows: Sequence[dict[str, Any]]) -> tuple[list[RaterMean], list[Agreement]]:
    sums: dict[tuple[str, str, str, str], list[int]] = defaultdict(list)
    by_item: dict[tuple[str, str], dict[tuple[str, str], int]] = defaultdict(dict)
    for row in rows:
        sums[(row["model_id"], row["catalog"], row["rater"], row["model"])].append(row["score"])
        by_item[(row["catalog"], row["rater"])][(row["model_id"], row["task_key"])] = row["score"]
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

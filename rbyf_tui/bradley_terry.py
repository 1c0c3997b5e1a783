"""Ranking from pairwise battles: Bradley–Terry maximum likelihood with bootstrap intervals.

Model i beats model j with probability 1 / (1 + exp(s_j - s_i)). A tie counts half a win
for each side; a "both bad" vote counts as a tie (both_bad="tie") or is left out ("drop").
Ratings are on the Elo-like scale Arena uses: 1000 + 400 * log10 of the odds against the
average model (strengths are centred, so the average model sits at 1000).

Speed (100 models, 100,000 votes, 1000 rounds in well under a second): votes become counts
per pair and outcome; a bootstrap round draws each count anew instead of resampling the
votes one by one; every round's fit is a few Newton steps from the full fit, all rounds at
once. The draw is the Poisson bootstrap (each vote counted Poisson(1) times, so a count c
becomes Poisson(c)): numpy's own multinomial alone takes longer than the whole target.

A small ridge penalty (RIDGE) keeps the fit finite when a model won or lost every vote it
had: such a model gets a large but finite gap and a wide interval. It moves a rating with
a few votes by well under one point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from rbyf_tui.ranking import LEVEL, leaderboard, ranks
from rbyf_tui.store.records import Vote

if TYPE_CHECKING:
    from rbyf_tui.store import Store

SCALE = 400.0 / math.log(10.0)  # natural-log strength to Elo-like points
BASE = 1000.0
RIDGE = 1e-3
BOTH_BAD = ("tie", "drop")
_CHUNK = 100  # bootstrap rounds fitted together: their arrays stay in the CPU's cache
_CHUNK_CELLS = 500_000  # ... fewer rounds at a time when there are very many pairs
_OWN_SOLVE_MAX = 256  # models up to which _solve eliminates in numpy, not LAPACK
_QUICK = 12  # quick steps (shared curvature) before a round falls back to full Newton
_QUICK_TOL = 3e-4  # strength units left to go when a round stops: 0.05 rating points
_BINS = 1024  # guide table bins per count (fast Poisson draws) ...
_BIN_SHIFT = 21  # ... picked by the top 10 of a draw's 31 bits
_DRAWS = 1 << 31
_TOL = 1e-9
_MAX_STEP = 2.0  # cap on one Newton step (strength units): keeps far-off starts stable


@dataclass(frozen=True)
class BTRow:
    """One model's line of the battle leaderboard of one catalog."""

    model_id: str
    model: str
    rating: float
    ci_low: float
    ci_high: float
    rank: int
    votes: int  # counted votes the model took part in
    win_rate: float  # (wins + ties / 2) / votes

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class BTReport:
    rows: list[BTRow]  # best rating first
    # (a, b) -> share of the counted a-b votes a won (ties half); None: they never met.
    win_matrix: dict[tuple[str, str], float | None] = field(default_factory=dict)
    left_share: float | None = None  # share of decisive votes won by the left answer
    decisive: int = 0  # counted votes with a winner (left or right)
    counted: int = 0  # votes in the fit (both-bad ones left out with both_bad="drop")
    names: dict[str, str] = field(default_factory=dict)  # model_id -> name


@dataclass(frozen=True)
class _Tally:
    """Counted votes as counts per pair (i < j, indexes into `models`) and outcome."""

    models: list[str]
    i: np.ndarray
    j: np.ndarray
    wins_i: np.ndarray
    wins_j: np.ndarray
    ties: np.ndarray
    left_wins: int
    decisive: int


def bt_ranking(votes: Sequence[Vote], *, rounds: int = 1000, seed: int = 0,
               both_bad: str = "tie", names: Mapping[str, str] | None = None,
               level: float = LEVEL) -> BTReport:
    """Ratings, bootstrap intervals and ranks from the votes of one catalog. The same votes
    and seed give the same numbers. `names` maps model ids to names (default: the ids)."""
    if both_bad not in BOTH_BAD:
        raise ValueError(f"both_bad must be one of {', '.join(BOTH_BAD)}, not {both_bad!r}")
    catalogs = {v.catalog_name for v in votes}
    if len(catalogs) > 1:
        raise ValueError(f"votes of {len(catalogs)} catalogs: rank one catalog at a time "
                         "(models rated on different catalogs never meet)")
    tally = _tally(votes, both_bad)
    names = {m: (names or {}).get(m, m) for m in tally.models}
    if not tally.models:
        return BTReport(rows=[], counted=0, names=names)
    strength = fit(tally.i, tally.j, tally.wins_i + tally.ties / 2,
                   tally.wins_i + tally.wins_j + tally.ties, len(tally.models))
    low, high = _bootstrap(tally, strength, rounds, seed, level)
    rating = BASE + SCALE * strength
    played, scored = _records(tally)
    rank_of = ranks(low, high)
    order = sorted(range(len(tally.models)),
                   key=lambda k: (-rating[k], names[tally.models[k]], tally.models[k]))
    rows = [BTRow(model_id=tally.models[k], model=names[tally.models[k]],
                  rating=float(rating[k]), ci_low=float(low[k]), ci_high=float(high[k]),
                  rank=rank_of[k], votes=int(played[k]),
                  win_rate=float(scored[k] / played[k]))
            for k in order]
    return BTReport(rows=rows, win_matrix=_win_matrix(tally),
                    left_share=tally.left_wins / tally.decisive if tally.decisive else None,
                    decisive=tally.decisive, counted=int(played.sum() // 2), names=names)


_OUTCOME = {"left": 0, "right": 1, "tie": 2, "both_bad": 3}


def _tally(votes: Sequence[Vote], both_bad: str) -> _Tally:
    for vote in votes:
        if vote.verdict not in _OUTCOME:
            raise ValueError(f"vote {vote.id} has verdict {vote.verdict!r}: not one of "
                             f"{', '.join(_OUTCOME)}")
    models = sorted({v.left_model_id for v in votes} | {v.right_model_id for v in votes})
    index = {model: k for k, model in enumerate(models)}
    left = np.array([index[v.left_model_id] for v in votes], dtype=np.int64)
    right = np.array([index[v.right_model_id] for v in votes], dtype=np.int64)
    outcome = np.array([_OUTCOME[v.verdict] for v in votes], dtype=np.int64)
    keep = (left != right) & ((outcome != 3) | (both_bad == "tie"))
    left, right, outcome = left[keep], right[keep], outcome[keep]
    decisive = outcome < 2
    left_wins = int(np.count_nonzero(outcome == 0))
    # As pairs (low index, high index): outcome 0 = low won, 1 = high won, 2 = a tie.
    flipped = left > right
    low, high = np.minimum(left, right), np.maximum(left, right)
    outcome = np.where(decisive, outcome ^ flipped, 2)
    m = len(models)
    met, cell = np.unique(low * m + high, return_inverse=True)  # pairs in (low, high) order
    counts = np.bincount(cell * 3 + outcome, minlength=len(met) * 3).reshape(-1, 3)
    # Models whose every vote was left out drop out of the ranking.
    present = np.unique(np.concatenate([met // m, met % m]))
    renumber = np.full(m, -1)
    renumber[present] = np.arange(len(present))
    return _Tally([models[k] for k in present], renumber[met // m], renumber[met % m],
                  counts[:, 0], counts[:, 1], counts[:, 2], left_wins,
                  int(np.count_nonzero(decisive)))


def _records(tally: _Tally) -> tuple[np.ndarray, np.ndarray]:
    """Counted votes and points (wins + ties / 2) per model."""
    m = len(tally.models)
    n = tally.wins_i + tally.wins_j + tally.ties
    played = np.bincount(tally.i, n, m) + np.bincount(tally.j, n, m)
    scored = (np.bincount(tally.i, tally.wins_i + tally.ties / 2, m)
              + np.bincount(tally.j, tally.wins_j + tally.ties / 2, m))
    return played, scored


def _win_matrix(tally: _Tally) -> dict[tuple[str, str], float | None]:
    matrix: dict[tuple[str, str], float | None] = {
        (a, b): None for a in tally.models for b in tally.models if a != b}
    for i, j, wi, wj, t in zip(tally.i, tally.j, tally.wins_i, tally.wins_j, tally.ties,
                               strict=True):
        a, b = tally.models[i], tally.models[j]
        share = (wi + t / 2) / (wi + wj + t)
        matrix[(a, b)], matrix[(b, a)] = float(share), float(1 - share)
    return matrix


def _scatter(values: np.ndarray, index: np.ndarray, m: int) -> np.ndarray:
    """Row by row, the sums of values[r, p] into column index[p] (bincount: no BLAS, whose
    threads stall on a busy machine)."""
    rows = values.shape[0]
    flat = (np.arange(rows)[:, None] * m + index).ravel()
    return np.bincount(flat, values.ravel(), rows * m).reshape(rows, m)


def _gradient(s: np.ndarray, i: np.ndarray, j: np.ndarray, wins: np.ndarray,
              games: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The log-likelihood's gradient (ridge included) and i's win chance per pair."""
    p = 1.0 / (1.0 + np.exp(s[:, j] - s[:, i]))
    residual = wins - games * p
    m = s.shape[1]
    return _scatter(residual, i, m) - _scatter(residual, j, m) - RIDGE * s, p


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a[r]^-1 b[r] for symmetric positive definite a[r], by Gauss-Jordan elimination in
    plain numpy: LAPACK's threads stall for ~100x the work on a busy 2-core machine."""
    m = a.shape[1]
    if m > _OWN_SOLVE_MAX:  # there LAPACK's speed is worth its threads
        return np.linalg.solve(a, b)
    x = np.concatenate([a, b], axis=2)
    for k in range(m):
        x[:, k] /= x[:, k, k, None]
        column = x[:, :, k].copy()
        column[:, k] = 0.0
        x -= column[:, :, None] * x[:, None, k]
    return x[:, :, m:]


def _centred(step: np.ndarray) -> np.ndarray:
    """Ratings are centred; a step along all-equal strengths only carries round-off."""
    return step - step.mean(axis=1, keepdims=True)


def fit(i: np.ndarray, j: np.ndarray, wins: np.ndarray, games: np.ndarray, m: int,
        start: np.ndarray | None = None) -> np.ndarray:
    """Maximum-likelihood strengths (natural log, mean zero), by Newton's method. Pairs are
    (i[p], j[p]); wins[..., p] of games[..., p] went to i[p]. A leading axis of wins and
    games fits that many data sets at once (the bootstrap rounds)."""
    single = np.ndim(wins) == 1
    wins = np.atleast_2d(np.asarray(wins, dtype=np.float64))
    games = np.atleast_2d(np.asarray(games, dtype=np.float64))
    sets = wins.shape[0]
    s = np.zeros((sets, m)) if start is None else np.array(np.broadcast_to(start, (sets, m)))
    off_ij, off_ji, diag = i * m + j, j * m + i, np.arange(m) * (m + 1)
    active = np.arange(sets)
    for _ in range(100):
        sa, n = s[active], games[active]
        gradient, p = _gradient(sa, i, j, wins[active], n)
        weight = n * p * (1.0 - p)
        hessian = np.zeros((len(active), m * m))
        hessian[:, off_ij] = -weight
        hessian[:, off_ji] = -weight
        hessian[:, diag] = _scatter(weight, i, m) + _scatter(weight, j, m) + RIDGE
        step = _centred(_solve(hessian.reshape(-1, m, m), gradient[..., None])[..., 0])
        biggest = np.abs(step).max(axis=1)
        step *= np.minimum(1.0, _MAX_STEP / np.maximum(biggest, _TOL))[:, None]
        s[active] = sa + step
        active = active[biggest > _TOL]
        if not len(active):
            break
    s -= s.mean(axis=1, keepdims=True)
    return s[0] if single else s


def _bootstrap(tally: _Tally, strength: np.ndarray, rounds: int, seed: int,
               level: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of each rating over `rounds` redrawn vote sets."""
    rating = BASE + SCALE * strength
    if rounds < 1:
        return rating.copy(), rating.copy()
    rng = np.random.default_rng(seed)
    pairs, m = len(tally.i), len(tally.models)
    draw = PoissonDraw(np.concatenate([tally.wins_i, tally.wins_j, tally.ties]))
    refit = _Refit(tally, strength)
    samples = np.empty((rounds, m))
    chunk = int(np.clip(_CHUNK_CELLS // pairs, 1, _CHUNK))
    for first in range(0, rounds, chunk):
        size = min(chunk, rounds - first)
        wins_i, wins_j, ties = draw(rng, size).reshape(size, 3, pairs).transpose(1, 0, 2)
        ties *= 0.5
        wins = wins_i + ties
        samples[first:first + size] = BASE + SCALE * refit(wins, wins + wins_j + ties)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(samples, [tail, 1.0 - tail], axis=0)
    return low, high


class _Refit:
    """Fits of redrawn vote sets, which lie near the full fit: Newton steps that reuse the
    full fit's curvature (one matrix inverse for every round), all rounds at once. A round
    not settled after _QUICK steps is fitted again by full Newton."""

    def __init__(self, tally: _Tally, strength: np.ndarray) -> None:
        self.i, self.j, self.strength = tally.i, tally.j, strength
        m = len(strength)
        games = (tally.wins_i + tally.wins_j + tally.ties).astype(np.float64)
        p = 1.0 / (1.0 + np.exp(strength[tally.j] - strength[tally.i]))
        weight = games * p * (1.0 - p)
        hessian = np.diag(np.bincount(self.i, weight, m) + np.bincount(self.j, weight, m)
                          + RIDGE)
        hessian[self.i, self.j] = -weight
        hessian[self.j, self.i] = -weight
        self.inverse = _solve(hessian[None], np.eye(m)[None])[0]
        self.into_i, self.into_j = _Segments(self.i, m), _Segments(self.j, m)
        self.i32, self.j32 = self.i.astype(np.int32), self.j.astype(np.int32)
        self.chance = p.astype(np.float32)

    def __call__(self, wins: np.ndarray, games: np.ndarray) -> np.ndarray:
        # float32 for the per-pair work (half the memory traffic, faster exp); a step's
        # round-off (~1e-8) is far below _QUICK_TOL.
        rows, m = len(wins), len(self.strength)
        wins32 = wins.astype(np.float32, copy=False)
        games32 = games.astype(np.float32, copy=False)
        s = np.repeat(self.strength[None, :], rows, axis=0)
        settled = np.zeros(rows, dtype=bool)
        previous = np.zeros(rows)
        for step_number in range(_QUICK):
            if step_number == 0:  # every round starts at the full fit: one set of chances
                residual = wins32 - games32 * self.chance
            else:
                s32 = s.astype(np.float32)
                residual = s32[:, self.j32]
                residual -= s32[:, self.i32]
                np.exp(residual, out=residual)
                residual += 1.0
                np.divide(games32, residual, out=residual)  # games x i's win chance
                np.subtract(wins32, residual, out=residual)
            gradient = self.into_i.sums(residual) - self.into_j.sums(residual) - RIDGE * s
            step = _centred(np.einsum("rk,kl->rl", gradient, self.inverse))
            s += step
            # The steps shrink by a steady ratio; what is left is about step x r / (1 - r).
            biggest = np.abs(step).max(axis=1)
            ratio = np.minimum(biggest / np.maximum(previous, 1e-300), 0.9)
            settled = biggest * ratio / (1.0 - ratio) < _QUICK_TOL
            previous = biggest
            if settled.all():
                break
        if not settled.all():
            slow = np.flatnonzero(~settled)
            s[slow] = fit(self.i, self.j, wins[slow], games[slow], m, start=self.strength)
        return s - s.mean(axis=1, keepdims=True)


class _Segments:
    """Sums of per-pair values into one model per pair, for many rows at once: pairs in
    model order, then numpy's reduceat over each model's run."""

    def __init__(self, model: np.ndarray, m: int) -> None:
        order = np.argsort(model, kind="stable")
        self.order = None if np.array_equal(order, np.arange(len(model))) else order
        ordered = model[order]
        self.starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        self.models = ordered[self.starts]
        self.m = m

    def sums(self, values: np.ndarray) -> np.ndarray:
        if self.order is not None:
            values = values[:, self.order]
        out = np.zeros((len(values), self.m))
        out[:, self.models] = np.add.reduceat(values, self.starts, axis=1)
        return out


class PoissonDraw:
    """Draws Poisson(c) for each count c, many rounds at a time, by table lookup: 31
    random bits per value, whose top 10 pick a bin of a guide table; most bins hold one
    value only, which is the answer; in the rest a step or two along the value's
    cumulative distribution finds it. ~20x faster than numpy's Poisson for vote counts."""

    def __init__(self, counts: np.ndarray) -> None:
        self.counts = np.asarray(counts, dtype=np.int64)
        distinct, group = np.unique(self.counts, return_inverse=True)
        values, limits, guides = [], [], []
        offset = 0
        edges = np.arange(_BINS, dtype=np.int64) << _BIN_SHIFT  # each bin's first draw
        for c in distinct:
            spread = 12.0 * math.sqrt(c) + 12.0
            k = np.arange(max(0, int(c - spread)), int(c + spread) + 1) if c else np.zeros(1)
            log_pmf = (k * math.log(c) - c - _log_factorials(k)) if c else np.zeros(1)
            cdf = np.cumsum(np.exp(log_pmf - log_pmf.max()))
            # A draw r (0 <= r < 2^31) is value k when limit[k-1] <= r < limit[k].
            limit = np.ceil(cdf / cdf[-1] * _DRAWS).astype(np.int64)
            limit[-1] = _DRAWS
            first = np.searchsorted(limit, edges, "right")  # the first value a bin can be
            alone = limit[first] >= edges + (1 << _BIN_SHIFT)
            guides.append(np.where(alone, k[first], -(offset + first) - 1))
            values.append(k)
            limits.append(limit)
            offset += len(k)
        self.values = np.concatenate(values).astype(np.int32)
        self.limits = np.concatenate(limits).astype(np.uint32)
        self.guide = np.concatenate(guides).astype(np.int32)
        self.base = (group * _BINS).astype(np.uint32)

    def __call__(self, rng: np.random.Generator, rounds: int) -> np.ndarray:
        size = rounds * len(self.counts)
        bits = rng.bit_generator.random_raw((size + 1) // 2).view(np.uint32)[:size]
        draws = bits.reshape(rounds, -1) >> np.uint32(1)
        found = self.guide[self.base + (draws >> np.uint32(_BIN_SHIFT))]
        shared = np.flatnonzero(found < 0)  # bins two or more values share
        position = -found.reshape(-1)[shared] - 1
        wanted = draws.reshape(-1)[shared]
        todo = np.flatnonzero(wanted >= self.limits[position])
        while len(todo):
            position[todo] += 1
            todo = todo[wanted[todo] >= self.limits[position[todo]]]
        found.reshape(-1)[shared] = self.values[position]
        return found.astype(np.float32)


def _log_factorials(k: np.ndarray) -> np.ndarray:
    """log(k!) for a run of consecutive whole numbers."""
    first = math.lgamma(int(k[0]) + 1)
    return first + np.concatenate([[0.0], np.cumsum(np.log(k[1:].astype(np.float64)))])


def kendall_tau(a: Sequence[str], b: Sequence[str]) -> float | None:
    """Kendall's tau between two orders (best first) of the models both list; None when
    fewer than two are in both."""
    common = set(a) & set(b)
    first = [m for m in a if m in common]
    if len(first) < 2:
        return None
    place = {m: k for k, m in enumerate(m for m in b if m in common)}
    second = [place[m] for m in first]
    n = len(second)
    score = sum(1 if second[x] < second[y] else -1
                for x in range(n) for y in range(x + 1, n))
    return score / (n * (n - 1) / 2)


# --- from the store: `rbyf leaderboard --method bt` and the app's votes tab --------------

def bt_reports(store: Store, catalog: str | None, rater: str | None,
               both_bad: str = "tie") -> dict[str, BTReport]:
    """One report per catalog with votes, by catalog name."""
    by_catalog: dict[str, list[Any]] = {}
    for vote in store.votes(catalog, rater):
        by_catalog.setdefault(vote.catalog_name, []).append(vote)
    ids = sorted({m for votes in by_catalog.values()
                  for v in votes for m in (v.left_model_id, v.right_model_id)})
    names = dict(store.models_named(ids)) if ids else {}
    return {name: bt_ranking(votes, both_bad=both_bad, names=names)
            for name, votes in sorted(by_catalog.items())}


def score_order(store: Store, catalog: str, rater: str | None) -> list[str]:
    """Model ids of the score leaderboard of one catalog, best mean first."""
    return [s.model_id for s in leaderboard(store, catalog, rater)]

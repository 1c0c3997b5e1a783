"""Battle leaderboard at scale: the Bradley–Terry fit with 1000 bootstrap rounds for 100
models and 100,000 votes (target: under 1 s), timed from the list of votes as the store
returns it to the finished report (counting, fit, intervals, ranks, win matrix).

Beside it, once: numpy's multinomial resampling of the same per-pair counts for as many
rounds (the textbook bootstrap draw, which rbyf replaces by Poisson draws; see
rbyf_tui/bradley_terry.py), the draw alone, no fitting.

Votes are drawn from known strengths (Elo-like spread 150, pairs uniform, ~9% ties or both
bad, likelier between close models); the script also prints how far the fitted ratings are
from the true ones and how many true ratings their intervals hold.

    python benchmarks/bt_scale.py                         # 100 models, 100,000 votes
    python benchmarks/bt_scale.py --models 5 --votes 500 --repeat 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from rbyf_tui.bradley_terry import BASE, SCALE, _tally, bt_ranking
from rbyf_tui.store.records import Vote

TARGET_S = 1.0


def synthetic_votes(models: int, count: int, seed: int = 0,
                    ) -> tuple[list[Vote], dict[str, float]]:
    """Votes between random pairs of models with known ratings, and those ratings."""
    rng = np.random.default_rng(seed)
    ratings = rng.normal(BASE, 150.0, models)
    ratings += BASE - ratings.mean()
    ids = [f"m{k:03d}" for k in range(models)]
    left = rng.integers(0, models, count)
    right = (left + rng.integers(1, models, count)) % models
    p_left = 1.0 / (1.0 + np.exp((ratings[right] - ratings[left]) / SCALE))
    # Ties (a third of them "both bad") are likelier between close models; each is half a
    # win, so the left side's expected points stay p_left, as the model says.
    p_tie = 0.3 * np.minimum(p_left, 1.0 - p_left)
    draw = rng.random(count)
    left_won = draw < p_left - p_tie / 2
    tied = ~left_won & (draw < p_left + p_tie / 2)
    verdicts = np.where(left_won, "left", "right")
    verdicts = np.where(tied, np.where(rng.random(count) < 1 / 3, "both_bad", "tie"), verdicts)
    now = datetime.now()
    votes = [Vote(f"v{n}", "bench", f"t{n % 100}", f"g{n}l", f"g{n}r", ids[a], ids[b],
                  str(v), None, None, now)
             for n, (a, b, v) in enumerate(zip(left, right, verdicts, strict=True))]
    return votes, dict(zip(ids, ratings.tolist(), strict=True))


def multinomial_draws(votes: list[Vote], rounds: int) -> np.ndarray:
    """The same per-pair counts rbyf redraws (wins each way, ties), by numpy's multinomial."""
    tally = _tally(votes, "tie")
    counts = np.concatenate([tally.wins_i, tally.wins_j, tally.ties]).astype(np.float64)
    total = int(counts.sum())
    return np.random.default_rng(0).multinomial(total, counts / total, rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=100)
    parser.add_argument("--votes", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    votes, truth = synthetic_votes(args.models, args.votes)
    times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        report = bt_ranking(votes, rounds=args.rounds, seed=0)
        times.append(time.perf_counter() - started)
    started = time.perf_counter()
    multinomial_draws(votes, args.rounds)
    multinomial_s = time.perf_counter() - started
    error = [abs(r.rating - truth[r.model_id]) for r in report.rows]
    covered = sum(r.ci_low <= truth[r.model_id] <= r.ci_high for r in report.rows)
    median = statistics.median(times)
    print(f"{args.models} models, {args.votes:,} votes ({report.counted:,} counted), "
          f"{args.rounds} bootstrap rounds")
    print(f"bt_ranking: median {median:.3f} s, best {min(times):.3f} s over {args.repeat} "
          f"runs ({median / TARGET_S:.0%} of the {TARGET_S:.0f} s target)")
    print(f"numpy multinomial resampling of the counts alone: {multinomial_s:.3f} s")
    print(f"fit vs truth: mean |error| {statistics.mean(error):.1f} points, "
          f"{covered}/{len(report.rows)} true ratings inside their 95% interval")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

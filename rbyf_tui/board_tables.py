"""The leaderboards as rows of text, one layout for `rbyf leaderboard` and the report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rbyf_tui.bradley_terry import BTRow
from rbyf_tui.comparison import model_label
from rbyf_tui.metrics import fmt
from rbyf_tui.ranking import Standing


@dataclass(frozen=True)
class Table:
    headers: list[str]
    rows: list[list[str]]
    right: list[int]  # columns of numbers, aligned right


def standings_table(standings: Sequence[Standing], catalog: bool = True) -> Table:
    """The score leaderboard; a thinking column only where some model thought."""
    thinks = any(s.median_reasoning_s is not None for s in standings)
    headers = ["rank", "model", *(["catalog"] if catalog else []), "rated", "total", "mean",
               "95% CI", "checks", "TTFT", "prompt t/s", "decode t/s",
               *(["thinking"] if thinks else [])]
    rows = [[str(s.rank), model_label(s.model, s.quantization, s.size_bytes),
             *([s.catalog] if catalog else []), f"{s.n_rated}/{s.n_tasks}",
             f"{s.total}/{5 * s.n_rated}", fmt(s.mean, "", 2),
             f"{s.ci_low:.2f}–{s.ci_high:.2f}",
             "–" if s.check_pass_rate is None else f"{s.check_pass_rate:.0%}",
             fmt(s.median_ttft_s, " s", 2), fmt(s.median_prompt_tps),
             fmt(s.median_decode_tps), *([fmt(s.median_reasoning_s, " s")] if thinks else [])]
            for s in standings]
    return Table(headers, rows, [0, *range(2 + catalog, len(headers))])


def battles_table(rows: Sequence[tuple[str, BTRow]], catalog: bool = True) -> Table:
    """The battle leaderboard from (catalog, row) pairs."""
    headers = ["rank", "model", *(["catalog"] if catalog else []), "rating", "95% CI",
               "votes", "win rate"]
    cells = [[str(r.rank), r.model, *([name] if catalog else []), f"{r.rating:.0f}",
              f"{r.ci_low:.0f}–{r.ci_high:.0f}", str(r.votes), f"{r.win_rate:.0%}"]
             for name, r in rows]
    return Table(headers, cells, [0, *range(2 + catalog, len(headers))])

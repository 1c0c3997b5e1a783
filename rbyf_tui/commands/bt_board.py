"""`rbyf leaderboard --method bt`: Bradley–Terry ratings from pairwise battle votes."""

from __future__ import annotations

import argparse

from rbyf_tui.board_tables import battles_table
from rbyf_tui.bradley_terry import BTReport, bt_reports, kendall_tau, score_order
from rbyf_tui.commands.common import print_csv, print_json, table
from rbyf_tui.errors import UsageError
from rbyf_tui.store import Store

BT_KEYS = ("model", "catalog", "rating", "ci_low", "ci_high", "rank", "votes", "win_rate")
MATRIX_MAX = 10  # the win-rate matrix is printed for at most this many models


def leaderboard(args: argparse.Namespace, store: Store) -> int:
    if args.by_rater:
        raise UsageError("--by-rater goes with --method score: battle votes are ranked "
                         "over every rater together (pick one with --rater NAME)")
    boards = bt_reports(store, args.catalog, args.rater, args.both_bad)
    rows = [{k: catalog if k == "catalog" else getattr(r, k) for k in BT_KEYS}
            for catalog, report in boards.items() for r in report.rows]
    if args.format == "json":
        print_json(rows)
        return 0
    if args.format == "csv":
        print_csv(rows, BT_KEYS)
        return 0
    if not rows:
        print("no battle votes yet: vote in the app's battle screen or with `rbyf vote`")
        return 0
    board = battles_table([(catalog, r) for catalog, report in boards.items()
                           for r in report.rows])
    print(table(board.headers, board.rows, right=board.right))
    for catalog, report in boards.items():
        print(f"\n{catalog}: {report.counted} votes counted"
              f"{' (both bad left out)' if args.both_bad == 'drop' else ''}")
        print_bias(report)
        print_tau(report, score_order(store, catalog, args.rater))
        if len(report.rows) <= MATRIX_MAX:
            print_matrix(report)
    return 0


def print_bias(report: BTReport) -> None:
    if report.left_share is None:
        print("position bias: no decisive vote yet")
    else:
        print(f"position bias: the left answer won {report.left_share:.0%} of "
              f"{report.decisive} decisive votes (50% is none)")


def print_tau(report: BTReport, scores: list[str]) -> None:
    tau = kendall_tau([r.model_id for r in report.rows], scores)
    common = len({r.model_id for r in report.rows} & set(scores))
    if tau is None:
        print("battles vs scores: needs 2 models with both votes and ratings")
    else:
        print(f"battles vs scores: Kendall's tau {tau:+.2f} over {common} models "
              "(+1: the same order)")


def print_matrix(report: BTReport) -> None:
    ids = [r.model_id for r in report.rows]
    print("win rate of the row's model against the column's (ties count half)")
    print(table(
        ["", "model", *(str(n) for n in range(1, len(ids) + 1))],
        [[n, report.names[a],
          *("·" if a == b or report.win_matrix.get((a, b)) is None
            else f"{report.win_matrix[(a, b)]:.0%}" for b in ids)]
         for n, a in enumerate(ids, 1)],
        right=[0, *range(2, len(ids) + 2)]))

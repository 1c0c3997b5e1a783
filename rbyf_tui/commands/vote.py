"""`rbyf vote`: record one pairwise battle's verdict (for scripts and tests)."""

from __future__ import annotations

import argparse

from rbyf_tui.commands.common import open_store


def main(args: argparse.Namespace) -> int:
    store = open_store(args)
    left = store.find_generation(args.left)
    right = store.find_generation(args.right)
    print(store.record_vote(left, right, args.verdict, args.remark, args.rater))
    return 0

"""`rbyf import`: the old scripts' CSV and log files into the DB."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from rbyf_tui import catalog as catalogs
from rbyf_tui import legacy
from rbyf_tui.commands.common import open_store, opt


def main(args: argparse.Namespace) -> int:
    catalog = catalogs.resolve(legacy.CATALOG)
    store = open_store(args)
    paths = [Path(p).expanduser() for p in args.paths]
    report = legacy.import_paths(store, paths, model=opt(args, "model"),
                                 rater=opt(args, "rater"), catalog=catalog,
                                 tz=opt(args, "tz"))
    for done in report.imported:
        plan = done.plan
        if not done.created:
            print(f"already imported: {plan.run.label} is session {done.session_id}")
            continue
        rated = plan.rated
        print(f"imported {plan.run.label}: session {done.session_id}, model {plan.model}, "
              f"{len(rated)} of {len(catalog.tasks)} tasks rated, total "
              f"{sum(t.score or 0 for t in rated)}/{5 * len(rated)}")
        if missing := plan.missing(catalog):
            print(f"  not in this run: {_titles(missing)}")
        if plan.unrated:
            print(f"  not rated: {_titles(t.title for t in plan.unrated)} (rate with: rbyf rate "
                  f"--session {done.session_id} --task KEY --score N)")
        if plan.outside:
            print(f"  kept under their own titles, outside {catalog.name}'s ranking: "
                  f"{_titles(plan.outside)}")
    # One line per file that failed; the other runs are in by now.
    for problem in report.failed:
        print(f"rbyf: {problem}", file=sys.stderr)
    return 1 if report.failed else 0


def _titles(titles: Iterable[str]) -> str:
    return ", ".join(repr(t) for t in titles)

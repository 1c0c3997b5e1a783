"""`rbyf sessions`, `rbyf leaderboard`, `rbyf export`: reading the store."""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import sys
from dataclasses import asdict
from pathlib import Path

from rbyf_tui import agreement, locations
from rbyf_tui import export as exporter
from rbyf_tui.catalog import Catalog
from rbyf_tui.commands.common import open_store, opt, print_json, stamp, table
from rbyf_tui.errors import StoreError, UsageError
from rbyf_tui.metrics import fmt
from rbyf_tui.store import Store
from rbyf_tui.store.ids import short_ids

BOARD_KEYS = ("model", "catalog", "n_rated", "total", "mean", "ci_low", "ci_high", "rank",
              "median_ttft_s", "median_prompt_tps", "median_decode_tps", "n_tasks",
              "check_pass_rate", "median_reasoning_s")


def sessions(args: argparse.Namespace) -> int:
    store = open_store(args, read_only=True)
    if store.path.exists():
        # Answers cut off by a crash show as interrupted, with their partial text.
        with contextlib.suppress(StoreError):
            open_store(args).recover_interrupted()
    if opt(args, "failures"):
        return load_failures(store, args.json)
    rows = store.sessions()
    if args.json:
        print_json([{**asdict(r), "created_at": stamp(r.created_at),
                     "updated_at": stamp(r.updated_at)} for r in rows])
        return 0
    if not rows:
        print("no sessions yet: start one with `rbyf` or `rbyf run`")
    else:
        short = short_ids(r.id for r in rows)  # the table is read; any unique prefix works
        print(table(
            ["id", "model", "catalog", "status", "tasks", "generated", "rated", "created"],
            [[short[r.id], r.model, r.catalog, f"running (pid {r.pid})" if r.running else r.status,
              r.tasks, r.generated, r.rated, stamp(r.created_at)] for r in rows],
            right=[4, 5, 6]))
    unsolved = [f for f in store.load_failures() if not f.loaded_since]
    if unsolved:
        latest = unsolved[0]
        print(f"\n{len(unsolved)} failed model load(s) not loaded since; the latest, "
              f"{stamp(latest.failed_at)}: {latest.model}: see `rbyf sessions --failures`")
    return 0


def load_failures(store: Store, as_json: bool) -> int:
    rows = store.load_failures()
    if as_json:
        print_json([{**asdict(r), "failed_at": stamp(r.failed_at)} for r in rows])
        return 0
    if not rows:
        print("no model load has failed")
        return 0
    for r in rows:
        where = f"session {r.session_id}" if r.session_id else r.catalog_name or ""
        since = "  (loaded since)" if r.loaded_since else ""
        print(f"{stamp(r.failed_at)}  {r.origin:<3}  {r.model}  {where}{since}\n"
              f"  {r.error}")
    return 0


def board_store(args: argparse.Namespace) -> Store:
    from rbyf_tui.store import team

    paths = [Path(p).expanduser() for p in opt(args, "db", None) or [locations.db_path()]]
    return team.open_many(paths)


def leaderboard(args: argparse.Namespace) -> int:
    from rbyf_tui import ranking

    store = board_store(args)
    if opt(args, "method") == "bt":
        from rbyf_tui.commands import bt_board

        return bt_board.leaderboard(args, store)
    standings = ranking.leaderboard(store, args.catalog, args.rater)
    rows = [{key: getattr(s, key) for key in BOARD_KEYS} for s in standings]
    raters = store.per_rater_scores(args.catalog) if args.by_rater else []
    means, agreements = agreement.summarize(raters)
    if args.format == "json":
        if args.by_rater:
            print_json({"leaderboard": rows, "raters": [asdict(m) for m in means],
                        "agreement": [asdict(a) for a in agreements]})
        else:
            print_json(rows)
        return 0
    if args.format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(BOARD_KEYS))
        writer.writeheader()
        writer.writerows(rows)
        sys.stdout.write(buffer.getvalue())
        return 0
    if not rows:
        print("no rated models yet: rate a session in `rbyf` or with `rbyf rate`, or bring in "
              "the old scripts' files with `rbyf import`")
        return 0
    # the thinking column only where some model thought
    thinks = any(s.median_reasoning_s is not None for s in standings)
    print(table(
        ["rank", "model", "catalog", "rated", "total", "mean", "95% CI", "checks", "TTFT",
         "prompt t/s", "decode t/s", *(["thinking"] if thinks else [])],
        [[s.rank, s.model, s.catalog, f"{s.n_rated}/{s.n_tasks}",
          f"{s.total}/{5 * s.n_rated}", fmt(s.mean, "", 2),
          f"{s.ci_low:.2f}–{s.ci_high:.2f}",
          "–" if s.check_pass_rate is None else f"{s.check_pass_rate:.0%}",
          fmt(s.median_ttft_s, " s", 2), fmt(s.median_prompt_tps), fmt(s.median_decode_tps),
          *([fmt(s.median_reasoning_s, " s")] if thinks else [])]
         for s in standings],
        right=[0, 3, 4, 5, 6, 7, 8, 9, 10, 11]))
    if args.by_rater:
        print_raters(means, agreements)
    return 0


def print_raters(means: list[agreement.RaterMean],
                 agreements: list[agreement.Agreement]) -> None:
    print("\nper rater")
    print(table(["model", "catalog", "rater", "rated", "mean"],
                [[m.model, m.catalog, m.rater, m.n_rated, fmt(m.mean, "", 2)] for m in means],
                right=[3, 4]))
    if not agreements:
        print("\nagreement: needs two raters who rated the same model and task")
        return
    print("\nagreement (same model and task)")
    print(table(["catalog", "rater A", "rater B", "common", "mean |A-B|", "kappa (quadratic)"],
                [[a.catalog, a.rater_a, a.rater_b, a.n_common, fmt(a.mean_abs_diff, "", 2),
                  fmt(a.kappa, "", 2)] for a in agreements],
                right=[3, 4, 5]))


def merge(args: argparse.Namespace) -> int:
    from rbyf_tui.store import team

    into = Path(args.into).expanduser()
    reports = team.merge([Path(p).expanduser() for p in args.sources], into,
                         new_ids=args.new_ids)
    for report in reports:
        added = ", ".join(f"{n} {table}" for table, n in report.added.items())
        print(f"{report.source}: added {added}")
    print(f"merged {len(reports)} file(s) into {into}")
    return 0


def export(args: argparse.Namespace) -> int:
    store = open_store(args, read_only=True)
    session_ids = None
    catalogs: dict[str, Catalog] = {}
    if args.session:
        session = store.find_session(args.session)
        session_ids = [session.id]
        catalogs[session.id] = store.session_catalog(session)
    elif args.format == "seed-csv":
        raise UsageError("seed-csv holds one session, as the old scripts wrote it: pass "
                         "--session ID")
    out = Path(args.out).expanduser() if args.out else None
    if args.format == "parquet":
        if out is None:
            raise UsageError("parquet is binary: pass --out FILE.parquet")
        store.export_parquet(session_ids, out)
        print(f"wrote {out}", file=sys.stderr)
        return 0
    rows = store.export_rows(session_ids)
    if args.format == "md" and not args.session:
        for ref in {r["session_id"] for r in rows}:
            catalogs[ref] = store.session_catalog(store.find_session(ref))
    text = {
        "csv": lambda: exporter.to_csv(rows),
        "jsonl": lambda: exporter.to_jsonl(rows),
        "seed-csv": lambda: exporter.to_seed_csv(rows, next(iter(catalogs.values()))),
        "md": lambda: exporter.to_markdown(rows, catalogs),
    }[args.format]()
    if out is None:
        sys.stdout.write(text)
        return 0
    # newline="" keeps the csv's own line endings (CRLF for seed-csv) as they are.
    with out.open("w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    print(f"wrote {out}", file=sys.stderr)
    return 0

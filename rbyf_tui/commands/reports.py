"""`rbyf sessions`, `rbyf leaderboard`, `rbyf export`: reading the store."""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

from rbyf_tui import export as exporter
from rbyf_tui.catalog import Catalog
from rbyf_tui.commands.common import open_store, print_json, stamp, table
from rbyf_tui.errors import UsageError
from rbyf_tui.metrics import fmt

BOARD_KEYS = ("model", "catalog", "n_rated", "total", "mean", "ci_low", "ci_high", "rank",
              "median_ttft_s", "median_prompt_tps", "median_decode_tps", "n_tasks")


def sessions(args: argparse.Namespace) -> int:
    rows = open_store(args, read_only=True).sessions()
    if args.json:
        print_json([{**r, "created_at": stamp(r["created_at"]),
                     "updated_at": stamp(r["updated_at"])} for r in rows])
        return 0
    if not rows:
        print("no sessions yet: start one with `rbyf` or `rbyf run`")
        return 0
    print(table(
        ["id", "model", "catalog", "status", "tasks", "generated", "rated", "created"],
        [[r["id"], r["model"], r["catalog"], r["status"], r["tasks"], r["generated"],
          r["rated"], stamp(r["created_at"])] for r in rows],
        right=[4, 5, 6]))
    return 0


def leaderboard(args: argparse.Namespace) -> int:
    from rbyf_tui import ranking

    standings = ranking.leaderboard(open_store(args, read_only=True), args.catalog, args.rater)
    rows = [{key: getattr(s, key) for key in BOARD_KEYS} for s in standings]
    if args.format == "json":
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
    print(table(
        ["rank", "model", "catalog", "rated", "total", "mean", "95% CI", "TTFT", "prompt t/s",
         "decode t/s"],
        [[s.rank, s.model, s.catalog, f"{s.n_rated}/{s.n_tasks}",
          f"{s.total}/{5 * s.n_rated}", fmt(s.mean, "", 2),
          f"{s.ci_low:.2f}–{s.ci_high:.2f}", fmt(s.median_ttft_s, " s", 2),
          fmt(s.median_prompt_tps), fmt(s.median_decode_tps)]
         for s in standings],
        right=[0, 3, 4, 5, 6, 7, 8, 9]))
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

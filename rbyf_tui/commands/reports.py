"""`rbyf sessions`, `rbyf leaderboard`, `rbyf export`: reading the store."""

from __future__ import annotations

import argparse
import contextlib
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rbyf_tui import agreement, locations
from rbyf_tui import comparison as comparing
from rbyf_tui import export as exporter
from rbyf_tui.board_tables import standings_table
from rbyf_tui.catalog import Catalog
from rbyf_tui.commands.common import open_store, opt, print_csv, print_json, stamp, table
from rbyf_tui.errors import StoreError, UsageError
from rbyf_tui.metrics import fmt
from rbyf_tui.store import ComparisonRow, SessionRow, Store
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
    comparisons = store.comparisons() if store.path.exists() else []
    if not rows and not comparisons:
        print("no sessions yet: start one with `rbyf` or `rbyf run`")
    else:
        print(table(
            ["id", "model", "catalog", "status", "tasks", "generated", "rated", "created"],
            session_lines(rows, comparisons), right=[4, 5, 6]))
    unsolved = [f for f in store.load_failures() if not f.loaded_since]
    if unsolved:
        latest = unsolved[0]
        print(f"\n{len(unsolved)} failed model load(s) not loaded since; the latest, "
              f"{stamp(latest.failed_at)}: {latest.model}: see `rbyf sessions --failures`")
    return 0


def _session_cells(r: SessionRow, short: dict[str, str], indent: str = "") -> list[Any]:
    model = comparing.model_label(r.model, r.quantization, r.size_bytes)
    status = f"running (pid {r.pid})" if r.running else r.status
    return [indent + short[r.id], indent + model, r.catalog, status, r.tasks, r.generated,
            r.rated, stamp(r.created_at)]


def _comparison_status(c: ComparisonRow, running: bool) -> str:
    if c.finished:
        return "complete"
    if running:
        return "generating"
    return "open" if c.generated else "unfinished"


def session_lines(rows: list[SessionRow], comparisons: list[ComparisonRow]) -> list[list[Any]]:
    """The sessions table's rows, newest first: a comparison as one row with its models'
    sessions indented under it (a model not started yet as "waiting")."""
    by_id = {r.id: r for r in rows}
    # the table is read; any unique prefix works
    short = short_ids([*by_id, *(c.id for c in comparisons)])
    entries: list[tuple[Any, list[list[Any]]]] = [
        (r.created_at, [_session_cells(r, short)]) for r in rows if not r.comparison_id]
    for c in comparisons:
        members = [by_id.get(m.session_id or "") for m in c.members]
        running = any(r is not None and r.running for r in members)
        lines = [[short[c.id], f"comparison of {len(c.members)} models", c.catalog_name,
                  _comparison_status(c, running), c.members[0].tasks if c.members else 0,
                  sum(m.answered for m in c.members),
                  sum(r.rated for r in members if r is not None), stamp(c.created_at)]]
        for member, row in zip(c.members, members, strict=True):
            if row is not None:
                lines.append(_session_cells(row, short, "  "))
            else:
                lines.append(["  -", "  " + comparing.member_description(member),
                              c.catalog_name, member.status, member.tasks, 0, 0, ""])
        entries.append((c.created_at, lines))
    entries.sort(key=lambda e: e[0], reverse=True)
    return [line for _, lines in entries for line in lines]


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
        print_csv(rows, BOARD_KEYS)
        return 0
    if not rows:
        print("no rated models yet: rate a session in `rbyf` or with `rbyf rate`, or bring in "
              "the old scripts' files with `rbyf import`")
        return 0
    board = standings_table(standings)
    print(table(board.headers, board.rows, right=board.right))
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
        _export_votes_beside(store, session_ids, out, "parquet")
        return 0
    rows = store.export_rows(session_ids)
    if args.format == "md" and not args.session:
        for ref in {r["session_id"] for r in rows}:
            catalogs[ref] = store.session_catalog(store.find_session(ref))
    text = {
        "csv": lambda: exporter.to_csv(rows),
        "jsonl": lambda: exporter.to_jsonl(rows) + exporter.votes_to_jsonl(
            store.vote_rows(session_ids)),
        "seed-csv": lambda: exporter.to_seed_csv(rows, next(iter(catalogs.values()))),
        "md": lambda: exporter.to_markdown(rows, catalogs) + exporter.votes_to_markdown(
            store.vote_rows(session_ids)),
    }[args.format]()
    if out is None:
        sys.stdout.write(text)
        if args.format == "csv" and (votes := len(store.vote_rows(session_ids))):
            print(f"{votes} vote(s) not written: pass --out FILE.csv to get them in "
                  "FILE.votes.csv beside it", file=sys.stderr)
        return 0
    # newline="" keeps the csv's own line endings (CRLF for seed-csv) as they are.
    with out.open("w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    print(f"wrote {out}", file=sys.stderr)
    if args.format == "csv":
        _export_votes_beside(store, session_ids, out, "csv")
    return 0


def _export_votes_beside(store: Store, session_ids: list[str] | None, out: Path,
                         fmt: str) -> None:
    """A table of answers gets its votes in a second file beside it: OUT.votes.EXT."""
    target = out.with_name(f"{out.stem}.votes{out.suffix or '.' + fmt}")
    if store.export_votes(session_ids, target, fmt.upper()):
        print(f"wrote {target}", file=sys.stderr)

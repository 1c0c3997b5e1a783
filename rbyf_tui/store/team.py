"""Team stores: merge other raters' files into one, or read several files as one, read-only."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from rbyf_tui.errors import StoreError, UsageError
from rbyf_tui.store import Store, writes
from rbyf_tui.store.db import Database, _first_line
from rbyf_tui.store.schema import COUNTED_SELECT

# Tables in the order rows must arrive (parents first); every one has a unique `id`.
# The `counted` table is derived from them and rebuilt, never copied.
# sessions.comparison_id and votes' ids are plain columns (no foreign keys): order is free
# after the first five, which keeps the merge report's first words as they were.
TABLES = ("models", "catalogs", "sessions", "generations", "ratings", "comparisons",
          "votes")
# Tables keyed by other columns than `id` (blind_orders: one per comparison and task).
KEYED = {"blind_orders": ("comparison_id", "task_key")}


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    rows = con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'main' "
        "AND table_name = ? AND table_catalog = current_database() ORDER BY ordinal_position",
        [table]).fetchall()
    return [r[0] for r in rows]


def _attach(con: duckdb.DuckDBPyConnection, path: Path, alias: str) -> None:
    try:
        con.execute(f"ATTACH '{_quote(path)}' AS {alias} (READ_ONLY)")
    except duckdb.Error as exc:
        raise StoreError(f"cannot read {path} ({_first_line(exc)}): check the path") from None


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


@dataclass
class MergeReport:
    source: Path
    added: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.added.values())


def merge(sources: Sequence[Path], into: Path, *, new_ids: bool = False,
          ) -> list[MergeReport]:
    """Copy every row the target lacks (by id) from each source, all in one transaction;
    running it again adds none. A session whose id the target (or an earlier source) has
    for another session refuses the whole merge, unless `new_ids`: then it comes in under
    an id made from what it is, the same on every run."""
    target = Store(into)
    target.ensure_ready()
    given: dict[Path, Path] = {}
    for source in sources:
        if source.resolve() == into.resolve():
            raise UsageError(f"{source} is the target itself: merge other files into it")
        Database(source, read_only=True).ensure_ready()  # refuses newer, foreign or missing
        given.setdefault(source.resolve(), source)  # a file given twice merges once
    with target.db.connect(write=False) as con:  # ATTACH runs outside a transaction
        aliases = []
        try:
            for n, source in enumerate(given.values()):
                _attach(con, source, f"src{n}")
                aliases.append(f"src{n}")
            con.begin()
            reports = [_merge_one(con, alias, source, into, new_ids)
                       for alias, source in zip(aliases, given.values(), strict=True)]
            writes.rebuild_counted(con)  # derived from the ratings, which the copy bypassed
            con.commit()
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.rollback()
            raise
        finally:
            for alias in aliases:
                with contextlib.suppress(duckdb.Error):
                    con.execute(f"DETACH {alias}")
    return reports


# Sessions of the source (by their id there) that are not the target's session of the same
# id: another model, catalog or start, or another answer for the same task and attempt.
# Ids are mapped through merge_ids (old -> new) first.
CLASHES = """
    SELECT i.old FROM {src}.sessions s JOIN merge_ids i ON i.old = s.id
    JOIN main.sessions d ON d.id = i.new
    WHERE d.model_id IS DISTINCT FROM s.model_id OR d.catalog_id IS DISTINCT FROM s.catalog_id
          OR d.created_at IS DISTINCT FROM s.created_at
    UNION
    SELECT i.old FROM {src}.generations g JOIN merge_ids i ON i.old = g.session_id
    JOIN main.generations d
         ON d.session_id = i.new AND d.task_key = g.task_key AND d.attempt = g.attempt
    WHERE d.id <> g.id
    ORDER BY 1
"""
# An id for a session that clashes: made from what it is, so that merging it again finds it.
NEW_ID = """
    UPDATE merge_ids SET new = md5(concat_ws('|', s.id, s.model_id, s.catalog_id,
                                             s.created_at::VARCHAR))
    FROM {src}.sessions s WHERE merge_ids.old = s.id AND s.id IN (SELECT unnest(?::VARCHAR[]))
"""


def _merge_one(con: duckdb.DuckDBPyConnection, src: str, source: Path, into: Path,
               new_ids: bool) -> MergeReport:
    report = MergeReport(source)
    con.execute(f"CREATE OR REPLACE TEMP TABLE merge_ids AS "
                f"SELECT id AS old, id AS new FROM {src}.sessions")
    clashes = [r[0] for r in con.execute(CLASHES.format(src=src)).fetchall()]
    if clashes and new_ids:
        con.execute(NEW_ID.format(src=src), [clashes])
        clashes = [r[0] for r in con.execute(CLASHES.format(src=src)).fetchall()]
    if clashes:
        fix = ("merge again with --new-ids to bring it in under a new id" if not new_ids
               else "its new id is taken too: leave this file out")
        raise StoreError(
            f"session {clashes[0]} in {source} is another session than {clashes[0]} in "
            f"{into} (another model, catalog, start time or answer): nothing was merged; "
            f"{fix}")
    for table in TABLES:
        cols = _columns(con, table)
        join, key, swap = "", "s.id", {}
        if table == "sessions":
            join, key, swap = "JOIN merge_ids i ON i.old = s.id", "i.new", {"id": "i.new"}
        elif table == "generations":
            join = "LEFT JOIN merge_ids i ON i.old = s.session_id"
            swap = {"session_id": "coalesce(i.new, s.session_id)"}
        picked = ", ".join(swap.get(c, f"s.{c}") for c in cols)
        before = con.execute(f"SELECT count(*) FROM main.{table}").fetchone()
        con.execute(
            f"INSERT INTO main.{table} ({', '.join(cols)}) SELECT {picked} "
            f"FROM {src}.{table} s {join} "
            f"WHERE NOT EXISTS (SELECT 1 FROM main.{table} d WHERE d.id = {key})")
        after = con.execute(f"SELECT count(*) FROM main.{table}").fetchone()
        report.added[table] = (after[0] if after else 0) - (before[0] if before else 0)
    for table, keys in KEYED.items():
        report.added[table] = _merge_keyed(con, src, table, keys)
    for (session_id,) in con.execute("SELECT new FROM merge_ids").fetchall():
        writes.refresh_session_status(con, session_id, writes.now())  # new ratings count
    return report


def _merge_keyed(con: duckdb.DuckDBPyConnection, src: str, table: str,
                 keys: tuple[str, ...]) -> int:
    """Copy the rows of a table keyed by `keys` that the target lacks. A blind order lists
    session ids: those that came in under a new id (--new-ids) are renamed in it."""
    cols = _columns(con, table)
    picked = [f"s.{c}" for c in cols]
    if table == "blind_orders":
        renamed = con.execute("SELECT old, new FROM merge_ids WHERE old <> new").fetchall()
        expr, params = "s.sessions::VARCHAR", []
        for old, new in renamed:  # 32 hex digits each: a plain replace cannot hit another
            expr = f"replace({expr}, ?, ?)"
            params += [old, new]
        picked[cols.index("sessions")] = f"({expr})::JSON"
    else:
        params = []
    match = " AND ".join(f"d.{k} = s.{k}" for k in keys)
    before = con.execute(f"SELECT count(*) FROM main.{table}").fetchone()
    con.execute(
        f"INSERT INTO main.{table} ({', '.join(cols)}) SELECT {', '.join(picked)} "
        f"FROM {src}.{table} s "
        f"WHERE NOT EXISTS (SELECT 1 FROM main.{table} d WHERE {match})", params)
    after = con.execute(f"SELECT count(*) FROM main.{table}").fetchone()
    return (after[0] if after else 0) - (before[0] if before else 0)


class UnionDatabase(Database):
    """Several rbyf files read as one, read-only; a row in more than one counts once."""

    def __init__(self, paths: Sequence[Path]) -> None:
        super().__init__(paths[0], read_only=True)
        self.paths = [Path(p) for p in paths]

    def ensure_ready(self) -> None:
        for path in self.paths:
            Database(path, read_only=True).ensure_ready()

    @contextlib.contextmanager
    def connect(self, write: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        if write:
            raise StoreError("several --db files are read together, read-only")
        self.ensure_ready()
        con = duckdb.connect(":memory:")
        try:
            for n, path in enumerate(self.paths):
                _attach(con, path, f"db{n}")
            for table in TABLES:
                parts = " UNION ALL ".join(f"SELECT * FROM db{n}.{table}"
                                           for n in range(len(self.paths)))
                con.execute(f"CREATE TEMP VIEW {table} AS SELECT DISTINCT ON (id) * FROM "
                            f"({parts}) ORDER BY id")
            for table, keys in KEYED.items():
                parts = " UNION ALL ".join(f"SELECT * FROM db{n}.{table}"
                                           for n in range(len(self.paths)))
                on = ", ".join(keys)
                con.execute(f"CREATE TEMP VIEW {table} AS SELECT DISTINCT ON ({on}) * FROM "
                            f"({parts}) ORDER BY {on}")
            con.execute("CREATE TEMP VIEW counted AS " + COUNTED_SELECT)
            yield con
        finally:
            con.close()

    def read(self, fn: Any, *args: Any) -> Any:
        with self.connect() as con:
            try:
                return fn(con, *args)
            except duckdb.Error as exc:
                raise StoreError(f"cannot read {len(self.paths)} files together: "
                                 f"{_first_line(exc)}") from None


def open_many(paths: Sequence[Path]) -> Store:
    """One file as usual (read-only), or several as one union."""
    if len(paths) == 1:
        return Store(paths[0], read_only=True)
    store = Store(paths[0], read_only=True)
    store.db = UnionDatabase(paths)
    return store

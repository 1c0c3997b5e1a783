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
TABLES = ("models", "catalogs", "sessions", "generations", "ratings")


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


def merge(sources: Sequence[Path], into: Path) -> list[MergeReport]:
    """Copy every row the target lacks (by id) from each source; running it again adds none."""
    target = Store(into)
    target.ensure_ready()
    reports = []
    for source in sources:
        if source.resolve() == into.resolve():
            raise UsageError(f"{source} is the target itself: merge other files into it")
        Database(source, read_only=True).ensure_ready()  # refuses newer, foreign or missing
        reports.append(_merge_one(target, source))
    return reports


def _merge_one(target: Store, source: Path) -> MergeReport:
    report = MergeReport(source)
    with target.db.connect(write=False) as con:  # ATTACH runs outside a transaction
        _attach(con, source, "src")
        try:
            con.begin()
            for table in TABLES:
                cols = ", ".join(_columns(con, table))
                before = con.execute(f"SELECT count(*) FROM main.{table}").fetchone()
                con.execute(
                    f"INSERT INTO main.{table} ({cols}) SELECT {cols} FROM src.{table} s "
                    f"WHERE NOT EXISTS (SELECT 1 FROM main.{table} d WHERE d.id = s.id)")
                after = con.execute(f"SELECT count(*) FROM main.{table}").fetchone()
                report.added[table] = (after[0] if after else 0) - (before[0] if before else 0)
            writes.rebuild_counted(con)  # derived from the ratings, which the copy bypassed
            touched = [r[0] for r in con.execute("SELECT id FROM src.sessions").fetchall()]
            for session_id in touched:  # new ratings may complete a session
                writes.refresh_session_status(con, session_id, writes.now())
            con.commit()
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                con.rollback()
            raise
        finally:
            with contextlib.suppress(duckdb.Error):
                con.execute("DETACH src")
    return report


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

"""Opening the DuckDB file: short-lived connections, waiting out other rbyf processes.

DuckDB lets one process write a file at a time, and a writer also shuts out readers. rbyf
therefore never holds the file open between operations: each one connects, works, closes,
and a process that finds the file busy retries with backoff before giving up with a
message naming the process that holds it.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from rbyf_tui import __version__, shield
from rbyf_tui.errors import StoreError
from rbyf_tui.store.schema import MIGRATIONS, SCHEMA_VERSION

LOCK_RE = re.compile(r"Conflicting lock is held in (?P<proc>.+?) \(PID (?P<pid>\d+)\)")
CONFLICT_MARKERS = ("Could not set lock", "Conflicting lock", "Transaction conflict",
                    "Catalog write-write conflict")
DEFAULT_WAIT_S = 20.0


def _is_busy(exc: Exception) -> bool:
    text = str(exc)
    return any(marker in text for marker in CONFLICT_MARKERS)


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"^[A-Za-z ]+Error: ", "", text)


class Database:
    """One DuckDB file; every `connect()` is a short-lived connection."""

    def __init__(self, path: Path, *, read_only: bool = False,
                 wait_s: float = DEFAULT_WAIT_S) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.wait_s = wait_s
        self._ready = False
        self._ready_lock = threading.Lock()

    # --- opening ------------------------------------------------------------------------

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.wait_s
        delay = 0.01
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.Error as exc:
                if not _is_busy(exc):
                    raise StoreError(
                        f"{self.path} cannot be opened as an rbyf database ({_first_line(exc)}): "
                        "point --db at another file; this one was left untouched"
                    ) from None
                if time.monotonic() >= deadline:
                    raise StoreError(self._busy_message(exc)) from None
                time.sleep(delay)
                delay = min(delay * 1.6, 0.25)

    def _busy_message(self, exc: Exception) -> str:
        match = LOCK_RE.search(str(exc))
        holder = (f"{Path(match['proc']).name} (PID {match['pid']})" if match
                  else "another process")
        return (f"{self.path} is held by {holder} for more than {self.wait_s:.0f} s: "
                "wait for it to finish or stop it, then try again")

    def ensure_ready(self) -> None:
        """Check the schema once per process: create, migrate, or refuse a newer one."""
        with self._ready_lock:
            if self._ready:
                return
            if not self.path.exists():
                if self.read_only:
                    raise StoreError(
                        f"no rbyf database at {self.path} yet: rate a model first, or point "
                        "--db (or RBYF_DB) at an existing file"
                    )
                self.path.parent.mkdir(parents=True, exist_ok=True)
                version = 0
            else:
                version = self._read_version()
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer rbyf (schema {version}; this rbyf "
                    f"knows up to {SCHEMA_VERSION}): upgrade rbyf to use it; the file was left "
                    "untouched"
                )
            if version < SCHEMA_VERSION:
                if self.read_only:
                    raise StoreError(
                        f"{self.path} uses an older schema ({version}): open it once with a "
                        "command that writes (e.g. rbyf sessions) to upgrade it"
                    )
                self._migrate(version)
            self._ready = True

    def _read_version(self) -> int:
        try:
            con = self._open(read_only=True)  # a newer file must not be touched
        except StoreError as exc:
            if "different configuration" not in str(exc):
                raise
            con = self._open(read_only=self.read_only)  # this process has it open already
        try:
            tables = {row[0] for row in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()}
            if "rbyf_schema" not in tables:
                if tables:
                    raise StoreError(
                        f"{self.path} is a DuckDB database but not an rbyf one: point --db at "
                        "another file; this one was left untouched"
                    )
                return 0
            row = con.execute("SELECT max(version) FROM rbyf_schema").fetchone()
            return int(row[0]) if row and row[0] is not None else 0
        except duckdb.Error as exc:
            raise StoreError(
                f"{self.path} cannot be read as an rbyf database ({_first_line(exc)}): point "
                "--db at another file; this one was left untouched"
            ) from None
        finally:
            con.close()

    def _migrate(self, version: int) -> None:
        con = self._open(read_only=False)
        try:
            con.begin()
            con.execute(
                "CREATE TABLE IF NOT EXISTS rbyf_schema (version INTEGER NOT NULL, "
                "applied_at TIMESTAMP NOT NULL, rbyf_version VARCHAR)"
            )
            # Another process may have migrated while we waited for the lock.
            row = con.execute("SELECT coalesce(max(version), 0) FROM rbyf_schema").fetchone()
            current = int(row[0]) if row else 0
            for number in range(max(version, current) + 1, SCHEMA_VERSION + 1):
                con.execute(MIGRATIONS[number - 1])
                con.execute(
                    "INSERT INTO rbyf_schema VALUES (?, now()::TIMESTAMP, ?)",
                    [number, __version__],
                )
            con.commit()
        except duckdb.Error as exc:
            with contextlib.suppress(duckdb.Error):
                con.rollback()
            raise StoreError(f"cannot upgrade {self.path}: {_first_line(exc)}") from None
        finally:
            con.close()

    # --- using --------------------------------------------------------------------------

    @contextlib.contextmanager
    def connect(self, write: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one operation; writes run in one transaction, retried if busy."""
        self.ensure_ready()
        if write and self.read_only:
            raise StoreError(f"{self.path} is open read-only here")
        con = self._open(read_only=self.read_only)
        try:
            # A stop signal waits until the transaction is committed or rolled back.
            with shield.deferred() if write else contextlib.nullcontext():
                if write:
                    con.begin()
                yield con
                if write:
                    con.commit()
        except BaseException:
            if write:
                with contextlib.suppress(duckdb.Error):
                    con.rollback()
            raise
        finally:
            con.close()

    def write(self, fn: Any, *args: Any) -> Any:
        """Run fn(con, *args) in a write transaction, retrying on a conflict with another writer."""
        deadline = time.monotonic() + self.wait_s
        delay = 0.01
        while True:
            try:
                with self.connect(write=True) as con:
                    return fn(con, *args)
            except duckdb.Error as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise StoreError(f"cannot write to {self.path}: {_first_line(exc)}") from None
                time.sleep(delay)
                delay = min(delay * 1.6, 0.25)

    def read(self, fn: Any, *args: Any) -> Any:
        with self.connect(write=False) as con:
            try:
                return fn(con, *args)
            except duckdb.Error as exc:
                raise StoreError(f"cannot read {self.path}: {_first_line(exc)}") from None

"""Opening the DuckDB file: waiting out other rbyf processes, or holding it while in use.

DuckDB lets one process write a file at a time, and a writer also shuts out readers. By
default rbyf never holds the file open between operations: each one connects, works,
closes, and a process that finds the file busy retries with backoff before giving up with a
message naming the process that holds it.

Opening a file costs 15-25 ms (and closing a written one a checkpoint), too much for a
rating in a large file, so a long-running process (the app) may keep one connection open
(`keep_open`). It lets go as soon as another rbyf process wants the file: a process that
finds the file busy touches `<db>.wait` on each retry, and the holder, which looks for that
file every 50 ms and after each operation, closes its connection when no operation is
using it and works with short-lived connections while the requests keep coming (for
REQUEST_FRESH_S after the last one). It also lets go after IDLE_RELEASE_S without any
operation, so that other tools get in too, and when the process exits. Every write is
committed (and its log synced) before it returns, held connection or not, so a kill -9
loses nothing committed.
"""

from __future__ import annotations

import atexit
import contextlib
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from rbyf_tui import __version__, stop_signals
from rbyf_tui.errors import StoreError
from rbyf_tui.store.schema import MIGRATIONS, SCHEMA_VERSION

LOCK_RE = re.compile(r"Conflicting lock is held in (?P<proc>.+?) \(PID (?P<pid>\d+)\)")
# Another process holds the file, or another transaction wrote what this one writes: DuckDB
# lets the later of two overlapping transactions fail (an update of the same column of a
# row, a delete of the same row), which the threads of one process meet when they write
# through cursors of one held connection (keep_open). Retried until wait_s runs out.
CONFLICT_MARKERS = ("Could not set lock", "Conflicting lock", "Transaction conflict",
                    "Catalog write-write conflict", "Conflict on update",
                    "Conflict on tuple deletion")
DUPLICATE_TRIES = 3  # a duplicate key found while writing: tries before it is bad data
DEFAULT_WAIT_S = 20.0
REQUEST_SUFFIX = ".wait"  # touched by a process waiting for the file (see above)
REQUEST_FRESH_S = 1.0     # a request this recent is live; waiters touch it every <= 0.25 s
KEEPER_POLL_S = 0.05      # how often a holder looks for a request while idle
IDLE_RELEASE_S = 60.0     # a holder lets go after this long without an operation
CLOSE_WAIT_S = 10.0       # close waits this long for operations still using the file

# Databases holding a connection now: released at exit, and when this process opens the
# same file with another configuration (DuckDB refuses that while the file is open here).
_holding: set[Database] = set()
_holding_lock = threading.Lock()
_asked: set[Path] = set()  # request files this process touched, removed at exit


def _is_busy(exc: Exception) -> bool:
    """Another writer's doing: worth waiting for (see CONFLICT_MARKERS)."""
    text = str(exc)
    if any(marker in text for marker in CONFLICT_MARKERS):
        return True
    # Both inserted a key; the other committed first, so this commit fails.
    return (isinstance(exc, duckdb.TransactionException) and "Failed to commit" in text
            and "constraint violation" in text)


def _is_duplicate(exc: Exception) -> bool:
    """A duplicate key found by a statement: bad data, or a key another transaction
    committed after this one began (the next try sees it). Only a few tries tell which."""
    return isinstance(exc, duckdb.ConstraintException) and "duplicate key" in str(exc).lower()


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return re.sub(r"^[A-Za-z ]+Error: ", "", text)


class Database:
    """One DuckDB file; `connect()` gives a connection for one operation: a short-lived one,
    or with keep_open a cursor of the connection held between operations."""

    def __init__(self, path: Path, *, read_only: bool = False,
                 wait_s: float = DEFAULT_WAIT_S, keep_open: bool = False,
                 idle_s: float = IDLE_RELEASE_S) -> None:
        self.path = Path(path)
        self.read_only = read_only
        self.wait_s = wait_s
        self.keep_open = keep_open
        self.idle_s = idle_s
        self.request_path = self.path.with_name(self.path.name + REQUEST_SUFFIX)
        self._ready = False
        self._ready_lock = threading.Lock()
        # The held connection (keep_open): operations use cursors of it, counted in _users.
        self._hold_lock = threading.Lock()
        self._held: duckdb.DuckDBPyConnection | None = None
        self._users = 0
        self._last_used = 0.0
        self._keeper: threading.Thread | None = None

    # --- opening ------------------------------------------------------------------------

    def _open(self, read_only: bool, *, other_config_waits: bool = True,
              ) -> duckdb.DuckDBPyConnection:
        """Connect, waiting out other processes; other_config_waits: also wait while this
        process has the file open the other way (read-only vs read-write), which DuckDB
        refuses, rather than failing at once."""
        deadline = time.monotonic() + self.wait_s
        delay = 0.01
        while True:
            try:
                return duckdb.connect(str(self.path), read_only=read_only)
            except duckdb.Error as exc:
                if "different configuration" in str(exc) and other_config_waits:
                    # Open here the other way: let go of a held connection, or wait for
                    # the operation using it to end.
                    if time.monotonic() >= deadline:
                        raise StoreError(self._busy_message(exc)) from None
                    _release_here(self.path)
                    time.sleep(delay)
                    delay = min(delay * 1.6, 0.25)
                    continue
                if not _is_busy(exc):
                    raise StoreError(
                        f"{self.path} cannot be opened as an rbyf database ({_first_line(exc)}): "
                        "point --db at another file; this one was left untouched"
                    ) from None
                if time.monotonic() >= deadline:
                    raise StoreError(self._busy_message(exc)) from None
                self._ask_holder()
                time.sleep(delay)
                delay = min(delay * 1.6, 0.25)

    def _ask_holder(self) -> None:
        """Ask an rbyf process holding the file to let go of it (see the module docstring).
        The request stays until this process exits: a holder honours it for
        REQUEST_FRESH_S after the last touch, which leaves room for this process's next
        operations."""
        with contextlib.suppress(OSError):  # a read-only folder: the holder lets go when idle
            self.request_path.touch()
            _asked.add(self.request_path)

    def _requested(self) -> bool:
        try:
            return time.time() - self.request_path.stat().st_mtime < REQUEST_FRESH_S
        except OSError:
            return False

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
            # A newer file must not be touched: read-only, unless open read-write here.
            con = self._open(read_only=True, other_config_waits=False)
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

    def _checkout(self) -> tuple[duckdb.DuckDBPyConnection, bool]:
        """A connection for one operation, and whether it is a cursor of the held one."""
        if self.keep_open:
            with self._hold_lock:
                if self._held is not None:
                    self._users += 1
                    return self._held.cursor(), True
        con = self._open(read_only=self.read_only)
        if self.keep_open and not self._requested():
            with self._hold_lock:
                if self._held is None:
                    self._held = con
                    self._users += 1
                    with _holding_lock:
                        _holding.add(self)
                    if self._keeper is None:
                        self._keeper = threading.Thread(target=self._keep, daemon=True,
                                                        name="rbyf-db-keeper")
                        self._keeper.start()
                    return con.cursor(), True
        return con, False

    def _checkin(self, con: duckdb.DuckDBPyConnection, shared: bool) -> None:
        con.close()
        if not shared:
            return
        with self._hold_lock:
            self._users -= 1
            self._last_used = time.monotonic()
        if self._requested():
            self.release()  # someone waits: let them in now rather than at the next poll

    def _keep(self) -> None:
        """Let go of the held connection when asked or idle; ends when nothing is held."""
        while True:
            time.sleep(KEEPER_POLL_S)
            with self._hold_lock:
                if self._held is None:
                    self._keeper = None
                    return
                idle = (self._users == 0
                        and time.monotonic() - self._last_used >= self.idle_s)
            if idle or self._requested():
                self.release()

    def release(self) -> bool:
        """Close the held connection unless an operation is using it; True if none is held.
        The next operation opens the file again (and holds it, if keep_open)."""
        with self._hold_lock:
            if self._held is None:
                return True
            if self._users:
                return False
            held, self._held = self._held, None
            with _holding_lock:
                _holding.discard(self)
            held.close()  # the last connection here: DuckDB checkpoints and unlocks the file
        return True

    def close(self, wait_s: float = CLOSE_WAIT_S) -> None:
        """Stop holding the file: wait (bounded) for operations using the held connection,
        then let go. Later operations open and close their own connection, so the file is
        free as soon as the caller is done with it."""
        self.keep_open = False
        deadline = time.monotonic() + wait_s
        while not self.release() and time.monotonic() < deadline:
            time.sleep(0.01)

    @property
    def holding(self) -> bool:
        return self._held is not None

    @contextlib.contextmanager
    def connect(self, write: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection for one operation; writes run in one transaction, retried if busy."""
        self.ensure_ready()
        if write and self.read_only:
            raise StoreError(f"{self.path} is open read-only here")
        con, shared = self._checkout()
        try:
            # A stop signal waits until the transaction is committed or rolled back.
            with stop_signals.deferred() if write else contextlib.nullcontext():
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
            self._checkin(con, shared)

    def write(self, fn: Any, *args: Any) -> Any:
        """Run fn(con, *args) in a write transaction, retrying on a conflict with another
        writer (fn runs again from the start, in a new transaction)."""
        deadline = time.monotonic() + self.wait_s
        delay = 0.01
        duplicates = 0
        while True:
            try:
                with self.connect(write=True) as con:
                    return fn(con, *args)
            except duckdb.Error as exc:
                duplicates += _is_duplicate(exc)
                again = _is_busy(exc) or 0 < duplicates < DUPLICATE_TRIES
                if not again or time.monotonic() >= deadline:
                    raise StoreError(f"cannot write to {self.path}: {_first_line(exc)}") from None
                time.sleep(delay)
                delay = min(delay * 1.6, 0.25)

    def read(self, fn: Any, *args: Any) -> Any:
        with self.connect(write=False) as con:
            try:
                return fn(con, *args)
            except duckdb.Error as exc:
                raise StoreError(f"cannot read {self.path}: {_first_line(exc)}") from None


def _release_here(path: Path) -> bool:
    """Let go of this process's held connections to `path`; True if there were any."""
    with _holding_lock:
        holders = [db for db in _holding if db.path.resolve() == path.resolve()]
    for db in holders:
        db.release()
    return bool(holders)


@atexit.register
def _release_all() -> None:
    """Close held connections at exit, so the file is checkpointed and its log removed;
    remove this process's requests."""
    with _holding_lock:
        holders = list(_holding)
    for db in holders:
        with contextlib.suppress(Exception):
            db.release()
    for request in list(_asked):
        with contextlib.suppress(OSError):
            request.unlink()

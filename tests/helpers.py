"""Small builders shared by tests."""

from __future__ import annotations

import inspect
import itertools
import queue
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, TypeVar

import duckdb
import pytest

from rbyf_tui import catalog as catalogs
from rbyf_tui.catalog import Catalog
from rbyf_tui.runner import Runner
from rbyf_tui.store import Store

from fakes import ScriptedBackend

if TYPE_CHECKING:
    from textual.pilot import Pilot

T = TypeVar("T")

MINI = '''name = "mini"
version = "1"

[defaults]
max_tokens = 64

[rubric]
0 = "zero"
1 = "one"
2 = "two"
3 = "three"
4 = "four"
5 = "five"

[warmup]
key = "warm"
prompt = "Say hi."

[[tasks]]
key = "a"
title = "Task A"
prompt = "First task."

[[tasks]]
key = "b"
title = "Task B"
prompt = "Second task."
'''


# A task the demo model answers at length, the same way every time: with this seed and
# sampling it writes past 1,200 tokens without ending, so an answer capped below that is
# still streaming when a test stops it (its length is never luck).
STORY = """prompt = "Write a 1000-word story about a lighthouse keeper and the sea, in many chapters."
temperature = 0.8
seed = 1
"""


def with_story(catalog: str, key: str, max_tokens: int, short: int = 12) -> str:
    """A catalog (TOML text) whose task `key` is the long story, capped at `max_tokens`,
    and whose other answers are `short`."""
    lines = catalog.replace("max_tokens = 64", f"max_tokens = {short}").splitlines()
    at = lines.index(f'key = "{key}"')
    end = next(i for i in range(at, len(lines)) if lines[i].startswith("prompt = "))
    lines[end:end + 1] = [*STORY.splitlines(), f"max_tokens = {max_tokens}"]
    return "\n".join(lines) + "\n"


def mini_catalog() -> Catalog:
    return catalogs.parse(MINI, "mini.toml")


def new_runner(db: Path, backend: ScriptedBackend | None = None,
               catalog: Catalog | None = None, **kwargs: object) -> Runner:
    store = Store(db)
    backend = backend or ScriptedBackend()
    backend.load()
    return Runner.new_session(store, backend, catalog or mini_catalog(), settings={"x": 1},
                              rater="tester", origin="run", **kwargs)  # type: ignore[arg-type]


def fixed_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids 0, 1, 2, ... instead of random ones, so that snapshots stay the same. The count
    leads (00000001000...): ids differ in their first 8 digits, as random ones do, so the
    screens show them short (store.ids)."""
    counter = itertools.count()
    monkeypatch.setattr("rbyf_tui.store.writes.new_id",
                        lambda length=32: f"{next(counter):08x}".ljust(length, "0"))


def fixed_times(store: Store) -> None:
    """Every session, model and rating at one moment, so that snapshots stay the same."""
    store.db.write(lambda con: (
        con.execute("UPDATE sessions SET created_at = '2026-01-02 03:04:00', "
                    "updated_at = '2026-01-02 03:04:00'"),
        con.execute("UPDATE models SET last_used = '2026-01-02 03:04:00'"),
        con.execute("UPDATE ratings SET created_at = '2026-01-02 03:05:00'")))


class Child:
    """A subprocess whose output is read on side threads, so that every wait on it has a
    deadline and fails saying what it waited for. As a context manager it kills the
    process on the way out, so a failed test leaves nothing running."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.out: list[str] = []  # every stdout line so far
        self.err: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._pumps = [
            threading.Thread(target=self._pump, args=(proc.stdout, self.out, self._lines),
                             daemon=True),
            threading.Thread(target=self._pump, args=(proc.stderr, self.err, None),
                             daemon=True)]
        for pump in self._pumps:
            pump.start()

    @staticmethod
    def _pump(stream: IO[str] | None, into: list[str],
              lines: queue.Queue[str | None] | None) -> None:
        for line in stream or ():
            into.append(line)
            if lines is not None:
                lines.put(line)
        if lines is not None:
            lines.put(None)

    def __enter__(self) -> Child:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()

    def wait_line(self, prefix: str, timeout: float = 300) -> str:
        """The next stdout line starting with `prefix`."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"no line starting {prefix!r} within {timeout:.0f} s; stdout ends "
                    f"{''.join(self.out)[-1000:]!r}") from None
            if line is None:
                raise AssertionError(f"the process ended before a line starting {prefix!r}: "
                                     f"{''.join(self.err)[-2000:]}")
            if line.startswith(prefix):
                return line

    def finish(self, timeout: float = 60) -> tuple[str, str]:
        """Wait for the exit: (stdout, stderr), whole."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError(f"the process did not exit within {timeout:.0f} s") from None
        for pump in self._pumps:
            pump.join(timeout=timeout)
        return "".join(self.out), "".join(self.err)


def described(check: Callable[[], object]) -> str:
    """The source of a check (a lambda), for the message when a wait runs out."""
    try:
        return inspect.getsource(check).strip()
    except (OSError, TypeError):
        return repr(check)


def poll(check: Callable[[], T], what: str = "", timeout: float = 120,
         every: float = 0.1) -> T:
    """`check()` once it is truthy; an AssertionError saying what was awaited at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for "
                                 f"{what or described(check)}")
        time.sleep(every)


async def until(pilot: Pilot[Any], check: Callable[[], object], what: str = "",
                timeout: float = 60) -> None:
    """Let the app run until check() holds; an AssertionError at the deadline."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for "
                                 f"{what or described(check)}")
        await pilot.pause(0.05)


def wait_checkpoint(db: Path, timeout: float = 120) -> dict[str, Any]:
    """The running answer (id, task_key, response) once its partial text is in the DB:
    it has streamed for a checkpoint interval at least, and is streaming still."""

    def checkpointed() -> dict[str, Any] | None:
        try:
            con = duckdb.connect(str(db), read_only=True)
        except duckdb.Error as exc:  # not created yet, or the writer holds it a moment
            assert "lock" in str(exc).lower() or not db.exists(), exc
            return None
        try:
            row = con.execute("SELECT id, task_key, response FROM generations "
                              "WHERE status = 'running' AND response <> ''").fetchone()
        finally:
            con.close()
        return dict(zip(("id", "task_key", "response"), row, strict=True)) if row else None

    return poll(checkpointed, "a checkpoint of the running answer", timeout)


def rows(db: Path, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
    """A query's rows as dicts, read-only (the file must not be held by this process)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()

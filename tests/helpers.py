"""Small builders shared by tests."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from rbyf_tui import catalog as catalogs
from rbyf_tui.catalog import Catalog
from rbyf_tui.runner import Runner
from rbyf_tui.store import Store

from fakes import ScriptedBackend

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
    """Ids 0, 1, 2, ... instead of random ones, so that snapshots stay the same."""
    counter = itertools.count()
    monkeypatch.setattr("rbyf_tui.store.writes.new_id",
                        lambda length=32: f"{next(counter):0{length}x}")


def fixed_times(store: Store) -> None:
    """Every session, model and rating at one moment, so that snapshots stay the same."""
    store.db.write(lambda con: (
        con.execute("UPDATE sessions SET created_at = '2026-01-02 03:04:00', "
                    "updated_at = '2026-01-02 03:04:00'"),
        con.execute("UPDATE models SET last_used = '2026-01-02 03:04:00'"),
        con.execute("UPDATE ratings SET created_at = '2026-01-02 03:05:00'")))

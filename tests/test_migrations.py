"""Upgrading a DB written by an older rbyf counts every rating it holds."""

from __future__ import annotations

from pathlib import Path

import duckdb

from rbyf_tui import ranking
from rbyf_tui.store import Store
from rbyf_tui.store.schema import MIGRATIONS, SCHEMA_VERSION

from helpers import new_runner


def test_the_ratings_of_a_schema_1_db_count_after_the_upgrade(tmp_path: Path) -> None:
    # A v1 file with a rated session, as the first rbyf wrote it.
    source = tmp_path / "new.duckdb"
    runner = new_runner(source)
    for task in runner.catalog.all_tasks():
        runner.run_task(task)
    states = runner.store.task_states(runner.session_id)
    for key, score in (("warm", 1), ("a", 2), ("a", 4), ("b", 5)):
        runner.store.rate(states[key].id, score)
    old = tmp_path / "old.duckdb"
    con = duckdb.connect(str(old))
    con.execute(MIGRATIONS[0])
    con.execute("CREATE TABLE rbyf_schema (version INTEGER NOT NULL, applied_at TIMESTAMP "
                "NOT NULL, rbyf_version VARCHAR)")
    con.execute("INSERT INTO rbyf_schema VALUES (1, now()::TIMESTAMP, '0.1.0')")
    con.execute(f"ATTACH '{source}' AS src (READ_ONLY)")
    for table in ("models", "catalogs", "sessions", "generations", "ratings"):
        # The v1 columns only: later migrations added some.
        cols = ", ".join(d[0] for d in con.execute(f"SELECT * FROM {table} LIMIT 0").description)
        con.execute(f"INSERT INTO {table} SELECT {cols} FROM src.{table}")
    con.close()

    store = Store(old)
    standing = ranking.leaderboard(store)[0]
    assert (standing.n_rated, standing.total) == (2, 9)
    con = duckdb.connect(str(old), read_only=True)
    assert con.execute("SELECT max(version) FROM rbyf_schema").fetchone() == (SCHEMA_VERSION,)
    counted = con.execute("SELECT task_key, all_raters, rater, score FROM counted "
                          "ORDER BY ALL").fetchall()
    con.close()
    assert counted == [("a", False, "tester", 4), ("a", True, "", 4), ("b", False, "tester", 5),
                       ("b", True, "", 5)]

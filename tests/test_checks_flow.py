"""Checks from the runner to the DB and out again: stored with each answer, exported, shown
in compare, summed into the leaderboard's pass rate; and tables that line up wide text."""

from __future__ import annotations

import csv
import io
import json
import threading
from pathlib import Path

import duckdb
import pytest

from rbyf_tui import answers, checks, ranking
from rbyf_tui import catalog as catalogs
from rbyf_tui.commands.common import cell_width, fit, table
from rbyf_tui.commands.run import progress_line
from rbyf_tui.store import Store

from conftest import run_cli
from fakes import ScriptedBackend
from helpers import MINI, new_runner

CHECKED = (MINI
           .replace('prompt = "Say hi."', 'prompt = "Say hi."\nchecks = { sentences = 1 }')
           .replace('prompt = "First task."',
                    'prompt = "First task."\nchecks = { sentences = 1, contains = "yes" }'))


def checked_catalog() -> catalogs.Catalog:
    return catalogs.parse(CHECKED, "checked.toml")


def test_the_runner_stores_the_checks_with_the_answer(tmp_path: Path) -> None:
    backend = ScriptedBackend(["Hi there.", "Yes it is. And more.", "No checks here"])
    runner = new_runner(tmp_path / "db.duckdb", backend, catalog=checked_catalog())
    warm, a, b = (runner.run_task(task) for task in runner.catalog.all_tasks())
    assert [r.line for r in warm.checks] == ["sentences 1, target 1"]
    assert [(r.kind, r.passed, r.line) for r in a.checks] == [
        ("sentences", False, "sentences 2, target 1"), ("contains", True, 'contains "yes"')]
    assert b.checks == ()

    row = runner.store.generation(a.generation_id)
    assert checks.from_json(row["checks"]) == list(a.checks)
    assert (row["checks_passed"], row["checks_total"]) == (1, 2)
    row = runner.store.generation(b.generation_id)
    assert (row["checks"], row["checks_passed"], row["checks_total"]) == (None, None, None)
    # What the session and compare screens read carries them too.
    state = runner.store.task_states(runner.session_id)["a"]
    assert checks.from_json(state.checks) == list(a.checks)
    assert answers.answer(runner.store, a.generation_id).checks == a.checks
    assert answers.answer(runner.store, b.generation_id).checks == ()


def test_a_cancelled_answer_is_checked_on_all_its_text(tmp_path: Path) -> None:
    answer = "Yes. " + " ".join(f"w{n}." for n in range(50))
    runner = new_runner(tmp_path / "db.duckdb", ScriptedBackend([answer], delay_s=0.002),
                        catalog=checked_catalog())
    cancel = threading.Event()
    seen: list[str] = []

    def on_text(text: str) -> None:
        seen.append(text)
        if len(seen) == 6:
            cancel.set()

    outcome = runner.run_task(runner.catalog.task("a"), cancel, on_text)
    assert outcome.status == "cancelled" and outcome.response == "".join(seen)
    assert outcome.checks == tuple(checks.run(runner.catalog.task("a"), outcome.response))
    assert outcome.checks[0].measured == 6  # "Yes." and five more, all it said
    stored = runner.store.generation(outcome.generation_id)
    assert stored["response"] == outcome.response
    assert checks.from_json(stored["checks"]) == list(outcome.checks)


def test_failed_answers_and_broken_checks_store_no_checks(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    runner = new_runner(tmp_path / "db.duckdb", ScriptedBackend(fail_on=["First task."]),
                        catalog=checked_catalog())
    failed = runner.run_task(runner.catalog.task("a"))
    assert failed.status == "error" and failed.checks == ()
    assert runner.store.generation(failed.generation_id)["checks"] is None

    def broken(task: object, text: str) -> list[checks.CheckResult]:
        raise RuntimeError("a bug in a check")

    monkeypatch.setattr(checks, "run", broken)
    kept = runner.run_task(runner.catalog.task("warm"))
    assert kept.status == "ok" and kept.checks == ()  # the answer is kept all the same
    row = runner.store.generation(kept.generation_id)
    assert row["response"] == kept.response and row["checks"] is None


def rated_session(db: Path, model: str, answers: list[str], scores: dict[str, int]) -> str:
    runner = new_runner(db, ScriptedBackend(answers, model=model), catalog=checked_catalog())
    for task in runner.catalog.all_tasks():
        outcome = runner.run_task(task)
        if task.key in scores:
            runner.store.rate(outcome.generation_id, scores[task.key], "fine")
    return runner.session_id


def test_checks_are_exported_in_every_format(tmp_path: Path, rbyf_home: Path) -> None:
    db = tmp_path / "db.duckdb"
    session = rated_session(db, "m1", ["Hi.", "Yes it is. And more.", "Plain"],
                            {"a": 3, "b": 4})

    text = run_cli("export", "--db", str(db), "--session", session, "--format", "csv",
                   home=rbyf_home).stdout
    rows = {r["task_key"]: r for r in csv.DictReader(io.StringIO(text, newline=""))}
    assert [c["line"] for c in json.loads(rows["a"]["checks"])] == [
        "sentences 2, target 1", 'contains "yes"']
    assert (rows["a"]["checks_passed"], rows["a"]["checks_total"]) == ("1", "2")
    assert (rows["b"]["checks"], rows["b"]["checks_total"]) == ("", "")

    lines = run_cli("export", "--db", str(db), "--session", session, "--format", "jsonl",
                    home=rbyf_home).stdout.splitlines()
    records = {r["task_key"]: r for r in map(json.loads, lines)}
    assert records["a"]["checks"][0] == {"kind": "sentences", "passed": False, "measured": 2,
                                         "target": "1", "line": "sentences 2, target 1"}
    assert records["warm"]["checks_passed"] == 1 and records["b"]["checks"] is None

    md = run_cli("export", "--db", str(db), "--session", session, "--format", "md",
                 home=rbyf_home).stdout
    assert "**Checks** (1 of 2 passed; hints, not part of the score):" in md
    assert "- ✗ sentences 2, target 1\n- ✓ contains \"yes\"" in md
    assert md.count("**Checks**") == 2  # the warm-up and task a; b declares none

    parquet = tmp_path / "out.parquet"
    result = run_cli("export", "--db", str(db), "--all", "--format", "parquet", "--out",
                     str(parquet), home=rbyf_home)
    assert result.returncode == 0, result.stderr
    back = dict(duckdb.sql(f"SELECT task_key, checks_total FROM '{parquet}'").fetchall())
    assert back == {"warm": 1, "a": 2, "b": None}


def test_the_leaderboard_shows_the_pass_rate_of_the_counted_answers(tmp_path: Path,
                                                                   rbyf_home: Path) -> None:
    db = tmp_path / "db.duckdb"
    # good passes both checks of task a; poor passes one; the warm-up never counts.
    rated_session(db, "good", ["Hi. Hi.", "Yes.", "x"], {"a": 4, "b": 4})
    rated_session(db, "poor", ["Hi.", "No. Not at all.", "x"], {"a": 2, "b": 5})
    store = Store(db)
    rates = {s.model: (s.check_pass_rate, s.checks_total) for s in ranking.leaderboard(store)}
    assert rates == {"good": (1.0, 2), "poor": (0.0, 2)}

    # A new attempt, rated, is what counts now: its checks replace the old ones.
    runner = new_runner(db, ScriptedBackend(["Yes, fixed."], model="poor"),
                        catalog=checked_catalog())
    store.rate(runner.run_task(runner.catalog.task("a")).generation_id, 3)
    poor = next(s for s in ranking.leaderboard(store) if s.model == "poor")
    assert (poor.check_pass_rate, poor.checks_total) == (1.0, 2)
    rated_session(db, "half", ["Hi.", "Yes. Two.", "x"], {"a": 1})
    half = next(s for s in ranking.leaderboard(store) if s.model == "half")
    assert half.check_pass_rate == 0.5

    board = json.loads(run_cli("leaderboard", "--db", str(db), "--format", "json",
                               home=rbyf_home).stdout)
    assert {e["model"]: e["check_pass_rate"] for e in board} == {
        "good": 1.0, "poor": 1.0, "half": 0.5}
    text = run_cli("leaderboard", "--db", str(db), "--format", "csv", home=rbyf_home).stdout
    assert {r["model"]: r["check_pass_rate"] for r in csv.DictReader(io.StringIO(text))} == {
        "good": "1.0", "poor": "1.0", "half": "0.5"}
    lines = run_cli("leaderboard", "--db", str(db), home=rbyf_home).stdout.splitlines()
    assert "checks" in lines[0].split()
    half_line = next(line for line in lines if " half " in line)
    assert " 50% " in half_line

    # A model whose answers had no checks shows none, not 0%.
    plain = new_runner(tmp_path / "plain.duckdb", ScriptedBackend(["x"], model="plain"))
    plain.store.rate(plain.run_task(plain.catalog.task("a")).generation_id, 5)
    assert [s.check_pass_rate for s in ranking.leaderboard(plain.store)] == [None]
    # Several files read as one compute the same rates.
    both = json.loads(run_cli("leaderboard", "--db", str(db), "--db",
                              str(tmp_path / "plain.duckdb"), "--format", "json",
                              home=rbyf_home).stdout)
    assert {e["model"]: e["check_pass_rate"] for e in both} == {
        "good": 1.0, "poor": 1.0, "half": 0.5, "plain": None}


def column_starts(line: str, tokens: list[str]) -> list[int]:
    """The terminal column where each token starts in the line."""
    return [cell_width(line[:line.index(token)]) for token in tokens]


def test_tables_line_up_wide_characters() -> None:
    assert [cell_width(s) for s in ("abc", "生鱼片", "🚀x", "e\u0301", "a\u200bb")] == [
        3, 6, 3, 1, 2]
    text = table(["model", "catalog", "rated"],
                 [["千问-模型", "rbyf-zh", 1], ["🚀 rocket", "rbyf-v2", 22],
                  ["plain", "中文目录", 333]], right=[2])
    lines = text.splitlines()
    # The last column is right-aligned: every line ends at the same terminal column.
    assert len({cell_width(line) for line in lines}) == 1, text
    assert column_starts(lines[0], ["catalog"]) == column_starts(lines[2], ["rbyf-zh"]) == (
        column_starts(lines[4], ["中文目录"]))
    assert cell_width(lines[1]) == cell_width(lines[0])  # the rule spans the columns


def test_sessions_and_leaderboard_tables_line_up_cjk_model_names(tmp_path: Path,
                                                                 rbyf_home: Path) -> None:
    db = tmp_path / "db.duckdb"
    rated_session(db, "通义千问-小模型", ["Hi.", "Yes.", "x"], {"a": 4, "b": 3})
    rated_session(db, "plain-model", ["Hi.", "Yes.", "x"], {"a": 5})
    lines = run_cli("sessions", "--db", str(db), home=rbyf_home).stdout.splitlines()
    cjk = next(line for line in lines if "通义千问" in line)
    plain = next(line for line in lines if "plain-model" in line)
    assert column_starts(lines[0], ["catalog"]) == column_starts(cjk, ["mini"]) == (
        column_starts(plain, ["mini"]))
    assert cell_width(cjk) == cell_width(plain)  # and so on to the last column
    lines = run_cli("leaderboard", "--db", str(db), home=rbyf_home).stdout.splitlines()
    cjk = next(line for line in lines if "通义千问" in line)
    plain = next(line for line in lines if "plain-model" in line)
    assert column_starts(lines[0], ["catalog"]) == column_starts(cjk, ["mini"]) == (
        column_starts(plain, ["mini"]))
    assert cell_width(cjk) == cell_width(plain)  # right-aligned figures end together


def test_run_progress_lines_count_checks_and_align_wide_titles(tmp_path: Path) -> None:
    text = CHECKED.replace('title = "Task A"', 'title = "生鱼片是死鱼片吗：一个很长的中文标题，超过三十四列"')
    runner = new_runner(tmp_path / "db.duckdb", ScriptedBackend(["Yes. Two."]),
                        catalog=catalogs.parse(text, "zh.toml"))
    lines = [progress_line(n, 3, runner.run_task(task))
             for n, task in enumerate(runner.catalog.all_tasks(), start=1)]
    assert lines[1].endswith("checks 1/2") and lines[0].endswith("checks 0/1")
    assert "checks" not in lines[2]  # task b declares none
    assert len({column_starts(line, ["ok"])[0] for line in lines}) == 1, lines
    assert fit("生鱼片", 5) == "生鱼 " and fit("ab", 4) == "ab  "

"""`rbyf import` and `rbyf leaderboard` as a user runs them: subprocesses, a real DB file."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from conftest import LEGACY, assert_one_line_error, run_cli

FILES = sorted(str(p) for p in LEGACY.iterdir())


def board(db: Path, *extra: str) -> list[dict[str, object]]:
    result = run_cli("leaderboard", "--db", str(db), "--format", "json", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_import_every_fixture_then_the_leaderboard(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    result = run_cli("import", "--db", str(db), *FILES)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert any(line.startswith("imported Qwen2.5-1.5B-it_CPP_YWDAB.csv + "
                               "Qwen2.5-1.5B-it_CPP_YWDAB_log.txt: session ") and
               line.endswith("model qwen2.5-1.5b-instruct-q5_k_m, 14 of 14 tasks rated, "
                             "total 57/70") for line in lines), lines
    assert any(line.endswith("13 of 14 tasks rated, total 44/65") for line in lines)
    assert "  not in this run: \"say 'I am ready'\"" in lines
    entries = board(db)
    assert [(e["model"], e["n_rated"], e["total"], e["rank"]) for e in entries] == [
        ("gemma-2-2b-it-q5_k_m", 14, 70, 1), ("Llama-3.2-3B-Instruct", 14, 69, 1),
        ("qwen2.5-1.5b-instruct-q5_k_m", 14, 57, 2), ("Llama-3.2-1B-Instruct-Q8_0", 13, 44, 3)]
    assert list(entries[0]) == ["model", "catalog", "n_rated", "total", "mean", "ci_low",
                                "ci_high", "rank", "median_ttft_s", "median_prompt_tps",
                                "median_decode_tps", "n_tasks", "check_pass_rate",
                                "median_reasoning_s"]
    assert entries[0]["check_pass_rate"] is None  # the old scripts' answers have no checks
    qwen = entries[2]
    assert (qwen["ci_low"], qwen["ci_high"]) == (44 / 14, 67 / 14)
    assert qwen["ci_low"] <= qwen["mean"] <= qwen["ci_high"]
    assert entries[1]["median_ttft_s"] is None  # a CSV alone has no figures

    table = run_cli("leaderboard", "--db", str(db)).stdout.splitlines()
    assert table[0].split() == ["rank", "model", "catalog", "rated", "total", "mean", "95%",
                                "CI", "checks", "TTFT", "prompt", "t/s", "decode", "t/s"]
    assert table[4].split()[:7] == ["2", "qwen2.5-1.5b-instruct-q5_k_m", "rbyf-v2", "14/14",
                                    "57/70", "4.07", "3.14–4.79"]
    csv_lines = run_cli("leaderboard", "--db", str(db), "--format", "csv").stdout.splitlines()
    assert csv_lines[0].startswith("model,catalog,n_rated,total,mean,ci_low,ci_high,rank,")


def test_importing_again_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    assert run_cli("import", "--db", str(db), str(LEGACY)).returncode == 0
    sessions = json.loads(run_cli("sessions", "--db", str(db), "--json").stdout)
    again = run_cli("import", "--db", str(db), *FILES)
    assert again.returncode == 0, again.stderr
    lines = again.stdout.splitlines()
    assert len(lines) == 4 and all(line.startswith("already imported: ") for line in lines)
    assert {line.rsplit(" ", 1)[1] for line in lines} == {s["id"] for s in sessions}
    con = duckdb.connect(str(db), read_only=True)
    counts = con.execute("SELECT (SELECT count(*) FROM sessions), (SELECT count(*) FROM "
                         "generations), (SELECT count(*) FROM ratings)").fetchone()
    con.close()
    assert counts == (4, 58, 58)
    assert json.loads(run_cli("sessions", "--db", str(db), "--json").stdout) == sessions


def test_a_broken_file_is_one_line_and_the_rest_imports(tmp_path: Path) -> None:
    broken = tmp_path / "Broken_CPP_AAAAA.csv"
    broken.write_text("#,TASK,VOTE,REMARKS\r\n1,introduction,5,\r\n2,RAG,maybe,\r\n",
                      encoding="utf-8")
    db = tmp_path / "rbyf.duckdb"
    result = run_cli("import", "--db", str(db), str(broken), str(tmp_path / "gone.csv"), *FILES)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [
        "rbyf: Broken_CPP_AAAAA.csv:3: vote 'maybe' is not a score from 0 to 5",
        f"rbyf: {tmp_path / 'gone.csv'}: no such file or folder"]
    assert len([line for line in result.stdout.splitlines() if line.startswith("imported ")]) == 4
    assert len(board(db)) == 4


def test_the_model_name_can_be_given(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    result = run_cli("import", "--db", str(db), "--model", "qwen-2.5-1.5b (Q5_K_M)",
                     "--rater", "fabio", str(LEGACY / "Qwen2.5-1.5B-it_CPP_YWDAB.csv"))
    assert result.returncode == 0, result.stderr
    entries = board(db, "--rater", "fabio")
    assert [(e["model"], e["total"]) for e in entries] == [("qwen-2.5-1.5b (Q5_K_M)", 57)]
    assert board(db, "--rater", "someone-else") == []


def test_import_usage_errors(tmp_path: Path) -> None:
    result = run_cli("import", "--db", str(tmp_path / "x.duckdb"))
    assert result.returncode == 2
    assert result.stderr.startswith("rbyf") and "PATH" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def imported_start(db: Path) -> tuple[datetime, dict[str, Any]]:
    con = duckdb.connect(str(db), read_only=True)
    created, settings = con.execute("SELECT created_at, settings FROM sessions").fetchone()
    con.close()
    return created, json.loads(settings)["import"]


def test_a_logs_local_time_is_read_in_the_zone_of_the_machine_or_of_tz(tmp_path: Path) -> None:
    log = str(LEGACY / "Qwen2.5-1.5B-it_CPP_YWDAB_log.txt")  # starts 2024-10-01 08:33:35
    got = {}
    for name, args, env in [("berlin", [], "Europe/Berlin"),
                            ("new-york", [], "America/New_York"),
                            ("tz-wins", ["--tz", "Asia/Tokyo"], "Europe/Berlin")]:
        db = tmp_path / f"{name}.duckdb"
        result = run_cli("import", "--db", str(db), *args, log, TZ=env)
        assert result.returncode == 0, result.stderr
        got[name] = imported_start(db)
    assert got["berlin"][0] == datetime(2024, 10, 1, 6, 33, 35, 338306)  # UTC+2
    assert got["new-york"][0] == datetime(2024, 10, 1, 12, 33, 35, 338306)  # UTC-4
    assert got["tz-wins"][0] == datetime(2024, 9, 30, 23, 33, 35, 338306)  # UTC+9
    assert [(s["log_zone"], s["log_utc_offset"]) for _, s in got.values()] == [
        ("Europe/Berlin", "+0200"), ("America/New_York", "-0400"), ("Asia/Tokyo", "+0900")]


def test_a_bad_zone_is_a_usage_error(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    for zone in ("Mars/Olympus", "CEST+2", ""):
        line = assert_one_line_error(run_cli("import", "--db", str(db), "--tz", zone,
                                             str(LEGACY)), code=2)
        assert "--tz" in line and "Europe/Berlin" in line, line
    assert not db.exists()

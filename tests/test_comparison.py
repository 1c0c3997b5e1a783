"""Comparison runs with two real models: the demo model (Q4_K_M) and the same model
requantized to Q8_0 (tests/made_models.py), through `rbyf run` in subprocesses."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rbyf_tui import model_files
from rbyf_tui.backends import BackendOptions
from rbyf_tui.comparison import load_model_list
from rbyf_tui.errors import UsageError

from conftest import REPO, assert_one_line_error, cli_env, run_cli
from helpers import MINI, Child, rows, wait_checkpoint, with_story
from openai_server import serving

pytestmark = [pytest.mark.model, pytest.mark.timeout(900)]
STORY_TOKENS = 300  # task b of the kill test: long enough to be streaming when killed


def mini(tmp_path: Path, text: str = MINI) -> Path:
    path = tmp_path / "mini.toml"
    path.write_text(text, encoding="utf-8")
    return path


def linked_sessions(db: Path, comparison_id: str) -> list[dict[str, Any]]:
    return rows(db, "SELECT s.id, s.comparison_position, s.model_id, s.settings, m.name, "
                "m.quantization FROM sessions s JOIN models m ON m.id = s.model_id "
                "WHERE s.comparison_id = ? ORDER BY s.comparison_position", [comparison_id])


def generations(db: Path, session_id: str) -> list[tuple[str, str]]:
    return [(g["task_key"], g["status"]) for g in rows(
        db, "SELECT task_key, status FROM generations WHERE session_id = ? "
        "ORDER BY started_at, attempt", [session_id])]


def test_the_header_tells_each_files_quantization(demo_model: Path, q8_model: Path) -> None:
    assert model_files.quantization_of(demo_model) == "Q4_K_M"
    assert model_files.quantization_of(q8_model) == "Q8_0"
    assert model_files.quantization_of(REPO / "pyproject.toml") is None


def test_two_models_generate_into_linked_sessions_with_one_seed(
        tmp_path: Path, demo_model: Path, q8_model: Path) -> None:
    db = tmp_path / "cmp.duckdb"
    result = run_cli("run", "--db", str(db), "--model", str(demo_model), "--model",
                     str(q8_model), "--catalog", str(mini(tmp_path)), "--max-tokens", "4",
                     "--seed", "5", home=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    comparison_id = lines[-1]
    assert lines[0] == f"comparison {comparison_id}: 2 models on catalog mini, seed 5"
    assert "model 1/2: gemma-3-270m-q4_k_m" in lines
    assert "model 2/2: gemma-3-270m-it-Q8_0" in lines
    assert sum(line.startswith("  [") and " ok " in line for line in lines) == 6

    (comparison,) = rows(db, "SELECT * FROM comparisons")
    assert (comparison["id"], comparison["seed"], comparison["catalog_name"]) == (
        comparison_id, 5, "mini")
    first, second = linked_sessions(db, comparison_id)
    assert (first["comparison_position"], second["comparison_position"]) == (0, 1)
    assert (first["quantization"], second["quantization"]) == ("Q4_K_M", "Q8_0")
    assert first["model_id"] != second["model_id"]
    settings = [json.loads(s["settings"]) for s in (first, second)]
    assert [s["seed"] for s in settings] == [5, 5]
    assert [s["max_tokens"] for s in settings] == [4, 4]
    for session in (first, second):
        assert generations(db, session["id"]) == [("warm", "ok"), ("a", "ok"), ("b", "ok")]
    # the same requests: prompts and sampling agree task by task
    requests = rows(db, "SELECT g.task_key, g.prompt, g.sampling, s.comparison_position "
                    "FROM generations g JOIN sessions s ON s.id = g.session_id "
                    "ORDER BY g.task_key, s.comparison_position")
    for one, other in zip(requests[::2], requests[1::2], strict=True):
        assert (one["prompt"], one["sampling"]) == (other["prompt"], other["sampling"])

    listing = run_cli("sessions", "--db", str(db), home=tmp_path).stdout.splitlines()
    head = next(n for n, line in enumerate(listing) if "comparison of 2 models" in line)
    assert comparison_id.startswith(listing[head].split()[0])
    assert listing[head + 1].startswith("  " + first["id"][:8])
    assert "gemma-3-270m-q4_k_m (Q4_K_M, " in listing[head + 1]
    assert listing[head + 2].startswith("  " + second["id"][:8])
    assert "gemma-3-270m-it-Q8_0 (Q8_0, " in listing[head + 2]

    for session, score in ((first, "3"), (second, "4")):
        rated = run_cli("rate", "--db", str(db), "--session", session["id"], "--task", "a",
                        "--score", score, home=tmp_path)
        assert rated.returncode == 0, rated.stderr
    board = run_cli("leaderboard", "--db", str(db), home=tmp_path).stdout
    size = q8_model.stat().st_size
    assert f"gemma-3-270m-it-Q8_0 (Q8_0, {size / 1e6:.0f} MB)" in board
    assert "gemma-3-270m-q4_k_m (Q4_K_M, " in board

    again = run_cli("run", "--db", str(db), "--resume", comparison_id[:10], home=tmp_path)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("every task already answered") == 2
    assert len(rows(db, "SELECT id FROM generations")) == 6  # nothing generated again


def test_a_kill_during_the_second_model_resumes_only_what_is_missing(
        tmp_path: Path, demo_model: Path, q8_model: Path) -> None:
    db = tmp_path / "kill.duckdb"
    catalog = mini(tmp_path, with_story(MINI, "b", STORY_TOKENS, short=4))
    with Child(subprocess.Popen(
            [sys.executable, "-m", "rbyf_tui", "run", "--db", str(db), "--model",
             str(demo_model), "--model", str(q8_model), "--catalog", str(catalog),
             "--seed", "1"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=REPO, env=cli_env(tmp_path))) as child:
        comparison_id = child.wait_line("comparison ").split()[1].rstrip(":")
        child.wait_line("model 2/2: ")
        child.wait_line("  [2/3]")
        assert wait_checkpoint(db)["task_key"] == "b"  # the Q8_0 model's story streams
        os.kill(child.proc.pid, signal.SIGKILL)
        child.finish()
    first, second = linked_sessions(db, comparison_id)
    done_first = generations(db, first["id"])
    assert done_first == [("warm", "ok"), ("a", "ok"), ("b", "ok")]

    result = run_cli("run", "--db", str(db), "--resume", comparison_id, "--max-tokens", "8",
                     home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "model 1/2 done: gemma-3-270m-q4_k_m: every task already answered" in result.stdout
    assert "model 2/2: gemma-3-270m-it-Q8_0 (going on)" in result.stdout
    assert "model 2/2 done: gemma-3-270m-it-Q8_0: 1 answer;" in result.stdout
    assert result.stdout.splitlines()[-1] == comparison_id
    assert linked_sessions(db, comparison_id) == [first, second]  # no new session
    assert generations(db, first["id"]) == done_first
    assert generations(db, second["id"]) == [
        ("warm", "ok"), ("a", "ok"), ("b", "interrupted"), ("b", "ok")]


def test_a_model_that_will_not_load_leaves_the_others_running(
        tmp_path: Path, demo_model: Path) -> None:
    cut = tmp_path / "cut.gguf"
    with demo_model.open("rb") as src:
        cut.write_bytes(src.read(1 << 20))  # a GGUF header, then nothing
    listed = tmp_path / "models.toml"
    listed.write_text('[[model]]\npath = "cut.gguf"\nlabel = "cut"\n\n'
                      f'[[model]]\npath = "{demo_model}"\n', encoding="utf-8")
    db = tmp_path / "cmp.duckdb"
    result = run_cli("run", "--db", str(db), "--models", str(listed), "--catalog",
                     str(mini(tmp_path)), "--max-tokens", "4", home=tmp_path)
    line = assert_one_line_error(result, 1)
    comparison_id = result.stdout.splitlines()[-1]
    assert line == (f"rbyf: 1 of 2 models failed (cut): fix them, then go on with rbyf run "
                    f"--resume {comparison_id}")
    assert "model 1/2 failed: cut: " in result.stdout
    assert "model 2/2 done: gemma-3-270m-q4_k_m: 3 answers;" in result.stdout
    (session,) = linked_sessions(db, comparison_id)
    assert session["comparison_position"] == 1
    listing = run_cli("sessions", "--db", str(db), home=tmp_path).stdout
    assert "  -" in listing and "waiting" in listing and "cut" in listing


def test_one_model_or_the_same_file_twice_is_refused(tmp_path: Path,
                                                     demo_model: Path) -> None:
    db = tmp_path / "cmp.duckdb"
    listed = tmp_path / "one.toml"
    listed.write_text(f'[[model]]\npath = "{demo_model}"\n', encoding="utf-8")
    line = assert_one_line_error(run_cli("run", "--db", str(db), "--models", str(listed),
                                         home=tmp_path), 2)
    assert line == ("rbyf: a comparison needs at least 2 models: repeat --model (or list "
                    "them in --models FILE)")
    copy = tmp_path / "renamed.gguf"  # another name, the same bytes
    shutil.copyfile(demo_model, copy)
    line = assert_one_line_error(run_cli("run", "--db", str(db), "--model", str(demo_model),
                                         "--model", str(copy), home=tmp_path), 2)
    sha = model_files.sha256_of(demo_model)
    assert line == (f"rbyf: {demo_model.resolve()} and {copy.resolve()} are the same model "
                    f"(sha256 {sha[:12]}…): compare different models")
    assert not db.exists() or rows(db, "SELECT * FROM comparisons") == []


@pytest.mark.parametrize(("text", "message"), [
    ("[[model]\n", "invalid TOML"),
    ("[settings]\nx = 1\n", "unknown table or key 'settings': list models as [[model]] "
     "entries"),
    ("", "no [[model]] entries: add one per model"),
    ('[[model]]\npath = "a.gguf"\nsize = 3\n', "model 1: unknown key 'size' (known: label, "
     "path, base_url"),
    ('[[model]]\nlabel = "x"\n', "model 1: give either path (a .gguf file) or base_url"),
    ('[[model]]\npath = "a.gguf"\nbase_url = "http://h/v1"\n', "model 1: give either path"),
    ('[[model]]\npath = "a.gguf"\n[[model]]\npath = "b.gguf"\nthreads = "4"\n',
     "model 2: threads must be int, not '4'"),
    ('[[model]]\nbase_url = "http://h/v1"\napi_key_env = "my key"\n',
     "model 1: api_key_env names an environment variable"),
])
def test_a_bad_model_list_is_one_line_naming_the_entry(tmp_path: Path, text: str,
                                                       message: str) -> None:
    listed = tmp_path / "models.toml"
    listed.write_text(text, encoding="utf-8")
    with pytest.raises(UsageError) as caught:
        load_model_list(listed, BackendOptions())
    assert str(caught.value).startswith(f"{listed}: ")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_model_list_mixes_files_and_servers(tmp_path: Path) -> None:
    listed = tmp_path / "models.toml"
    listed.write_text('[[model]]\npath = "sub/a.gguf"\nlabel = "A"\nthreads = 2\n\n'
                      '[[model]]\nbase_url = "http://u:p@host:8080/v1"\napi_model = "m"\n'
                      'api_key_env = "MY_KEY"\n', encoding="utf-8")
    a, b = load_model_list(listed, BackendOptions(n_ctx=512))
    assert (a.label, a.options.backend, a.options.model, a.options.threads,
            a.options.n_ctx) == ("A", "llama", str(tmp_path / "sub" / "a.gguf"), 2, 512)
    assert (b.options.backend, b.options.base_url, b.options.api_model,
            b.options.api_key_env) == ("openai", "http://u:p@host:8080/v1", "m", "MY_KEY")
    assert b.to_dict()["base_url"] == "http://host:8080/v1"  # credentials are never stored


def test_a_bad_model_list_on_the_command_line(tmp_path: Path) -> None:
    listed = tmp_path / "models.toml"
    listed.write_text('[[model]]\npath = "a.gguf"\ncolour = "red"\n', encoding="utf-8")
    line = assert_one_line_error(run_cli("run", "--db", str(tmp_path / "x.duckdb"),
                                         "--models", str(listed), home=tmp_path), 2)
    assert line.startswith(f"rbyf: {listed}: model 1: unknown key 'colour'")


def test_a_served_model_takes_part_with_its_own_key(tmp_path: Path, demo_model: Path) -> None:
    listed = tmp_path / "models.toml"
    db = tmp_path / "cmp.duckdb"
    with serving() as server:
        listed.write_text(f'[[model]]\npath = "{demo_model}"\n\n[[model]]\nbase_url = '
                          f'"{server.url}"\napi_model = "fake-model"\napi_key_env = "MY_KEY"\n',
                          encoding="utf-8")
        result = run_cli("run", "--db", str(db), "--models", str(listed), "--catalog",
                         str(mini(tmp_path)), "--max-tokens", "4", "--seed", "9",
                         home=tmp_path, MY_KEY="key-from-my-variable")
        assert result.returncode == 0, result.stderr
        comparison_id = result.stdout.splitlines()[-1]
        assert f"model 2/2: fake-model at {server.url}" in result.stdout.splitlines()
        posts = [headers for method, _, headers in server.requests if method == "POST"]
        assert len(posts) == 3  # the warm-up and two tasks
        assert all(h.get("Authorization") == "Bearer key-from-my-variable" for h in posts)
        assert {body.get("seed") for body in server.bodies} == {9}
    local, remote = linked_sessions(db, comparison_id)
    assert local["model_id"].startswith("sha256:")
    assert remote["model_id"] == f"openai:{server.url}#fake-model"
    assert json.loads(remote["settings"])["seed"] == json.loads(local["settings"])["seed"] == 9
    assert generations(db, remote["id"]) == [("warm", "ok"), ("a", "ok"), ("b", "ok")]

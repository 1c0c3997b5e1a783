"""The real demo model through `rbyf run`, then rate, rank and export, checked against the DB."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from rbyf_tui import catalog as catalogs

from conftest import REPO, assert_one_line_error, cli_env, run_cli
from helpers import MINI, Child, rows, wait_checkpoint, with_story

# The module's fixture generates the whole catalog (~30 s idle, 4 min on a busy 2-core
# machine): whichever test comes first is charged with it.
pytestmark = [pytest.mark.model, pytest.mark.timeout(1200)]
MAX_TOKENS = 32
SCORES = [4, 5, 3, 5, 2, 1, 5, 4, 0, 5, 3, 4, 2, 5]  # one per rbyf-v2 task, in order


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, demo_model: Path) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("home")
    db = home / "run.duckdb"
    result = run_cli("run", "--db", str(db), "--max-tokens", str(MAX_TOKENS), "--seed", "1",
                     home=home)
    assert result.returncode == 0, result.stderr
    return {"home": home, "db": db, "result": result,
            "session": result.stdout.strip().splitlines()[-1]}


def test_the_whole_catalog_is_generated_with_a_line_per_task(run: dict[str, Any]) -> None:
    out = run["result"].stdout.splitlines()
    progress = [line for line in out if line.startswith("[")]
    assert len(progress) == 15
    assert progress[0].startswith("[ 1/15] Alignment Generation")
    assert all("decode" in line and "TTFT" in line for line in progress)
    gens = rows(run["db"], "SELECT * FROM generations WHERE session_id = ? ORDER BY started_at",
                [run["session"]])
    cat = catalogs.resolve("rbyf-v2")
    assert [g["task_key"] for g in gens] == [t.key for t in cat.all_tasks()]
    assert all(g["status"] == "ok" for g in gens), [(g["task_key"], g["error"]) for g in gens]


def test_llama_cpp_output_stays_off_the_terminal(run: dict[str, Any]) -> None:
    stderr = run["result"].stderr
    assert "llama_" not in stderr and "ggml" not in stderr, stderr
    log = run["home"] / "logs" / "llama.log"
    assert log.exists() and "llama" in log.read_text(encoding="utf-8", errors="replace")


def test_figures_are_positive_and_consistent(run: dict[str, Any]) -> None:
    gens = rows(run["db"], "SELECT * FROM generations WHERE session_id = ?", [run["session"]])
    for g in gens:
        for name in ("ttft_s", "total_s", "prompt_tps", "decode_tps", "e2e_tps",
                     "engine_prompt_tps", "engine_decode_tps"):
            assert g[name] is not None and g[name] > 0, (g["task_key"], name)
        assert g["prompt_tokens"] > 0 and 0 < g["completion_tokens"] <= MAX_TOKENS
        assert g["prompt_tiktoken"] > 0 and g["completion_tiktoken"] > 0
        assert g["total_s"] > g["ttft_s"]
        assert g["prompt_tps"] == pytest.approx(g["prompt_tokens"] / g["ttft_s"])
        assert g["decode_tps"] == pytest.approx(
            (g["completion_tokens"] - 1) / (g["total_s"] - g["ttft_s"]))
        assert g["e2e_tps"] == pytest.approx(g["completion_tokens"] / g["total_s"])
        extra = json.loads(g["extra"])
        # Each task starts from an empty KV cache: the whole prompt is evaluated.
        assert extra["engine_prompt_tokens"] == g["prompt_tokens"]
        assert extra["engine_decode_evals"] == g["completion_tokens"] - 1
    # Client-side decode speed and llama.cpp's own counter measure the same thing: over the
    # catalog they agree within a factor of 3, which only a wrong count or clock crosses
    # (how closely they agree is benchmarks/stream_overhead.py's to measure).
    ratios = [g["decode_tps"] / g["engine_decode_tps"] for g in gens]
    assert 1 / 3 < statistics.median(ratios) < 3, ratios


def test_token_counts_match_the_models_tokenizer(run: dict[str, Any],
                                                 demo_model: Path) -> None:
    from llama_cpp import Llama, llama_chat_format

    vocab = Llama(model_path=str(demo_model), vocab_only=True, verbose=False)
    gens = rows(run["db"], "SELECT * FROM generations WHERE session_id = ?", [run["session"]])
    for g in gens:
        # Gemma has no system role: the system text opens the user turn.
        user = f"{g['system']}\n\n{g['prompt']}" if g["system"] else g["prompt"]
        formatted = llama_chat_format.format_gemma(
            messages=[{"role": "user", "content": user}]).prompt
        tokens = vocab.tokenize(formatted.encode(), add_bos=True, special=True)
        assert g["prompt_tokens"] == len(tokens), g["task_key"]
        if g["finish_reason"] == "length":
            assert g["completion_tokens"] == MAX_TOKENS
        answer = len(vocab.tokenize(g["response"].encode(), add_bos=False, special=False))
        # Re-tokenizing text need not give back the sampled tokens exactly, but nearly.
        assert abs(answer - g["completion_tokens"]) <= max(3, 0.15 * g["completion_tokens"])


def test_threads_default_to_every_core(run: dict[str, Any]) -> None:
    session = rows(run["db"], "SELECT settings, hardware FROM sessions WHERE id = ?",
                   [run["session"]])[0]
    settings = json.loads(session["settings"])
    assert settings["threads"] == len(os.sched_getaffinity(0))
    assert settings["seed"] == 1 and settings["max_tokens"] == MAX_TOKENS
    assert settings["chat_format"] is None  # none asked: the gemma format came from the arch
    model = rows(run["db"], "SELECT * FROM models")[0]
    assert (model["architecture"], model["quantization"], model["chat_format"]) == (
        "gemma3", "Q4_K_M", "gemma")
    assert model["sha256"] == "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"


def test_rate_rank_and_export_agree_with_the_db(run: dict[str, Any], tmp_path: Path) -> None:
    db, home, session = run["db"], run["home"], run["session"]
    cat = catalogs.resolve("rbyf-v2")
    remarks = 'multi-line, "quoted", 生鱼片\nsecond line'
    for task, score in zip(cat.tasks, SCORES, strict=True):
        args = ["rate", "--db", str(db), "--session", session[:5], "--task", task.key,
                "--score", str(score)]
        if task.key == "rag":
            args += ["--remarks", remarks]
        result = run_cli(*args, home=home)
        assert result.returncode == 0, result.stderr
    line = assert_one_line_error(run_cli("rate", "--db", str(db), "--session", session,
                                         "--task", "nope", "--score", "1", home=home))
    assert "has no task 'nope'" in line

    sessions = json.loads(run_cli("sessions", "--db", str(db), "--json", home=home).stdout)
    mine = next(s for s in sessions if s["id"] == session)
    assert (mine["status"], mine["tasks"], mine["generated"], mine["rated"]) == (
        "complete", 14, 14, 14)

    board = json.loads(run_cli("leaderboard", "--db", str(db), "--format", "json",
                               home=home).stdout)
    assert len(board) == 1
    entry = board[0]
    assert entry["n_rated"] == 14 and entry["total"] == sum(SCORES)
    assert entry["mean"] == pytest.approx(sum(SCORES) / 14)
    gens = rows(db, "SELECT * FROM generations WHERE session_id = ? AND NOT is_warmup",
                [session])
    assert entry["median_decode_tps"] == pytest.approx(
        statistics.median(g["decode_tps"] for g in gens))
    assert entry["median_ttft_s"] == pytest.approx(statistics.median(g["ttft_s"] for g in gens))
    table = run_cli("leaderboard", "--db", str(db), home=home).stdout
    assert f"{sum(SCORES)}/70" in table

    seed_file = tmp_path / "seed.csv"
    result = run_cli("export", "--db", str(db), "--session", session, "--format", "seed-csv",
                     "--out", str(seed_file), home=home)
    assert result.returncode == 0, result.stderr
    seed = seed_file.read_bytes().decode("utf-8")
    parsed = list(csv.reader(io.StringIO(seed, newline="")))
    assert parsed[0] == ["#", "TASK", "VOTE", "REMARKS"]
    assert [r[1] for r in parsed[1:]] == [t.title for t in cat.tasks]
    assert [int(r[2]) for r in parsed[1:]] == SCORES
    assert parsed[1 + [t.key for t in cat.tasks].index("rag")][3] == remarks
    assert seed.count("\r\n") == 15  # rows end in CRLF, as the old scripts wrote them

    exported = list(csv.DictReader(io.StringIO(run_cli(
        "export", "--db", str(db), "--session", session, "--format", "csv",
        home=home).stdout, newline="")))
    stored = {g["id"]: g for g in rows(db, "SELECT * FROM generations WHERE session_id = ?",
                                       [session])}
    assert len(exported) == 15
    for row in exported:
        g = stored[row["generation_id"]]
        assert row["response"] == g["response"] and row["prompt"] == g["prompt"]
        assert float(row["decode_tps"]) == pytest.approx(g["decode_tps"])

    lines = run_cli("export", "--db", str(db), "--session", session, "--format", "jsonl",
                    home=home).stdout.splitlines()
    records = [json.loads(line) for line in lines]
    assert {r["generation_id"] for r in records} == set(stored)
    rag = next(r for r in records if r["task_key"] == "rag")
    assert rag["remarks"] == remarks and rag["score"] == SCORES[8]

    parquet = tmp_path / "all.parquet"
    result = run_cli("export", "--db", str(db), "--all", "--format", "parquet", "--out",
                     str(parquet), home=home)
    assert result.returncode == 0, result.stderr
    back = duckdb.sql(f"SELECT generation_id, response, score FROM '{parquet}'").fetchall()
    assert {r[0]: r[1] for r in back} == {k: g["response"] for k, g in stored.items()}

    md = run_cli("export", "--db", str(db), "--session", session, "--format", "md",
                 home=home).stdout
    assert f"score: {sum(SCORES)} of 70 (14 of 14 tasks rated)" in md
    for g in stored.values():
        assert g["response"] in md and g["prompt"] in md
    assert f"**Score: {SCORES[8]}/5** — {remarks}" in md


def test_ctrl_c_stops_cleanly_and_keeps_what_is_done(tmp_path: Path, demo_model: Path) -> None:
    db = tmp_path / "stop.duckdb"
    catalog = tmp_path / "long-b.toml"
    catalog.write_text(with_story(MINI, "b", 1500), encoding="utf-8")
    with Child(subprocess.Popen(
            [sys.executable, "-m", "rbyf_tui", "run", "--db", str(db), "--catalog",
             str(catalog)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=REPO, env=cli_env(tmp_path))) as child:
        child.wait_line("[2/3]")
        # Interrupt while the third answer (b, the long story) is streaming.
        assert wait_checkpoint(db)["task_key"] == "b"
        child.proc.send_signal(signal.SIGINT)
        out, err = child.finish(timeout=60)
    assert child.proc.returncode == 130, err
    assert "Traceback" not in err
    session = out.strip().splitlines()[-1]
    assert "stopped: 2 of 3 tasks answered and saved" in out
    gens = rows(db, "SELECT task_key, status, response FROM generations WHERE session_id = ? "
                "ORDER BY started_at", [session])
    assert [(g["task_key"], g["status"]) for g in gens] == [
        ("warm", "ok"), ("a", "ok"), ("b", "cancelled")]
    assert gens[2]["response"]  # what was streamed is kept


def test_a_prompt_longer_than_the_context_is_stored_as_an_error(tmp_path: Path,
                                                                 demo_model: Path) -> None:
    db = tmp_path / "small.duckdb"
    result = run_cli("run", "--db", str(db), "--ctx", "256", "--max-tokens", "4", home=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    gens = rows(db, "SELECT task_key, status, error, response FROM generations")
    by_key = {g["task_key"]: g for g in gens}
    assert len(by_key) == 15  # the run went on past every error
    rag = by_key["rag"]
    assert rag["status"] == "error"
    assert "the prompt is" in rag["error"] and "context holds 256" in rag["error"]
    assert "--ctx" in rag["error"]
    assert by_key["introduction"]["status"] == "ok"
    assert any("error  the prompt is" in line for line in result.stdout.splitlines())

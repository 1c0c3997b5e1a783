"""The benchmark scripts run (on tiny sizes: timings are theirs to report, not the suite's)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO


def bench(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A benchmark script run as a user runs it, on tiny sizes; it must end well."""
    result = subprocess.run([sys.executable, f"benchmarks/{script}", *args],
                            capture_output=True, text=True, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr
    return result

def test_the_scale_benchmark_runs_on_tiny_sizes(tmp_path: Path) -> None:
    result = bench("leaderboard_scale.py", "--models", "6", "--tasks", "4", "--sessions", "2",
                   "--repeat", "1", "--db", str(tmp_path / "scale.duckdb"))
    assert "6 models x 4 tasks x 2 sessions = 60 generations" in result.stdout
    assert "6 models ranked" in result.stdout and "totals agree" in result.stdout
    for name in ("connect + close (read-only)", "ranking.leaderboard(store): all of it",
                 "bootstrap intervals + ranks", "previous leaderboard query"):
        assert name in result.stdout


def test_the_store_scale_benchmark_runs_on_tiny_sizes(tmp_path: Path) -> None:
    result = bench("store_scale.py", "--sizes", "60,120", "--tasks", "5", "--sessions", "2",
                   "--repeat", "1", "--dir", str(tmp_path), "--other-process")
    assert "DB 60: 5 models x 5 tasks x 2 sessions = 60 generations" in result.stdout
    assert "DB 120: 10 models x 5 tasks x 2 sessions = 120 generations" in result.stdout
    for size in ("60", "120"):
        for name in ("leaderboard, file held (app)", "leaderboard, opened per call",
                     "Store.rate, file held (app)", "Store.rate, opened per call"):
            assert f"{size} {name}" in result.stdout
    assert "120 rbyf leaderboard, other process" in result.stdout
    assert "same, while this one holds" in result.stdout
    assert "120: leaderboard" in result.stdout and "120: Store.rate" in result.stdout


def test_the_vote_write_benchmark_runs_on_tiny_sizes(tmp_path: Path) -> None:
    result = bench("vote_write.py", "--votes", "500", "--models", "4", "--tasks", "3",
                   "--repeat", "2", "--dir", str(tmp_path))
    assert "DB: 4 models x 3 tasks" in result.stdout and "500 votes added" in result.stdout
    for name in ("Store.record_vote, file held (app)", "Store.record_vote, opened per call"):
        assert name in result.stdout
    assert "500 votes: a vote written (file held)" in result.stdout


def test_the_startup_benchmark_runs() -> None:
    result = bench("startup.py", "--runs", "1", "--importtime", "--top", "3")
    assert "rbyf --help" in result.stdout and "x 300 ms" in result.stdout
    assert "slowest imports of rbyf --help" in result.stdout
    assert "rbyf_tui.cli" in result.stdout
    assert "home screen interactive" in result.stdout and "x 1000 ms" in result.stdout


def test_the_ui_ingest_benchmark_runs() -> None:
    result = bench("ui_ingest.py", "--rounds", "1", "--seconds", "0.5")
    for line in ("source alone, no screen", "paced at 10,000 tok/s:", "flat out:",
                 "tokens/s on screen", "answer repaints/s", "key to effect p95 ms"):
        assert line in result.stdout


def test_the_memory_benchmark_runs() -> None:
    result = bench("tui_memory.py", "--tasks", "3", "--tokens", "60")
    assert "after   1 tasks" in result.stdout and "growth" in result.stdout


@pytest.mark.model
def test_the_stream_overhead_benchmark_runs(demo_model: Path) -> None:
    # enough tokens that the screen's first text is seen before the answer ends
    result = bench("stream_overhead.py", "--rounds", "1", "--tokens", "32", "--model",
                   str(demo_model))
    for arm in ("(a) bare llama-cpp-python", "(b) rbyf run", "(c) TUI session screen"):
        assert arm in result.stdout
    assert "repaints a second while the answer streamed" in result.stdout
    assert "decode t/s over llama.cpp's own counter" in result.stdout


def test_the_bt_scale_benchmark_runs_on_tiny_sizes() -> None:
    result = bench("bt_scale.py", "--models", "5", "--votes", "500", "--rounds", "50",
                   "--repeat", "1")
    assert "5 models, 500 votes (500 counted), 50 bootstrap rounds" in result.stdout
    assert "bt_ranking: median" in result.stdout and "of the 1 s target" in result.stdout
    assert "true ratings inside their 95% interval" in result.stdout
    assert "numpy multinomial resampling of the counts alone" in result.stdout


def test_the_model_discovery_benchmark_runs(tmp_path: Path) -> None:
    result = bench("model_discovery.py", "--files", "12", "--vocab", "50", "--tensors", "20",
                   "--rounds", "1", "--dir", str(tmp_path))
    assert "12 files in" in result.stdout
    for name in ("find_models(), uncached (every header read)", "find_models(), cached",
                 "find_models(store), cached, opened per call",
                 "find_models(store), cached, file held"):
        assert name in result.stdout
    assert "uncached listing reads only headers" in result.stdout
    assert "12 models listed from the cache" in result.stdout


def test_the_report_scale_benchmark_runs_on_tiny_sizes(tmp_path: Path) -> None:
    result = bench("report_scale.py", "--models", "3", "--tasks", "4", "--rounds", "1",
                   "--keep", str(tmp_path))
    assert "DB: 3 models x 4 tasks = 12 answers of 1,500 characters" in result.stdout
    assert "report: 3 models, 4 tasks, 12 answers, 30 votes; HTML" in result.stdout
    for name in ("data.build(store, made_at)", "html.render(report)",
                 "markdown.render(report, stem)", "rbyf report (new process)",
                 "rbyf leaderboard (new process)", "Chromium: open until load"):
        assert name in result.stdout
    assert "us an answer" in result.stdout and "rbyf report / rbyf leaderboard:" in result.stdout
    assert "report opens in Chromium in" in result.stdout
    # the command's own file, of the DB built: every answer, with thinking and checks
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.count("<article class='answer'") == 12
    assert "details class='thinking'" in page and "<ul class='checks'>" in page

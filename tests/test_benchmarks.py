"""The benchmark scripts run (on tiny sizes: timings are theirs to report, not the suite's)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_the_scale_benchmark_runs_on_tiny_sizes(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/leaderboard_scale.py", "--models", "6", "--tasks", "4",
         "--sessions", "2", "--repeat", "1", "--db", str(tmp_path / "scale.duckdb")],
        capture_output=True, text=True, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr
    assert "6 models x 4 tasks x 2 sessions = 60 generations" in result.stdout
    assert "6 models ranked" in result.stdout and "totals agree" in result.stdout
    for name in ("connect + close (read-only)", "ranking.leaderboard(store): all of it",
                 "bootstrap intervals + ranks", "previous leaderboard query"):
        assert name in result.stdout

"""Shared fixtures: an empty rbyf home per test, the real demo model, the CLI as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hub_server import closed_port

REPO = Path(__file__).resolve().parent.parent
LEGACY = REPO / "tests" / "fixtures" / "legacy"  # copies of ../shared/fixtures/legacy

# The suite runs in a zone far from UTC unless TZ is given, so that a test that holds only
# on a UTC machine fails everywhere. Set here, before any test imports, so the app, DuckDB
# and every subprocess see it.
DEFAULT_TZ = "Asia/Shanghai"
if not os.environ.get("TZ"):
    os.environ["TZ"] = DEFAULT_TZ
    time.tzset()


def pytest_report_header() -> str:
    return f"TZ={os.environ['TZ']}"


@pytest.fixture(autouse=True)
def rbyf_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own RBYF_HOME, so no test sees the user's files or another test's."""
    home = tmp_path / "rbyf-home"
    home.mkdir()
    monkeypatch.setenv("RBYF_HOME", str(home))
    monkeypatch.delenv("RBYF_DB", raising=False)
    monkeypatch.setenv("RBYF_RATER", "tester")
    # The places models are found in: empty ones here, never the tester's own models.
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "RBYF_MODELS"):
        monkeypatch.delenv(name, raising=False)
    # Nothing may leave the machine: the Hub is out of reach unless a test starts its own.
    monkeypatch.setenv("HF_ENDPOINT", closed_port())
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setenv("OLLAMA_MODELS", str(tmp_path / "ollama-models"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    return home


@pytest.fixture(scope="session")
def demo_model() -> Path:
    from rbyf_tui.model_files import demo_model_path

    return demo_model_path()


@pytest.fixture(scope="session")
def q8_model(demo_model: Path, pytestconfig: pytest.Config) -> Path:
    """The demo model requantized to Q8_0: a second, different real model, made once per
    test cache (tests/made_models.py)."""
    from made_models import requantized

    assert pytestconfig.cache is not None
    return requantized(demo_model, pytestconfig.cache.mkdir("rbyf-models"))


def cli_env(home: Path | None = None, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    if home is not None:
        env["RBYF_HOME"] = str(home)
    env.pop("RBYF_DB", None)
    env.update(extra)
    return env


def run_cli(*args: str, home: Path | None = None, timeout: float = 600, cwd: Path = REPO,
            **env: str) -> subprocess.CompletedProcess[str]:
    """The real `rbyf` command in a subprocess (python -m rbyf_tui, this checkout)."""
    return subprocess.run(
        [sys.executable, "-m", "rbyf_tui", *args],
        capture_output=True, text=True, timeout=timeout, cwd=cwd,
        env=cli_env(home, **env),
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], code: int = 1) -> str:
    """Exit code as given, one line on stderr starting 'rbyf', never a traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("rbyf"), lines[0]
    return lines[0]

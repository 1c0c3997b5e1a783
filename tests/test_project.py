"""Project rules that keep the README, CI, packaging and layering honest."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import REPO

ENGINE = [p for p in (REPO / "rbyf_tui").rglob("*.py") if "tui" not in p.relative_to(
    REPO / "rbyf_tui").parts[:1]]


def readme_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    setup = text.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", setup)


def test_readme_has_exactly_two_setup_commands_and_ci_runs_the_second() -> None:
    commands = readme_commands()
    assert len(commands) == 2
    assert commands[0].endswith(".venv/bin/rbyf")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == commands[1]


def test_the_engine_never_imports_textual() -> None:
    offenders = []
    for path in ENGINE:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "textual" or n.startswith("textual.") for n in names):
                offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


def test_help_does_not_load_heavy_modules() -> None:
    code = ("import sys; from rbyf_tui import cli; cli.build_parser(); "
            "print(sorted(m for m in ('duckdb', 'llama_cpp', 'textual', 'tiktoken') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=REPO, check=True).stdout.strip()
    assert out == "[]"


def test_ruff_is_clean() -> None:
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "rbyf_tui", "tests",
                             "benchmarks"],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout


def test_the_wheel_carries_the_bundled_catalogs(tmp_path: Path) -> None:
    # The build backend (hatchling, in the test extra) comes from this environment and no
    # index is asked: this holds offline.
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
         "-q", "-w", str(tmp_path), str(REPO)],
        capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    wheel = next(tmp_path.glob("rbyf-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "rbyf_tui/catalogs/rbyf-v2.toml" in names
    assert "rbyf_tui/cli.py" in names
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "rbyf = rbyf_tui.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()

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


def imports_of(path: Path) -> set[str]:
    """Modules a file imports (anywhere, lazily too), except under `if TYPE_CHECKING:`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                   and "TYPE_CHECKING" in ast.unparse(node.test)
                   for stmt in node.body for n in ast.walk(stmt)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def unit_graph(depth: int, within: str) -> dict[str, set[str]]:
    """Which units import which: a unit is a module or package `depth` names deep, inside
    the package `within`; imports inside one unit are left out."""
    modules = {module_name(p): p for p in (REPO / "rbyf_tui").rglob("*.py")}

    def unit(name: str) -> str:
        return ".".join(name.split(".")[:depth])

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if not name.startswith(within + ".") or name.count(".") < depth - 1:
            continue
        for target in imports_of(path):
            if target in modules and target.startswith(within + ".") \
                    and unit(target) != unit(name) and target.count(".") >= depth - 1:
                graph.setdefault(unit(name), set()).add(unit(target))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each import circle once, as the path that closes it."""
    found: list[list[str]] = []
    done: set[str] = set()

    def walk(node: str, path: list[str]) -> None:
        for target in sorted(graph.get(node, ())):
            if target in path:
                circle = [*path[path.index(target):], target]
                if not any(set(c) == set(circle) for c in found):
                    found.append(circle)
            elif target not in done:
                walk(target, [*path, target])
        done.add(node)

    for start in sorted(graph):
        walk(start, [start])
    return found


def test_no_import_circles_between_the_packages() -> None:
    # rbyf_tui's modules and packages (store, backends, commands, tui), and within the TUI
    # (app, screens, widgets, ...): each layer imports only the ones below it.
    assert cycles(unit_graph(2, "rbyf_tui")) == []
    assert cycles(unit_graph(3, "rbyf_tui.tui")) == []


def test_the_tui_never_imports_the_commands() -> None:
    offenders = sorted(module_name(p) for p in (REPO / "rbyf_tui" / "tui").rglob("*.py")
                       if any(i == "rbyf_tui.commands" or i.startswith("rbyf_tui.commands.")
                              for i in imports_of(p)))
    assert offenders == []


SQL_START = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|COPY|ATTACH|ALTER|DROP)\s")


def sql_outside_store(package: Path) -> list[str]:
    """SQL text, duckdb imports and reaching into `.db.read/.write` in the package's modules
    outside store/: each a 'path:line what' string."""
    found = []
    for path in sorted(package.rglob("*.py")):
        if path.relative_to(package).parts[0] == "store":
            continue
        where = path.relative_to(package.parent)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and SQL_START.match(node.value):
                found.append(f"{where}:{node.lineno} SQL {node.value.split()[0]}")
            elif isinstance(node, ast.Import) and any(
                    a.name.split(".")[0] == "duckdb" for a in node.names):
                found.append(f"{where}:{node.lineno} import duckdb")
            elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] \
                    == "duckdb":
                found.append(f"{where}:{node.lineno} from duckdb")
            elif isinstance(node, ast.Attribute) and node.attr in ("read", "write") \
                    and isinstance(node.value, ast.Attribute) and node.value.attr == "db":
                found.append(f"{where}:{node.lineno} .db.{node.attr}")
    return found


def test_sql_lives_only_in_the_store() -> None:
    assert sql_outside_store(REPO / "rbyf_tui") == []


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


def test_the_wheel_carries_the_bundled_catalogs_and_page_files(tmp_path: Path) -> None:
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
    assert "rbyf_tui/report/page.css" in names  # the report's styles, read at run time
    assert "rbyf_tui/serve_page/index.html" in names  # `rbyf serve`'s page
    entry = next(n for n in names if n.endswith("entry_points.txt"))
    assert "rbyf = rbyf_tui.cli:main" in zipfile.ZipFile(wheel).read(entry).decode()

"""Catalogs: the bundled rbyf-v2 matches the seed scripts; bad files fail with file:line."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from rbyf_tui import catalog as catalogs
from rbyf_tui.errors import CatalogError, NotFoundError

from conftest import LEGACY, assert_one_line_error, run_cli

GOOD = '''name = "mini"
version = "1"
system = "Be brief."

[defaults]
temperature = 0.2
max_tokens = 64
n_ctx = 2048

[rubric]
0 = "zero"
1 = "one"
2 = "two"
3 = "three"
4 = "four"
5 = "five"

[texts]
ref = "The sky is blue."

[warmup]
key = "warm"
prompt = "Say hi."

[[tasks]]
key = "a"
title = "Task A"
prompt = "Read: {{ref}} What colour is the sky?"

[[tasks]]
key = "b"
prompt = "Count to three."
temperature = 0.9
stop = ["4"]
system = "Be exact."
'''


def test_rbyf_v2_is_the_seed_catalog() -> None:
    cat = catalogs.resolve("rbyf-v2")
    assert cat.name == "rbyf-v2"
    assert len(cat.tasks) == 14
    assert cat.warmup is not None and cat.warmup.title == "Alignment Generation"
    assert "Cinderella" in cat.warmup.prompt
    assert cat.n_ctx == 8192
    first = cat.tasks[0].sampling
    assert (first.temperature, first.repeat_penalty, first.max_tokens) == (0.15, 1.31, 1500)
    assert sorted(cat.rubric) == [0, 1, 2, 3, 4, 5]
    assert cat.rubric[0] == "gibberish"
    assert cat.rubric[5].startswith("perfect")
    # The shared reference text is defined once and expanded into every RAG-style prompt.
    assert "{{" not in "".join(t.prompt for t in cat.tasks)
    assert sum("peak carbon dioxide" in t.prompt for t in cat.tasks) == 9
    assert cat.text.count("peak carbon dioxide") == 1


def test_rbyf_v2_titles_match_the_old_csvs() -> None:
    cat = catalogs.resolve("rbyf-v2")
    titles = [t.title for t in cat.tasks]
    for path in sorted(LEGACY.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert [row["TASK"] for row in rows] == titles, path.name


def test_parse_expands_texts_and_applies_overrides() -> None:
    cat = catalogs.parse(GOOD, "mini.toml")
    a, b = cat.tasks
    assert a.prompt == "Read: The sky is blue. What colour is the sky?"
    assert a.title == "Task A" and b.title == "b"
    assert a.system == "Be brief." and b.system == "Be exact."
    assert a.sampling.temperature == 0.2 and b.sampling.temperature == 0.9
    assert b.sampling.stop == ("4",) and b.sampling.max_tokens == 64
    assert cat.warmup is not None and cat.warmup.is_warmup
    assert [t.key for t in cat.all_tasks()] == ["warm", "a", "b"]
    assert cat.n_ctx == 2048


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda t: t.replace('title = "Task A"', 'title = "Task A'), "mini.toml:27: invalid TOML"),
        (lambda t: t.replace('prompt = "Count to three."\n', ""), "mini.toml:30: tasks[1]: 'prompt' is missing"),
        (lambda t: t.replace('key = "b"', 'key = "a"'), "mini.toml:31: tasks[1]: duplicate key 'a'"),
        (lambda t: t.replace("temperature = 0.9", "temprature = 0.9"), "mini.toml:33: tasks[1]: unknown field 'temprature'"),
        (lambda t: t.replace("max_tokens = 64", 'max_tokens = "64"'), "mini.toml:7: defaults.max_tokens must be an integer"),
        (lambda t: t.replace('5 = "five"', '6 = "six"'), "mini.toml:16: rubric: score '6' is not in 0–5"),
        (lambda t: t.replace('5 = "five"\n', ""), "rubric: scores 5 have no line"),
        (lambda t: t.replace("{{ref}}", "{{nope}}"), "mini.toml:28: tasks[0].prompt refers to {{nope}}"),
        (lambda t: t.replace("temperature = 0.9", "temperature = -1"), "tasks[1] ('b').temperature = -1 is out of range"),
        (lambda t: t.replace("max_tokens = 64", "max_tokens = 64\nthinking = 1"), "mini.toml:8: defaults.thinking must be true or false, not 1"),
        (lambda t: t.replace("max_tokens = 64", "max_tokens = true"), "defaults.max_tokens must be an integer, not True"),
    ],
)
def test_bad_catalogs_name_file_line_and_problem(change, expected: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CatalogError) as info:
        catalogs.parse(change(GOOD), "mini.toml")
    assert expected in str(info.value)
    assert "\n" not in str(info.value)


def test_validate_command(tmp_path: Path, rbyf_home: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(GOOD, encoding="utf-8")
    result = run_cli("catalogs", "--validate", str(good), home=rbyf_home)
    assert result.returncode == 0, result.stderr
    assert "ok: mini 1, 2 tasks, warm-up" in result.stdout

    bad = tmp_path / "bad.toml"
    bad.write_text(GOOD.replace('key = "b"', 'key = "a"'), encoding="utf-8")
    result = run_cli("catalogs", "--validate", str(bad), home=rbyf_home)
    line = assert_one_line_error(result)
    assert f"{bad}:31: tasks[1]: duplicate key 'a'" in line

    result = run_cli("catalogs", "--validate", str(tmp_path / "missing.toml"), home=rbyf_home)
    assert "no such catalog file" in assert_one_line_error(result)


def test_catalogs_lists_bundled_and_user_catalogs(rbyf_home: Path) -> None:
    user_dir = rbyf_home / "catalogs"
    user_dir.mkdir()
    (user_dir / "mini.toml").write_text(GOOD, encoding="utf-8")
    (user_dir / "broken.toml").write_text("name = ", encoding="utf-8")
    result = run_cli("catalogs", home=rbyf_home)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    v2 = next(line for line in lines if line.startswith("rbyf-v2"))
    assert v2.split()[1:4] == ["2.0", "14", "bundled"]
    mini = next(line for line in lines if line.startswith("mini"))
    assert mini.split()[1:4] == ["1", "2", "user"]
    assert any(line.startswith("broken") and "BROKEN" in line for line in lines)
    # A user catalog is found by name too.
    assert catalogs.resolve("mini").name == "mini"


def test_unknown_catalog_name_lists_the_known_ones() -> None:
    with pytest.raises(NotFoundError, match="no catalog named 'nope': use one of "
                                            "rbyf-structured, rbyf-v2, rbyf-zh"):
        catalogs.resolve("nope")


def test_bundled_dir_holds_the_catalogs() -> None:
    assert (catalogs.bundled_dir() / "rbyf-v2.toml").is_file()


def test_thinking_is_asked_in_the_defaults_or_per_task() -> None:
    text = GOOD.replace("max_tokens = 64", "max_tokens = 64\nthinking = true").replace(
        "temperature = 0.9", "temperature = 0.9\nthinking = false")
    cat = catalogs.parse(text, "mini.toml")
    assert [t.sampling.thinking for t in cat.tasks] == [True, False]
    assert cat.tasks[0].sampling.as_dict()["thinking"] is True
    assert "thinking" not in catalogs.parse(GOOD, "mini.toml").tasks[0].sampling.as_dict()

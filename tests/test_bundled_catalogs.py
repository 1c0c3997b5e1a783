"""Every bundled catalog validates, declares the checks its prompts imply, and runs end to
end on the real demo model with its checks stored."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from rbyf_tui import catalog as catalogs
from rbyf_tui import checks
from rbyf_tui.commands.common import cell_width

from conftest import run_cli

BUNDLED = ("rbyf-structured", "rbyf-v2", "rbyf-zh")


def test_the_bundled_catalogs_are_listed_and_valid(rbyf_home: Path) -> None:
    assert sorted(p.stem for p in catalogs.bundled_dir().glob("*.toml")) == list(BUNDLED)
    listed = run_cli("catalogs", home=rbyf_home)
    assert listed.returncode == 0 and "BROKEN" not in listed.stdout
    for name in BUNDLED:
        path = catalogs.bundled_dir() / f"{name}.toml"
        result = run_cli("catalogs", "--validate", str(path), home=rbyf_home)
        assert result.returncode == 0, result.stderr
        assert f"ok: {name} " in result.stdout
        assert any(line.startswith(name) for line in listed.stdout.splitlines())


def test_rbyf_v2_declares_the_checks_its_prompts_imply() -> None:
    cat = catalogs.resolve("rbyf-v2")
    declared = {t.key: {c.kind: c.value for c in t.checks} for t in cat.all_tasks() if t.checks}
    assert declared == {
        "warmup": {"sentences": 1},
        "one-sentence": {"sentences": 1},
        "three-paragraphs": {"paragraphs": 3},
        "i-am-ready": {"contains": "I am ready"},
        "two-sentence-summary": {"sentences": 2},
        "three-key-points": {"python_list": 3},
        "rag": {"not_contains": "unanswerable"},
        "truthful-rag": {"contains": "unanswerable"},
        "write-from-reference": {"paragraphs": 5},
        "five-topics": {"list_items": 5},
        "sf-story": {"words": [800, 1000]},
        "reflection": {"tags": ["thinking", "reflection", "output"]},
    }
    # A model answer that does what the truthful RAG prompt asks passes; one that makes
    # something up does not.
    truthful = cat.task("truthful-rag")
    assert checks.run(truthful, "unanswerable")[0].passed
    assert not checks.run(truthful, "Anne Frank was a diarist.")[0].passed


def test_rbyf_zh_is_chinese_with_ruozhiba_questions() -> None:
    cat = catalogs.resolve("rbyf-zh")
    assert "生鱼片是死鱼片吗" in cat.task("sashimi").prompt
    assert all("\u4e00" <= cat.rubric[n][0] <= "\u9fff" for n in range(6))  # a Chinese rubric
    keys = {t.key for t in catalogs.resolve("rbyf-v2").all_tasks()}
    assert keys <= {t.key for t in cat.all_tasks()}  # the same kinds of tasks
    # Its 800-1000 字 story is counted in characters.
    story = checks.run(cat.task("sf-story"), "飞船" * 450)[0]
    assert (story.passed, story.measured) == (True, 900)


def test_rbyf_structured_checks_each_task() -> None:
    cat = catalogs.resolve("rbyf-structured")
    assert all(t.checks for t in cat.all_tasks())
    assert {t.sampling.max_tokens for t in cat.tasks if t.key.startswith("long-")} == {6000}
    assert cat.task("role-off-topic").system and "Nimbus" in cat.task("role-off-topic").system
    # The schema the prompt shows is the one the check applies.
    contact = cat.task("json-contact")
    good = ('{"name": "Maria Gonzalez", "company": "Bluefin Logistics", "email": '
            '"maria.gonzalez@bluefin-logistics.example", "phone": null, "topics": ["pricing"]}')
    assert [r.passed for r in checks.run(contact, good)] == [True]
    assert not checks.run(contact, good.replace('"phone": null, ', ""))[0].passed
    table = cat.task("notes-to-table")
    answer = ("| Name | Role | Start year |\n|---|---|---|\n| Priya | data engineer | 2019 |\n"
              "| Tom | designer | 2021 |\n| Aiko | team lead | 2016 |\n| Lars | QA analyst | 2023 |")
    assert all(r.passed for r in checks.run(table, answer))


@pytest.mark.model
@pytest.mark.parametrize("name", BUNDLED)
def test_each_bundled_catalog_runs_on_the_demo_model(name: str, tmp_path: Path,
                                                     rbyf_home: Path, demo_model: Path) -> None:
    db = tmp_path / "run.duckdb"
    result = run_cli("run", "--db", str(db), "--catalog", name, "--max-tokens", "16",
                     "--seed", "1", home=rbyf_home)
    assert result.returncode == 0, result.stderr
    cat = catalogs.resolve(name)
    progress = [line for line in result.stdout.splitlines() if line.startswith("[")]
    assert len(progress) == len(cat.all_tasks())
    assert sum(" checks " in line for line in progress) == sum(
        1 for t in cat.all_tasks() if t.checks)
    # Titles are cut and padded by terminal columns: the figures line up, Chinese or not.
    assert len({cell_width(line[:line.index("TTFT")]) for line in progress}) == 1, progress
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute("SELECT task_key, status, response, checks, checks_passed, "
                           "checks_total FROM generations ORDER BY started_at").fetchall()
    finally:
        con.close()
    assert [r[0] for r in rows] == [t.key for t in cat.all_tasks()]
    for key, status, response, stored, passed, total in rows:
        task = cat.task(key)
        assert status == "ok", (key, status)
        if not task.checks:
            assert (stored, passed, total) == (None, None, None)
            continue
        # Measured on the stored answer, as the rater sees it; never an error.
        results = checks.from_json(stored)
        assert results == checks.run(task, response), key
        assert total == len(task.checks) and passed == sum(r.passed for r in results)

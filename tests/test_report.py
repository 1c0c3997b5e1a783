"""`rbyf report`: the HTML page in a real browser (Debian's Chromium through Playwright),
the Markdown with its SVG files, and the one-line errors."""

from __future__ import annotations

import csv
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rbyf_tui import catalog as catalogs
from rbyf_tui.backends.llama_cpp import LlamaSettings
from rbyf_tui.report.text import md_inline
from rbyf_tui.runner import Runner
from rbyf_tui.store import Store

from browser import artefact, chromium
from conftest import LEGACY, assert_one_line_error, run_cli
from fakes import ScriptedBackend
from helpers import MINI, new_runner, rows
from thinking_models import TAGGED, Constrained

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as b:
        yield b


def open_report(browser: Any, path: Path, viewport: dict[str, int] = DESKTOP) -> tuple[Any, list[str]]:
    """The page, and every URL it asked for (anything but the file itself is refused)."""
    page = browser.new_page(viewport=viewport)
    # a local file, but Chromium renders in software on a busy machine: a long wait
    # still means a missing element
    page.set_default_timeout(30_000)
    asked: list[str] = []

    def record(route: Any) -> None:
        asked.append(route.request.url)
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    page.route("**/*", record)
    page.goto(path.as_uri())
    return page, asked


def seen(locator: Any) -> str:
    """The text as a reader sees it: scrolled to first (tasks off screen are not laid out
    until then, so the browser gives no text for them)."""
    locator.scroll_into_view_if_needed()
    for _ in range(600):  # laid out at the next frame or so (30 s on a busy machine)
        text = locator.inner_text()
        if text.strip():
            return text
        locator.page.wait_for_timeout(50)
    return text


def imported(tmp_path: Path) -> Path:
    db = tmp_path / "legacy.duckdb"
    result = run_cli("import", "--db", str(db), str(LEGACY))
    assert result.returncode == 0, result.stderr
    return db


def csv_votes(name: str) -> dict[str, int]:
    """Task title -> vote, read straight from one of the old scripts' CSV files."""
    with (LEGACY / name).open(encoding="utf-8") as f:
        return {r["TASK"]: int(r["VOTE"]) for r in csv.DictReader(f)}


def heat_rows(page: Any) -> dict[str, dict[str, str]]:
    """Model -> task title -> the cell's text, as the browser shows the heat map."""
    return page.evaluate("""() => {
        const titles = [...document.querySelectorAll('table.heatmap thead th.task')]
            .map(th => th.title);
        const out = {};
        for (const tr of document.querySelectorAll('table.heatmap tbody tr')) {
            const cells = [...tr.querySelectorAll('td.cell')].map(td => td.innerText.trim());
            out[tr.dataset.model] = Object.fromEntries(titles.map((t, i) => [t, cells[i]]));
            out[tr.dataset.model]['mean'] = tr.querySelector('td.mean').innerText;
            out[tr.dataset.model]['total'] = tr.querySelector('td.total').innerText;
        }
        return out;
    }""")


def table_rows(page: Any, css: str) -> dict[str, list[str]]:
    return page.evaluate(f"""() => Object.fromEntries(
        [...document.querySelectorAll('table.{css} tbody tr')].map(tr =>
            [tr.dataset.model, [...tr.cells].map(td => td.innerText.trim())]))""")


def test_report_of_the_old_scripts_runs_holds_their_numbers(tmp_path: Path,
                                                              browser: Any) -> None:
    db = imported(tmp_path)
    out = tmp_path / "report.html"
    result = run_cli("report", "--db", str(db), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(out)

    page, asked = open_report(browser, out)
    assert asked == [out.as_uri()]  # nothing but the file: no font, script or image fetched
    assert page.title() == "rbyf report: rbyf-v2"
    heat = heat_rows(page)
    # each CSV's votes, matched to the page's columns by the task's title
    for model, name in (("qwen2.5-1.5b-instruct-q5_k_m", "Qwen2.5-1.5B-it_CPP_YWDAB.csv"),
                        ("gemma-2-2b-it-q5_k_m", "gemma-2-2b-it_CPP_8DYBB.csv"),
                        ("Llama-3.2-3B-Instruct", "Llama-3.2-3B-Instruct_CPP_CPZXL.csv")):
        votes = csv_votes(name)
        assert {t: heat[model][t] for t in votes} == {t: str(v) for t, v in votes.items()}
        total = sum(votes.values())
        assert heat[model]["total"] == f"{total}/{5 * len(votes)}"
        assert heat[model]["mean"] == f"{total / len(votes):.2f}"
    # the log-only run: its ratings in order after the warm-up, one task never asked
    log = (LEGACY / "LLAMA3.2-1Bit_CPP_62QL3_log.txt").read_text(encoding="utf-8")
    ratings = [m for m in re.findall(r"User rating: (\d)", log)][1:]
    llama = heat["Llama-3.2-1B-Instruct-Q8_0"]
    shown = [v for k, v in llama.items() if k not in ("mean", "total")]
    assert llama["say 'I am ready'"] == "·"
    assert [v for v in shown if v != "·"] == ratings

    board = table_rows(page, "leaderboard")
    expected = json.loads(run_cli("leaderboard", "--db", str(db), "--format", "json").stdout)
    assert list(board) == [r["model"] for r in expected]
    for r in expected:
        cells = board[r["model"]]
        assert cells[0] == str(r["rank"])
        assert f"{r['total']}/{5 * r['n_rated']}" in cells
        assert f"{r['mean']:.2f}" in cells
        assert f"{r['ci_low']:.2f}–{r['ci_high']:.2f}" in cells
    # remarks travel with the answers; an answer the CSV lacks says so
    qwen_story = page.locator("section.task[data-task='sf-story'] "
                              "article[data-model='qwen2.5-1.5b-instruct-q5_k_m']")
    assert "not ended generation" in seen(qwen_story)
    assert "0/5" in seen(qwen_story.locator(".score"))
    assert "no answer text" in seen(page.locator(
        "section.task[data-task='rag'] article[data-model='Llama-3.2-3B-Instruct']"))
    # no speed was measured by the old scripts: the chart says so instead of plotting
    assert page.locator("svg.chart g.point").count() == 0
    assert "No decode speed" in page.locator("figure").inner_text()
    page.screenshot(path=artefact("report-legacy.png"), full_page=True)

    # a phone: nothing wider than the screen but inside the tables' own scroll boxes
    phone, _ = open_report(browser, out, PHONE)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    phone.screenshot(path=artefact("report-legacy-phone.png"))
    # print: the contents list is left out, the heat map keeps its colours
    page.emulate_media(media="print")
    assert page.locator("nav").is_hidden()
    assert page.locator("table.heatmap td.s0").first.evaluate(
        "td => getComputedStyle(td).printColorAdjust") == "exact"
    pdf = page.pdf(path=artefact("report-legacy.pdf"))
    assert pdf.startswith(b"%PDF")


def test_report_of_chosen_models_ranks_them_among_themselves(tmp_path: Path,
                                                             browser: Any) -> None:
    db = imported(tmp_path)
    out = tmp_path / "two.html"
    chosen = ["Llama-3.2-1B-Instruct-Q8_0", "qwen2.5-1.5b-instruct-q5_k_m"]
    # a name as the leaderboard shows it, quantization and size in brackets, works too
    result = run_cli("report", "--db", str(db), "--catalog", "rbyf-v2", "--models",
                     chosen[0], f"{chosen[1]} (Q5_K_M, 1.1 GB)", "--out", str(out))
    assert result.returncode == 0, result.stderr
    page, _ = open_report(browser, out)
    board = table_rows(page, "leaderboard")
    assert list(board) == ["qwen2.5-1.5b-instruct-q5_k_m", "Llama-3.2-1B-Instruct-Q8_0"]
    assert set(heat_rows(page)) == set(chosen)
    answers = page.locator("section.task[data-task='introduction'] article.answer")
    assert answers.evaluate_all("a => a.map(x => x.dataset.model)") == list(board)


EVIL = "<b>evil</b> | x_y `t` *z*"
REMARK = "<script>alert(1)</script>\n# not a heading | [link](http://x)"


def test_names_and_remarks_show_as_written_in_both_formats(tmp_path: Path,
                                                           browser: Any) -> None:
    db = tmp_path / "evil.duckdb"
    result = run_cli("import", "--db", str(db), "--model", EVIL,
                     str(LEGACY / "Qwen2.5-1.5B-it_CPP_YWDAB.csv"))
    assert result.returncode == 0, result.stderr
    session = re.search(r"session (\w+)", result.stdout).group(1)
    result = run_cli("rate", "--db", str(db), "--session", session, "--task", "introduction",
                     "--score", "2", "--remarks", REMARK)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "evil.html"
    assert run_cli("report", "--db", str(db), "--out", str(out)).returncode == 0
    page, asked = open_report(browser, out)
    assert asked == [out.as_uri()]  # the remark's link and script fetched nothing
    assert page.locator("script, b, a[href^='http']").count() == 0
    card = page.locator("section.task[data-task='introduction'] article.answer")
    assert seen(card.locator("h5")) == EVIL
    assert seen(card.locator(".remarks")) == REMARK  # its line break kept
    assert list(table_rows(page, "leaderboard")) == [EVIL]

    md = tmp_path / "evil.md"
    assert run_cli("report", "--db", str(db), "--out", str(md)).returncode == 0
    text = md.read_text(encoding="utf-8")
    assert "<script>" not in text and "<b>" not in text  # no live HTML in a blog post
    assert not any(line.startswith("# not") for line in text.splitlines())
    assert "&lt;b&gt;evil&lt;/b&gt; \\| x\\_y \\`t\\` \\*z\\*" in text
    # the leaderboard's row keeps its cells: the name's | does not split one
    lines = text.splitlines()
    head = lines.index(next(line for line in lines if line.startswith("| rank | model |")))
    cells = [len(re.findall(r"(?<!\\)\|", lines[n])) for n in (head, head + 2)]
    assert cells[0] == cells[1] and lines[head + 2].startswith("| 1 | &lt;b&gt;evil")


# The mini catalog's rubric and warm-up, with two tasks that carry checks.
CATALOG = MINI.split("[[tasks]]", 1)[0].replace("max_tokens = 64", "max_tokens = 40") + """
[[tasks]]
key = "greet"
title = "Greeting"
prompt = "Say hello to Ada in one short sentence."
checks = { max_chars = 2000 }

[[tasks]]
key = "count"
title = "Counting"
prompt = "Count from one to five in words."
checks = { contains = "zebra" }
"""


def real_runs(tmp_path: Path, demo: Path, q8: Path) -> tuple[Path, dict[str, str]]:
    """The demo model run by `rbyf run`, and its Q8_0 requantization made to think (a
    grammar writes <think>…</think>): both rated, and battled."""
    db, cat_file = tmp_path / "real.duckdb", tmp_path / "mini.toml"
    cat_file.write_text(CATALOG, encoding="utf-8")
    result = run_cli("run", "--db", str(db), "--model", str(demo), "--catalog", str(cat_file),
                     "--seed", "3")
    assert result.returncode == 0, result.stderr
    backend = Constrained(LlamaSettings(q8, n_ctx=1024, seed=11), TAGGED)
    backend.load()
    store = Store(db)
    catalog = catalogs.parse(CATALOG, str(cat_file))
    runner = Runner.new_session(store, backend, catalog, settings={"seed": 11},
                                rater="tester", origin="run")
    for task in catalog.tasks:
        runner.run_task(task)
    backend.close()
    answers = rows(db, "SELECT g.id, g.task_key, m.name FROM generations g JOIN sessions s "
                       "ON s.id = g.session_id JOIN models m ON m.id = s.model_id "
                       "WHERE NOT g.is_warmup")
    by = {(a["name"], a["task_key"]): a["id"] for a in answers}
    names = {"plain": demo.stem, "thinker": q8.stem}
    assert {a["name"] for a in answers} == set(names.values())
    for (name, task), gen in by.items():
        score = {(names["plain"], "greet"): 4, (names["plain"], "count"): 3,
                 (names["thinker"], "greet"): 2, (names["thinker"], "count"): 1}[name, task]
        store.rate(gen, score, f"{name} on {task}", rater="tester")
    for task in ("greet", "count"):
        store.record_vote(by[names["plain"], task], by[names["thinker"], task], "left",
                          rater="tester")
    store.record_vote(by[names["thinker"], "greet"], by[names["plain"], "greet"], "tie",
                      rater="tester")
    store.close()
    return db, names


@pytest.mark.model
def test_report_of_real_runs_shows_figures_thinking_checks_and_battles(
        tmp_path: Path, browser: Any, demo_model: Path, q8_model: Path) -> None:
    db, names = real_runs(tmp_path, demo_model, q8_model)
    out = tmp_path / "real.html"
    result = run_cli("report", "--db", str(db), "--out", str(out))
    assert result.returncode == 0, result.stderr
    page, asked = open_report(browser, out)
    assert asked == [out.as_uri()]

    board = table_rows(page, "leaderboard")
    assert list(board) == [names["plain"], names["thinker"]]
    assert [cells[4] for cells in board.values()] == ["3.50", "1.50"]
    battles = table_rows(page, "battles")
    assert list(battles) == [names["plain"], names["thinker"]]
    assert [cells[4] for cells in battles.values()] == ["3", "3"]  # votes each took part in
    assert battles[names["plain"]][5] == "83%"  # two wins and a tie of three
    # both have a measured decode speed: two numbered points on the chart
    assert page.locator("svg.chart g.point").count() == 2

    stored = rows(db, "SELECT g.task_key, m.name, g.reasoning, g.response, g.decode_tps "
                      "FROM generations g JOIN sessions s ON s.id = g.session_id JOIN models m "
                      "ON m.id = s.model_id WHERE NOT g.is_warmup")
    for row in stored:
        card = page.locator(f"section.task[data-task='{row['task_key']}'] "
                            f"article[data-model='{row['name']}']")
        assert f"decode {row['decode_tps']:.1f} t/s" in seen(card.locator(".figures"))
        assert card.locator("pre.response").inner_text().strip() == row["response"].strip()
        thinking = card.locator("details.thinking")
        if row["reasoning"]:
            # folded: the summary shows, the thought only once opened
            assert thinking.evaluate("d => d.open") is False
            assert thinking.locator("summary").inner_text().startswith("thinking · ")
            assert thinking.locator("pre").is_hidden()
            thinking.locator("summary").click()
            assert thinking.locator("pre").inner_text().strip() == row["reasoning"].strip()
        else:
            assert thinking.count() == 0
    assert sum(bool(r["reasoning"]) for r in stored) == 2  # the thinker's two answers
    # checks: the hints per answer; "zebra" is in no count answer
    count_checks = page.locator("section.task[data-task='count'] li.fail")
    assert count_checks.count() == 2 and "zebra" in seen(count_checks.first)
    assert page.locator("section.task[data-task='greet'] li.pass").count() == 2
    # the sessions: hardware and settings as recorded, the catalog's version
    sessions = page.locator("table.sessions tbody tr")
    assert sessions.count() == 2
    assert "1" in sessions.first.inner_text().split("\t")  # the catalog's version
    facts = page.locator("details.session").first
    facts.locator("summary").click()
    assert "llama_cpp_python" in facts.inner_text() and "quantization" in facts.inner_text()
    # the model file by name: a shared report shows no folder of the rater's machine
    assert demo_model.name in facts.inner_text()
    assert str(demo_model.parent) not in page.content()
    page.screenshot(path=artefact("report-real.png"), full_page=True)

    md = tmp_path / "post" / "real.md"  # the folder is made
    result = run_cli("report", "--db", str(db), "--out", str(md))
    assert result.returncode == 0, result.stderr
    written = result.stdout.split()
    assert written[-1] == str(md)
    text = md.read_text(encoding="utf-8")
    for svg in written[:-1]:  # the charts, beside the Markdown, linked from it
        assert Path(svg).parent == md.parent and f"]({Path(svg).name})" in text
        assert ET.parse(svg).getroot().tag == "{http://www.w3.org/2000/svg}svg"
    assert f"| {md_inline(names['plain'])} |" in text and "| 3.50 |" in text
    assert "<details><summary>thinking · " in text
    assert "✗ " in text and "zebra" in text


def test_report_errors_are_one_line(tmp_path: Path) -> None:
    here = tmp_path / "here"
    here.mkdir()
    line = assert_one_line_error(run_cli("report", "--db", str(tmp_path / "empty.duckdb"),
                                         cwd=here))
    assert "no DB at" in line
    assert list(here.iterdir()) == []  # no report.html, no part file
    db = imported(tmp_path)
    line = assert_one_line_error(run_cli("report", "--db", str(db), "--catalog", "nope"), 2)
    assert "no catalog 'nope'" in line and "rbyf-v2" in line
    line = assert_one_line_error(run_cli("report", "--db", str(db), "--models", "nope"))
    assert "no model 'nope'" in line
    line = assert_one_line_error(run_cli("report", "--db", str(db), "--rater", "nobody"))
    assert "rater 'nobody'" in line and "tester" in line  # whose ratings there are
    (tmp_path / "a-file").write_text("", encoding="utf-8")
    line = assert_one_line_error(run_cli("report", "--db", str(db), "--out",
                                         str(tmp_path / "a-file" / "r.html")), 2)
    assert "a-file" in line


def test_catalogs_whose_names_differ_in_punctuation_keep_their_own_anchors_and_charts(
        tmp_path: Path) -> None:
    db = tmp_path / "two.duckdb"
    store = Store(db)
    for name, model, score in (("a.b", "dotted", 5), ("a-b", "dashed", 1)):
        catalog = catalogs.parse(MINI.replace('name = "mini"', f'name = "{name}"'), "c.toml")
        runner = new_runner(db, ScriptedBackend([f"{model} answers"], model=model),
                            catalog=catalog)
        for task in runner.catalog.all_tasks():
            runner.run_task(task)
        for state in store.task_states(runner.session_id).values():
            store.rate(state.id, score)
    store.close()

    md = tmp_path / "out" / "r.md"
    assert run_cli("report", "--db", str(db), "--out", str(md)).returncode == 0
    text = md.read_text(encoding="utf-8")
    charts = sorted(p.name for p in md.parent.glob("*-chart.svg"))
    assert charts == ["r-a-b-2-chart.svg", "r-a-b-chart.svg"]
    for chart in charts:  # each catalog links its own chart, showing its own model
        catalog_md = text.split(f"]({chart})")[0].rsplit("\n## ", 1)[1]
        shown = (md.parent / chart).read_text(encoding="utf-8")
        model = "dotted" if catalog_md.startswith("a.b") else "dashed"
        assert model in shown and ({"dotted", "dashed"} - {model}).pop() not in shown

    out = tmp_path / "r.html"
    assert run_cli("report", "--db", str(db), "--out", str(out)).returncode == 0
    page = out.read_text(encoding="utf-8")
    ids = re.findall(r" id='([^']+)'", page)
    assert len(ids) == len(set(ids)) and "a-b" in ids and "a-b-2" in ids
    for href in re.findall(r"href='#([^']+)'", page):
        assert href in ids

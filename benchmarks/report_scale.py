"""Report at scale: `rbyf report` of 20 models x 100 tasks, next to `rbyf leaderboard`.

Builds a real DuckDB file through rbyf's own Store, no model run: one finished session per
model on one catalog of --tasks tasks (plus its warm-up) imported whole
(`Store.import_session`, as `rbyf import` stores old runs), every answer ~1,500
characters of Markdown and rated (remarks on the low scores); then, in bulk, thinking on
the answers of every third model and the checks of half the tasks (measured on the answers
with rbyf's own checks), and pairwise votes between random models (`Store.record_vote`).

Then it times, alternated in each round so that load changes hit them all alike:

- `report.data.build(store, made_at)`: every read from the store and the bootstrap;
- `report.html.render(report)` and `report.markdown.render(report, stem)`;
- `rbyf report --db DB --out report.html` in a new process (start-up included), side by
  side with `rbyf leaderboard --db DB` in a new process on the same file;
- the HTML file opened in Debian's Chromium (headless, through Playwright, as
  tests/browser.py drives it) until its `load` event.

It prints the medians with their spread, the report's size, the time per answer and the
ratio of the report command to the leaderboard command.

    python benchmarks/report_scale.py                     # 20 models x 100 tasks, 3 rounds
    python benchmarks/report_scale.py --models 50 --tasks 100
    python benchmarks/report_scale.py --models 3 --tasks 4 --rounds 1 --keep /tmp/rep
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import duckdb

from rbyf_tui import catalog as catalogs
from rbyf_tui import checks as checking
from rbyf_tui.backends.base import ModelInfo
from rbyf_tui.catalog import Catalog
from rbyf_tui.metrics import Figures
from rbyf_tui.report import data, html, markdown
from rbyf_tui.store import ImportedGeneration, ImportedSession, Store, team, writes

REPO = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 3, 1, 9, 0, 0)
# Words of the answers, with characters the HTML must escape.
TEXT = ("the model answers with a short plan then the details of each step and a check "
         "of the result against the question as asked; it names the trade-off, the cost "
         "in memory & time, and what <b>not</b> to do when the input is empty or larger "
         "than expected")
WORDS = TEXT.split()


def catalog_toml(tasks: int) -> str:
    """A catalog like a real one: prompts of a few lines, checks on every other task."""
    parts = ['name = "report-bench"\nversion = "3"\nsystem = "You are a careful assistant."\n',
             "[rubric]\n" + "".join(f'{n} = "score {n}"\n' for n in range(6)),
             '[warmup]\nkey = "warmup"\nprompt = "Say hi."\n']
    for n in range(1, tasks + 1):
        checks = ('checks = { max_chars = 1600, contains = "check" }\n' if n % 2 else "")
        parts.append(f'[[tasks]]\nkey = "task-{n:03d}"\ntitle = "Task {n}: explain topic {n}"\n'
                     f'prompt = """Explain topic {n} to a new colleague. Give a short plan, '
                     f'then the steps,\na small example in code, and what can go wrong. '
                     f'Keep it under 300 words."""\n{checks}')
    return "\n".join(parts)


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def answer_text(rng: random.Random, model: str, task: str, size: int) -> str:
    """~`size` characters of Markdown: a heading, paragraphs, a list and a code block."""
    out = [f"## {model} on {task}\n", sentence(rng, 25), "",
           *(f"- {sentence(rng, 8)}" for _ in range(4)), "",
           "```python\ndef step(x: int) -> int:\n    return x * 2  # a < b & c\n```", ""]
    while sum(len(line) + 1 for line in out) < size:
        out.append(sentence(rng, 18))
    return "\n".join(out)[:size]


def model_info(m: int) -> ModelInfo:
    quant = ("Q4_K_M", "Q5_K_M", "Q8_0")[m % 3]
    name = f"bench-model-{m:03d}-{quant.lower()}"
    return ModelInfo(key=f"sha256:{m:064x}", name=name, backend="llama.cpp",
                     path=f"/home/someone/models/{name}.gguf", sha256=f"{m:064x}",
                     size_bytes=(1 + m % 8) * 700_000_000, architecture="llama",
                     quantization=quant, parameters=f"{1 + m % 8}B",
                     chat_format="chatml", n_ctx=8192, n_ctx_train=32768)


def session(cat: Catalog, m: int, answer_chars: int, rng: random.Random) -> ImportedSession:
    """Model m's finished session: every task answered and rated (warm-up unrated)."""
    info = model_info(m)
    quality = 1.0 + 3.5 * rng.random()
    decode = 8.0 + 90.0 * rng.random()
    start = T0 + timedelta(hours=m)
    gens = []
    for n, task in enumerate(cat.all_tasks()):
        tokens = answer_chars // 4
        ttft = round(0.2 + 200 / (decode * 8), 3)
        total = round(ttft + tokens / decode, 3)
        at = start + timedelta(minutes=n)
        score = None if task.is_warmup else max(0, min(5, round(quality + rng.gauss(0, 1))))
        response = ("Hi." if task.is_warmup else
                    answer_text(rng, info.name, task.title, answer_chars))
        gens.append(ImportedGeneration(
            key=task.key, title=task.title, is_warmup=task.is_warmup, attempt=1,
            prompt=task.prompt, response=response,
            sampling={"temperature": 0.7, "top_p": 0.95, "max_tokens": 1024},
            figures=Figures(ttft_s=ttft, total_s=total, prompt_tokens=90,
                            completion_tokens=tokens, prompt_tps=round(90 / ttft, 1),
                            decode_tps=round(decode, 1), e2e_tps=round(tokens / total, 1)),
            extra=None, started_at=at, finished_at=at + timedelta(seconds=total),
            score=score,
            remarks="" if score is None or score > 2 else f"misses the point of {task.key}"))
    return ImportedSession(
        model=info, catalog=cat, source_hash=f"report-bench-{m}",
        settings={"n_ctx": 8192, "n_gpu_layers": 0, "threads": 8, "seed": m,
                  "model_path": info.path},
        note="benchmark", rater=("ann", "bob")[m % 2], created_at=start, generations=gens)


def build(path: Path, models: int, tasks: int, answer_chars: int, votes: int) -> int:
    """The DB; returns the number of rated answers (the warm-ups are not)."""
    Store(path).sessions()  # the schema, through rbyf's own migrations
    cat = catalogs.parse(catalog_toml(tasks), "report-bench.toml")
    by_key = {t.key: t for t in cat.tasks}
    rng = random.Random(11)
    store = Store(path, keep_open=True)
    extras = []
    for m in range(models):
        imported = session(cat, m, answer_chars, rng)
        store.import_session(imported)
        for gen in imported.generations:
            task = by_key.get(gen.key)
            if task is None:
                continue  # the warm-up
            row: dict[str, Any] = {"model_id": imported.model.key, "task_key": gen.key}
            if task.checks:
                results = checking.run(task, gen.response)
                row |= {"checks": checking.to_json(results), "checks_total": len(results),
                        "checks_passed": sum(r.passed for r in results)}
            if m % 3 == 0:  # a thinking model
                thought = " ".join(sentence(rng, 15) for _ in range(6))
                row |= {"reasoning": thought, "reasoning_tokens": len(thought) // 4,
                        "reasoning_s": round(len(thought) / 4 / 40, 2)}
            extras.append(row)
    store.close()

    # Thinking and checks are not part of an import: set in bulk, as a run would have
    # stored them, and counted again (the counted rows carry checks and thinking time).
    extras_file = path.with_name(path.stem + "-extras.json")
    extras_file.write_text(json.dumps(extras), encoding="utf-8")
    con = duckdb.connect(str(path))
    con.execute(f"""
        CREATE TEMP TABLE x AS SELECT * FROM read_json('{extras_file}', columns = {{
            model_id: 'VARCHAR', task_key: 'VARCHAR', checks: 'VARCHAR',
            checks_total: 'INTEGER', checks_passed: 'INTEGER', reasoning: 'VARCHAR',
            reasoning_tokens: 'INTEGER', reasoning_s: 'DOUBLE'}});
        UPDATE generations g SET checks = x.checks::JSON, checks_total = x.checks_total,
            checks_passed = x.checks_passed, reasoning = x.reasoning,
            reasoning_tokens = x.reasoning_tokens, reasoning_s = x.reasoning_s,
            answer_ttft_s = CASE WHEN x.reasoning IS NOT NULL
                                 THEN g.ttft_s + x.reasoning_s END,
            thinking = CASE WHEN x.reasoning IS NOT NULL THEN 'on' END
        FROM x, sessions s
        WHERE s.id = g.session_id AND s.model_id = x.model_id AND g.task_key = x.task_key;
        UPDATE sessions SET hardware = json_object('cpu', 'AMD Ryzen 7 7840U',
            'cores', 16, 'ram_gb', 32, 'gpu', NULL, 'os', 'Linux 6.12');
    """)
    writes.rebuild_counted(con)
    answers = con.execute("SELECT g.id, s.model_id, g.task_key FROM generations g "
                          "JOIN sessions s ON s.id = g.session_id "
                          "WHERE NOT g.is_warmup ORDER BY g.id").fetchall()
    con.execute("CHECKPOINT")
    con.close()
    extras_file.unlink()

    by_task: dict[str, list[str]] = {}
    for gen_id, _, task_key in answers:
        by_task.setdefault(task_key, []).append(gen_id)
    keys = sorted(by_task)
    store = Store(path, keep_open=True)
    for n in range(votes if models > 1 else 0):
        left, right = rng.sample(by_task[rng.choice(keys)], 2)
        store.record_vote(left, right, rng.choice(("left", "right", "left", "tie",
                                                   "both_bad")), rater=("ann", "bob")[n % 2])
    store.close()
    return len(answers)


def command(*args: str, home: Path) -> Callable[[], Any]:
    """An rbyf command of this checkout in a new process, start-up included."""
    env = dict(os.environ, RBYF_HOME=str(home), PYTHONPATH=str(REPO))
    env.pop("RBYF_DB", None)
    argv = [sys.executable, "-m", "rbyf_tui", *args]
    return lambda: subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=20)
    parser.add_argument("--tasks", type=int, default=100)
    parser.add_argument("--answer-chars", type=int, default=1500, help="each answer's length")
    parser.add_argument("--votes", type=int, help="pairwise votes (default: 10 per model)")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds, after a warm-up")
    parser.add_argument("--keep", type=Path, metavar="DIR",
                        help="keep the DB and the reports here (default: a temp dir)")
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium load")
    args = parser.parse_args(argv)
    votes = 10 * args.models if args.votes is None else args.votes

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "report-bench.duckdb"
        for old in (path, path.with_name(path.name + ".wal")):
            old.unlink(missing_ok=True)
        started = time.perf_counter()
        answers = build(path, args.models, args.tasks, args.answer_chars, votes)
        build_s = time.perf_counter() - started
        print(f"DB: {args.models} models x {args.tasks} tasks = {answers:,} answers of "
              f"{args.answer_chars:,} characters, every one rated; thinking on every third "
              f"model, checks on half the tasks, {votes if args.models > 1 else 0:,} votes; "
              f"built in {build_s:.1f} s; {path.stat().st_size / 1e6:.0f} MB")
        print(f"machine: {os.cpu_count()} cores, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; duckdb {duckdb.__version__}")

        store = team.open_many([path])  # as the command opens it
        made_at = datetime.now(UTC).replace(tzinfo=None)
        built: dict[str, Any] = {}
        page = folder / "report.html"
        home = folder / "home"
        measures: dict[str, Callable[[], Any]] = {
            "data.build(store, made_at)": lambda: built.update(
                report=data.build(store, made_at)),
            "html.render(report)": lambda: built.update(html=html.render(built["report"])),
            "markdown.render(report, stem)": lambda: built.update(
                md=markdown.render(built["report"], "report")),
            "rbyf report (new process)": command("report", "--db", str(path), "--out",
                                                 str(page), home=home),
            "rbyf leaderboard (new process)": command("leaderboard", "--db", str(path),
                                                      home=home),
        }
        with ExitStack() as stack:
            browser, launch_s = (None, 0.0) if args.no_browser else open_browser(stack)
            if browser is not None:
                measures["Chromium: open until load"] = lambda: built.update(
                    loaded=load(browser, page))
            times: dict[str, list[float]] = {name: [] for name in measures}
            for round_ in range(args.rounds + 1):  # the first: warm-up, not counted
                for name, fn in measures.items():
                    began = time.perf_counter()
                    fn()
                    if round_:
                        times[name].append((time.perf_counter() - began) * 1000)

        report = built["report"]
        text, files = built["md"]
        page_mb = page.stat().st_size / 1e6
        catalog = report.catalogs[0]
        print(f"report: {len(catalog.models)} models, {len(catalog.tasks)} tasks, "
              f"{sum(a is not None for t in catalog.tasks for a in t.answers):,} answers, "
              f"{catalog.battles.counted if catalog.battles else 0} votes; HTML "
              f"{page_mb:.1f} MB (in-process {len(built['html'].encode()) / 1e6:.1f} MB); "
              f"Markdown {len(text.encode()) / 1e6:.1f} MB + {len(files)} SVG files "
              f"{sum(len(s.encode()) for s in files.values()) / 1e3:.0f} kB")
        print(f"\nmedian of {args.rounds} rounds (alternated), after a warm-up round:\n")
        print(f"{'measurement':34} {'median ms':>10} {'min-max ms':>17} {'per answer':>11}")
        medians = {}
        for name, got in times.items():
            medians[name] = median = statistics.median(got)
            print(f"{name:34} {median:10.1f} {min(got):8.1f}-{max(got):<8.1f} "
                  f"{median / answers * 1000:8.0f} us")
        if "loaded" in built:
            print(f"(Chromium launched once in {launch_s:.1f} s, not counted; the page's own "
                  f"navigation timing: {describe(built['loaded'])})")
        inside = medians["data.build(store, made_at)"] + medians["html.render(report)"]
        report_ms = medians["rbyf report (new process)"]
        board_ms = medians["rbyf leaderboard (new process)"]
        print(f"\ndata.build + html.render: {inside:.0f} ms for {answers:,} answers = "
              f"{inside / answers * 1000:.0f} us an answer; {page_mb:.1f} MB of HTML = "
              f"{page_mb * 1e6 / answers / 1e3:.1f} kB an answer")
        print(f"rbyf report / rbyf leaderboard: {report_ms:.0f} / {board_ms:.0f} ms = "
              f"{report_ms / board_ms:.1f}x (the report's own work: "
              f"{report_ms - board_ms:.0f} ms more)")
        if "loaded" in built:
            opened = medians["Chromium: open until load"]
            print(f"a {page_mb:.1f} MB report opens in Chromium in {opened / 1000:.2f} s "
                  f"({opened / page_mb:.0f} ms a MB)")
    return 0


def open_browser(stack: ExitStack) -> tuple[Any, float]:
    """Debian's Chromium through Playwright as the tests drive it (tests/browser.py), closed
    with `stack`, and its launch time; None when not installed."""
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        print("Chromium: not installed (Debian's package `chromium`), load not timed")
        return None, 0.0
    from browser import chromium

    began = time.perf_counter()
    browser = stack.enter_context(chromium())
    return browser, time.perf_counter() - began


def load(browser: Any, page_file: Path) -> dict[str, float]:
    """Open the report in a new tab until its `load` event; the page's own timings."""
    tab = browser.new_page()
    try:
        tab.goto(page_file.as_uri(), wait_until="load", timeout=300_000)
        return tab.evaluate("""() => {
            const n = performance.getEntriesByType('navigation')[0];
            const p = performance.getEntriesByName('first-contentful-paint')[0];
            return {dom: n.domContentLoadedEventEnd, load: n.loadEventEnd,
                    paint: p ? p.startTime : -1,
                    nodes: document.getElementsByTagName('*').length};
        }""")
    finally:
        tab.close()


def describe(timing: dict[str, float]) -> str:
    paint = f"first paint {timing['paint']:.0f} ms, " if timing["paint"] >= 0 else ""
    return (f"{paint}DOM ready {timing['dom']:.0f} ms, load {timing['load']:.0f} ms, "
            f"{int(timing['nodes']):,} elements")


if __name__ == "__main__":
    sys.exit(main())

"""A model that thinks, in the app: the thought streams dimmed above the answer with its
count, folds once the answer starts, `k` unfolds it; stored answers show it folded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from rbyf_tui import ranking
from rbyf_tui.backends import BackendOptions
from rbyf_tui.backends.llama_cpp import LlamaSettings
from rbyf_tui.store import Store
from rbyf_tui.tui.app import RbyfApp
from rbyf_tui.tui.config import AppConfig
from rbyf_tui.tui.screens.board.answer import AnswerScreen
from rbyf_tui.tui.screens.board.compare import CompareScreen
from rbyf_tui.tui.screens.board.leaderboard import standing_detail
from rbyf_tui.tui.screens.session import SessionScreen
from rbyf_tui.tui.widgets.stream import StreamView
from rbyf_tui.tui.widgets.thinking import ThinkingBox

from conftest import run_cli
from fakes import ScriptedBackend
from helpers import MINI, new_runner, until
from thinking_models import TAGGED, Constrained

pytestmark = pytest.mark.anyio
THOUGHT = " ".join(f"hm{i}" for i in range(60))


def app_for(tmp_path: Path, factory: Any, max_tokens: int = 24) -> RbyfApp:
    catalog = tmp_path / "mini.toml"
    catalog.write_text(MINI, encoding="utf-8")
    return RbyfApp(AppConfig(db_path=tmp_path / "rbyf.duckdb",
                             options=BackendOptions(model="/models/thinker.gguf"),
                             catalog=str(catalog), start=True, max_tokens=max_tokens,
                             handle_signals=False, backend_factory=factory))


def screen_of(app: RbyfApp) -> SessionScreen:
    return next(s for s in app.screen_stack if isinstance(s, SessionScreen))


def text_of(app: RbyfApp, selector: str) -> str:
    return screen_of(app).query_one(selector, StreamView).text


async def test_the_thought_streams_unfolded_then_folds_when_the_answer_starts(
        tmp_path: Path) -> None:
    # 6 s of thought: the asserts made while it streams must not find the answer begun
    backend = ScriptedBackend(["The answer is four."], thought=THOUGHT, delay_s=0.1)
    app = app_for(tmp_path, lambda options, n_ctx, seed: backend)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = screen_of(app)
        box = screen.query_one(ThinkingBox)
        await until(pilot, lambda: screen.live is not None and "hm5" in text_of(app,
                                                                             "#thinking"))
        # thinking: shown, unfolded, with its live count; no answer yet
        assert box.display and not box.collapsed
        await until(pilot, lambda: "tokens" in str(box.title))
        assert str(box.title).startswith("thinking · ")
        assert text_of(app, "#stream") == ""
        await until(pilot, lambda: "answer" in text_of(app, "#stream") or screen.live is None)
        assert box.collapsed  # the answer began: the thought folded
        await until(pilot, lambda: screen.live is None and "warm" in screen.states)
        state = screen.states["warm"]
        assert state.reasoning == THOUGHT and state.response == "The answer is four."
        assert state.reasoning_tokens == 60 and state.reasoning_s is not None
        # the stored answer: the thought folded above it, its count and seconds in the title
        assert box.display and box.collapsed
        assert str(box.title) == (f"thinking · 60 tokens · {state.reasoning_s:.1f} s (k)")
        assert "hm0" not in screen.query_one("#answer-md").source
        await pilot.press("k")
        assert not box.collapsed and text_of(app, "#thinking") == THOUGHT
        await pilot.press("k")
        assert box.collapsed


async def test_a_task_without_thinking_shows_no_thinking_box(tmp_path: Path) -> None:
    backend = ScriptedBackend(["Just an answer."])
    app = app_for(tmp_path, lambda options, n_ctx, seed: backend)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = screen_of(app)
        await until(pilot, lambda: screen.live is None and "warm" in screen.states)
        assert not screen.query_one(ThinkingBox).display
        await pilot.press("k")  # nothing to unfold: nothing happens
        assert not screen.query_one(ThinkingBox).display


@pytest.mark.model
async def test_a_real_model_thinking_in_the_app(tmp_path: Path, demo_model: Path) -> None:
    def factory(options: BackendOptions, n_ctx: int, seed: int) -> Constrained:
        return Constrained(LlamaSettings(demo_model, n_ctx=1024, seed=seed), TAGGED)

    app = app_for(tmp_path, factory, max_tokens=80)
    async with app.run_test(size=(100, 32)) as pilot:
        screen = screen_of(app)
        await until(pilot, lambda: screen.live is None and "warm" in screen.states,
                    timeout=300)
        state = screen.states["warm"]
        assert state.status == "ok" and state.reasoning and state.response
        assert "think>" not in state.response + state.reasoning
        assert screen.query_one(ThinkingBox).display
        assert screen.query_one("#answer-md").source == state.response


def two_models_one_thinking(db: Path) -> tuple[str, str]:
    """Task a answered by a model that thinks and one that does not, both rated."""
    thinker = new_runner(db, ScriptedBackend(["Four."], thought="two and two", model="deep"))
    plain = new_runner(db, ScriptedBackend(["4"], model="quick"))
    ids = []
    for runner in (thinker, plain):
        outcome = runner.run_task(runner.catalog.task("a"))
        runner.store.rate(outcome.generation_id, 3)
        ids.append(outcome.generation_id)
    return ids[0], ids[1]


async def test_the_answer_and_compare_screens_show_the_thought_folded(tmp_path: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    thought_id, _ = two_models_one_thinking(db)
    app = RbyfApp(AppConfig(db_path=db, handle_signals=False))
    async with app.run_test(size=(100, 32)) as pilot:
        await app.push_screen(AnswerScreen(thought_id))
        box = app.screen.query_one(ThinkingBox)
        await until(pilot, lambda: box.display)
        assert box.collapsed and str(box.title).startswith("thinking · 3 tokens · ")
        await pilot.press("k")
        assert not box.collapsed
        assert "two and two" in str(box.body.render())
        await pilot.press("escape")
        await app.push_screen(CompareScreen("mini", models=["deep", "quick"]))
        await until(pilot, lambda: len(app.screen.query(ThinkingBox)) == 2
                    and any(b.display for b in app.screen.query(ThinkingBox)))
        boxes = list(app.screen.query(ThinkingBox))
        assert [b.display for b in boxes] == [True, False]  # only the model that thought
        assert boxes[0].collapsed
        await pilot.press("k")
        assert not boxes[0].collapsed


def test_the_markdown_export_folds_the_thought(tmp_path: Path, rbyf_home: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    two_models_one_thinking(db)
    result = run_cli("export", "--all", "--format", "md", "--db", str(db), home=rbyf_home)
    assert result.returncode == 0, result.stderr
    details = result.stdout.split("<details><summary>")
    assert len(details) == 2  # one thought, folded
    summary, body = details[1].split("</summary>", 1)
    assert summary.startswith("thinking · 3 tokens · ")
    assert "two and two" in body.split("</details>")[0]
    assert "answer TTFT" in result.stdout


def test_the_leaderboard_gives_the_median_thinking_time(tmp_path: Path,
                                                        rbyf_home: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    two_models_one_thinking(db)
    standings = {s.model: s for s in ranking.leaderboard(Store(db))}
    deep, quick = standings["deep"], standings["quick"]
    assert quick.median_reasoning_s is None and "thinking" not in standing_detail(quick)
    [seconds] = [g.reasoning_s for g in Store(db).task_states(deep_session(db)).values()
                 if g.reasoning_s is not None]
    assert deep.median_reasoning_s == pytest.approx(seconds)
    assert standing_detail(deep).endswith(f" · thinking {seconds:.1f} s")
    result = run_cli("leaderboard", "--format", "json", "--db", str(db), home=rbyf_home)
    board = {e["model"]: e["median_reasoning_s"] for e in json.loads(result.stdout)}
    assert board == {"deep": pytest.approx(seconds), "quick": None}
    table = run_cli("leaderboard", "--db", str(db), home=rbyf_home).stdout
    assert "thinking" in table.splitlines()[0]


def deep_session(db: Path) -> str:
    return next(s.id for s in Store(db).sessions() if s.model == "deep")


def test_every_export_carries_the_thought_and_its_figures(tmp_path: Path,
                                                          rbyf_home: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    two_models_one_thinking(db)
    lines = run_cli("export", "--all", "--format", "jsonl", "--db", str(db),
                    home=rbyf_home).stdout.splitlines()
    rows = {r["model"]: r for r in map(json.loads, lines) if r["task_key"] == "a"}
    deep = rows["deep"]
    assert (deep["reasoning"], deep["reasoning_tokens"]) == ("two and two", 3)
    assert deep["answer_ttft_s"] >= deep["ttft_s"] and deep["reasoning_s"] > 0
    assert rows["quick"]["reasoning"] is None and rows["quick"]["reasoning_s"] is None
    header = run_cli("export", "--all", "--format", "csv", "--db", str(db),
                     home=rbyf_home).stdout.splitlines()[0].split(",")
    assert {"reasoning", "answer_ttft_s", "reasoning_tokens", "reasoning_s",
            "prompt_eval_tokens", "prompt_cached_tokens", "thinking"} <= set(header)

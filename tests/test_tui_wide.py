"""Wide characters (CJK, emoji) in every pane at 80x24, and the checks beside the answer.

Sessions of the bundled `rbyf-zh` catalog with Chinese answers (and emoji) stored with
fixed figures and their real check results; snapshots of the session screen (task list,
answer, figures with checks, rating form) and of compare, plus Pilot checks of what the
stats pane says.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rbyf_tui import catalog as catalogs
from rbyf_tui import checks
from rbyf_tui.backends.base import ChatRequest
from rbyf_tui.metrics import Figures
from rbyf_tui.store import Store
from rbyf_tui.tui.app import RbyfApp
from rbyf_tui.tui.config import AppConfig
from rbyf_tui.tui.screens.board.compare import CompareScreen
from rbyf_tui.tui.screens.session import SessionScreen
from rbyf_tui.tui.widgets.stats import StatsPane

from board_app import settle
from fakes import ScriptedBackend
from helpers import fixed_ids, fixed_times, until

ANSWERS = {
    "warmup": "唐僧带着孙悟空、猪八戒和沙僧西天取经，历经九九八十一难，终于取得真经。🐒",
    "introduction": "你好，小林！我是一个语言模型，可以帮你写博客、查资料、改文章。😊",
    "one-sentence": "科学是用观察和实验来认识世界的方法。它不断修正自己。",
    "three-paragraphs": "人工智能是让机器完成需要智能的任务的技术。\n\n"
                        "它包括机器学习、自然语言处理和计算机视觉等领域，"
                        "已经用于翻译、医疗和自动驾驶。🚗",
}
OTHER = {key: text.replace("。", "！") for key, text in ANSWERS.items()}


def store_session(store: Store, model: str, answers: dict[str, str], rated: dict[str, int],
                  ) -> str:
    catalog = catalogs.resolve("rbyf-zh")
    backend = ScriptedBackend(model=model)
    sid = store.create_session(backend.load(), catalog, settings={"backend": "llama.cpp"},
                               hardware={}, rater="小林", origin="tui")
    for n, task in enumerate(catalog.all_tasks()):
        if task.key not in answers:
            break
        gen = store.start_generation(sid, task, ChatRequest.for_task(task))
        text = answers[task.key]
        figures = Figures(ttft_s=0.5 + n / 10, total_s=3.0 + n, prompt_tokens=30 + n,
                          completion_tokens=50 + n, prompt_tps=60.0, decode_tps=20.5 + n,
                          e2e_tps=16.0 + n, prompt_tiktoken=40 + n, completion_tiktoken=70 + n)
        store.finish_generation(gen, response=text, finish_reason="stop", status="ok",
                                error=None, figures=figures,
                                checks=checks.run(task, text) or None)
        if task.key in rated:
            store.rate(gen, rated[task.key], "回答简洁，格式正确 👍", "小林")
    store.release_session(sid)
    return sid


@pytest.fixture
def stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    fixed_ids(monkeypatch)
    db = tmp_path / "rbyf.duckdb"
    store = Store(db)
    sid = store_session(store, "通义千问-mini", ANSWERS, {"introduction": 4, "one-sentence": 3})
    store_session(store, "gemma-zh", OTHER, {"introduction": 5, "one-sentence": 2,
                                             "three-paragraphs": 4})
    fixed_times(store)
    return db, sid


def app_on(db: Path, resume: str | None = None) -> RbyfApp:
    backend = ScriptedBackend(["never sent"], model="通义千问-mini")
    return RbyfApp(AppConfig(db_path=db, resume=resume, handle_signals=False,
                             backend_factory=lambda options, n_ctx, seed: backend))


async def session_ready(pilot: Any) -> None:
    await until(pilot, lambda: getattr(pilot.app.screen, "runner", None) is not None,
                "the resumed session's screen")
    await pilot.pause(0.3)
    await pilot.wait_for_scheduled_animations()


def test_session_in_chinese_at_80x24(snap_compare: Any, stored: tuple[Path, str]) -> None:
    db, sid = stored

    async def ready(pilot: Any) -> None:
        await session_ready(pilot)
        await pilot.press("4")
        await pilot.pause(0.2)

    assert snap_compare(app_on(db, sid), terminal_size=(80, 24), run_before=ready)


def test_compare_in_chinese_at_80x24(snap_compare: Any, stored: tuple[Path, str]) -> None:
    db, _ = stored

    async def ready(pilot: Any) -> None:
        await pilot.app.push_screen(CompareScreen(catalog="rbyf-zh",
                                                  models=["通义千问-mini", "gemma-zh"]))
        await settle(pilot)  # the models, then their answers
        await pilot.press("n", "n")  # task 3: three paragraphs (the warm-up is not compared)
        await settle(pilot)
        await pilot.wait_for_scheduled_animations()

    assert snap_compare(app_on(db), terminal_size=(80, 24), run_before=ready)


@pytest.mark.anyio
async def test_the_stats_pane_shows_the_checks_of_the_answer_in_view(
        stored: tuple[Path, str]) -> None:
    db, sid = stored
    app = app_on(db, sid)
    async with app.run_test(size=(80, 24)) as pilot:
        await session_ready(pilot)
        screen = app.screen
        assert isinstance(screen, SessionScreen)
        box = screen.query_one(StatsPane).query_one("#checks")
        # resumed at the first unrated answer: three paragraphs asked, two written
        assert screen.tasks[screen.view].key == "three-paragraphs"
        assert box.display and "✗ paragraphs 2, target 3" in str(box.render())
        await pilot.press("p")  # one sentence asked, two written
        assert "✗ sentences 2, target 1" in str(box.render())
        await pilot.press("p")  # the introduction declares no checks
        assert not box.display
        await pilot.press("p")  # the warm-up: one sentence, and it is one
        assert box.display and "✓ sentences 1" in str(box.render())

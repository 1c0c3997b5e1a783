"""Snapshots of home, models, session and summary at 80x24 and 120x40, from stored, fixed
figures and model files in real layouts under the test's own HOME."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rbyf_tui.backends.base import ChatRequest, ModelInfo
from rbyf_tui.metrics import Figures
from rbyf_tui.store import Store
from rbyf_tui.tui.app import RbyfApp
from rbyf_tui.tui.config import AppConfig
from rbyf_tui.tui.progress import has_answer
from rbyf_tui.tui.screens.summary import SummaryScreen

from fakes import ScriptedBackend
from gguf_file import header_copy
from helpers import fixed_ids, fixed_times, mini_catalog, until
from model_homes import in_hf_cache, isolated_places

SIZES = [(80, 24), (120, 40)]
ANSWERS = {
    "warm": "Hi!",
    "a": "# First\n\nA **first** answer with a list:\n\n- one\n- two\n",
    "b": "The second answer, in plain words, long enough to wrap on a narrow screen "
         "and to show that nothing is cut at 80 columns.",
}


THOUGHT = ("The user wants a second answer in plain words. Keep it long enough to wrap, "
           "and check nothing is cut at 80 columns. Then answer.")


@pytest.fixture(autouse=True)
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_model: Path) -> Path:
    """Every place rbyf finds models in is under the test's HOME; the demo model is there."""
    return isolated_places(tmp_path, monkeypatch, demo_model)


@pytest.fixture
def stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A session with every answer stored (fixed figures) and task a rated 4."""
    return store_session(tmp_path, monkeypatch)


@pytest.fixture
def stored_thinking(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """The same, task b's model having thought first."""
    return store_session(tmp_path, monkeypatch, thought=THOUGHT)


def store_session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                  thought: str = "") -> tuple[Path, str]:
    fixed_ids(monkeypatch)
    db = tmp_path / "rbyf.duckdb"
    store = Store(db)
    catalog = mini_catalog()
    backend = ScriptedBackend(model="tiny-chat")
    sid = store.create_session(backend.load(), catalog, settings={"backend": "llama.cpp"},
                               hardware={}, rater="tester", origin="tui")
    for n, task in enumerate(catalog.all_tasks()):
        gen = store.start_generation(sid, task, ChatRequest.for_task(task))
        figures = Figures(ttft_s=0.25 + n / 10, total_s=2.5 + n, prompt_tokens=20 + n,
                          completion_tokens=40 + n, prompt_tps=80.0, decode_tps=17.5 + n,
                          e2e_tps=16.0 + n, prompt_tiktoken=18 + n, completion_tiktoken=38 + n)
        reasoning = thought if task.key == "b" else ""
        if reasoning:
            figures.answer_ttft_s, figures.reasoning_tokens, figures.reasoning_s = 1.9, 31, 1.6
        store.finish_generation(gen, response=ANSWERS[task.key], finish_reason="stop",
                                status="ok", error=None, figures=figures, reasoning=reasoning)
        if task.key == "a":
            store.rate(gen, 4, "clear and short", "tester")
    store.release_session(sid)  # as if the process that rated it had ended
    fixed_times(store)
    return db, sid


@pytest.fixture
def found(stored: tuple[Path, str], places: Path, demo_model: Path) -> Path:
    """Besides the demo model, files with its header and size (each a file of its own): one
    in ~/models rated in a session of its own, and one in the Hugging Face cache."""
    db = stored[0]
    rated = header_copy(demo_model, places / "models" / "gemma-3-270m-it-Q4_K_M.gguf")
    in_hf_cache(places, demo_model, "rbyf-tests/gemma-3-270m-GGUF", "gemma-3-270m-Q4_K_M.gguf")
    store = Store(db)
    model = ModelInfo(key="sha256:" + "ab" * 32, name=rated.stem, backend="llama.cpp",
                      path=str(rated), size_bytes=rated.stat().st_size,
                      quantization="Q4_K_M")
    catalog = mini_catalog()
    sid = store.create_session(model, catalog, settings={"backend": "llama.cpp"},
                               hardware={}, rater="tester", origin="tui")
    task = catalog.tasks[0]
    gen = store.start_generation(sid, task, ChatRequest.for_task(task))
    store.finish_generation(gen, response="An answer.", finish_reason="stop", status="ok",
                            error=None, figures=Figures(ttft_s=0.5, total_s=2.0))
    store.rate(gen, 4, "", "tester")
    store.release_session(sid)
    fixed_times(store)
    return db


def app_on(db: Path, *, resume: str | None = None) -> RbyfApp:
    backend = ScriptedBackend(["never sent"], model="tiny-chat")
    config = AppConfig(db_path=db, resume=resume, handle_signals=False,
                       offer_demo=True,
                       backend_factory=lambda options, n_ctx, seed: backend)
    return RbyfApp(config)


async def settle(pilot: Any) -> None:
    for _ in range(1200):  # the home screen reads its lists in a worker
        if not getattr(pilot.app.screen, "reading", False):
            break
        await pilot.pause(0.05)
    else:
        raise AssertionError("the home screen's lists were not read in 60 s")
    await pilot.pause(0.3)
    await pilot.wait_for_scheduled_animations()
    await pilot.pause(0.2)


async def session_open(pilot: Any) -> None:
    """Until the resumed session is on screen with its runner, then settled."""
    await until(pilot, lambda: getattr(pilot.app.screen, "runner", None) is not None,
                "the resumed session's screen")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_home(snap_compare: Any, stored: tuple[Path, str], size: tuple[int, int]) -> None:
    assert snap_compare(app_on(stored[0]), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_home_after_failed_loads(snap_compare: Any, stored: tuple[Path, str],
                                 size: tuple[int, int], tmp_path: Path) -> None:
    """A file that would not load is offered again with its error; so is the session."""
    db, sid = stored
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF and then nothing")
    store = Store(db)
    store.record_load_failure(
        model=str(broken), backend="llama.cpp", origin="tui", catalog_name="mini",
        error="llama.cpp could not load broken.gguf: unknown model architecture: 'mamba9'")
    store.record_load_failure(
        model="/gone/tiny.gguf", backend="llama.cpp", origin="tui", session_id=sid,
        error=f"the model of session {sid} is no longer at /gone/tiny.gguf: pass --model")
    store.db.write(lambda con: con.execute(
        "UPDATE load_failures SET failed_at = '2026-01-02 03:06:00'"))

    async def highlight_the_broken_file(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("down")  # its error shows below the sessions
        await settle(pilot)

    assert snap_compare(app_on(db), terminal_size=size, run_before=highlight_the_broken_file)


def test_home_with_models_found(snap_compare: Any, found: Path) -> None:
    """Each model found, with the facts one chooses by, in the left half of 80 columns."""
    assert snap_compare(app_on(found), terminal_size=(80, 24), run_before=settle)


async def models_screen(pilot: Any) -> None:
    from rbyf_tui.tui.screens.models import ModelsScreen

    await settle(pilot)
    await pilot.press("m")
    await until(pilot, lambda: isinstance(pilot.app.screen, ModelsScreen)
                and not pilot.app.screen.reading, "the models screen")
    await settle(pilot)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_models(snap_compare: Any, found: Path, size: tuple[int, int]) -> None:
    """Every fact of every model: at 80 columns those that do not fit are in the line
    below, for the model under the cursor."""
    assert snap_compare(app_on(found), terminal_size=size, run_before=models_screen)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_session(snap_compare: Any, stored: tuple[Path, str], size: tuple[int, int]) -> None:
    db, sid = stored

    async def ready(pilot: Any) -> None:
        await session_open(pilot)
        await pilot.press("3")

    assert snap_compare(app_on(db, resume=sid), terminal_size=size, run_before=ready)


@pytest.mark.parametrize("unfolded", [False, True], ids=["folded", "unfolded"])
def test_session_with_thinking(snap_compare: Any, stored_thinking: tuple[Path, str],
                               unfolded: bool) -> None:
    db, sid = stored_thinking

    async def ready(pilot: Any) -> None:
        await session_open(pilot)
        if unfolded:
            await pilot.press("k")
            await settle(pilot)

    assert snap_compare(app_on(db, resume=sid), terminal_size=(80, 24), run_before=ready)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_summary(snap_compare: Any, stored: tuple[Path, str], size: tuple[int, int]) -> None:
    db, sid = stored
    store = Store(db)
    states = store.task_states(sid)
    assert has_answer(states["b"])
    tasks = mini_catalog().all_tasks()

    async def show(pilot: Any) -> None:
        await pilot.app.push_screen(SummaryScreen(sid, tasks, states, catalog="mini",
                                                  short_id=store.short_session_id(sid)))
        await settle(pilot)

    assert snap_compare(app_on(db), terminal_size=size, run_before=show)


def test_session_without_colour(snap_compare: Any, stored: tuple[Path, str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")  # states are words, the chosen score is [N]
    db, sid = stored

    async def ready(pilot: Any) -> None:
        await session_open(pilot)
        await pilot.press("2")

    assert snap_compare(app_on(db, resume=sid), terminal_size=(80, 24), run_before=ready)

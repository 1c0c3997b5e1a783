"""The app on its real path: the real RbyfApp driven by keys (Pilot), the demo model loaded
by llama.cpp in this process (no backend stand-in), a real DuckDB file read back after.

Only what a user sees or keeps is checked: keys, the widgets #status, #stream, #answer-md,
#prompt-box, the DB's contents, and what reached llama.cpp.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from rbyf_tui.backends import BackendOptions
from rbyf_tui.tui.app import RbyfApp
from rbyf_tui.tui.config import AppConfig
from rbyf_tui.tui.screens.session import SessionScreen, decodes_on_cpu
from rbyf_tui.tui.widgets.live_stream import CPU_DRAIN_HZ

from conftest import run_cli
from gguf_file import CUT_SHORT_ERROR, cut_short
from helpers import rows

pytestmark = [pytest.mark.anyio, pytest.mark.model]
RUBRIC = '[rubric]\n0 = "0"\n1 = "1"\n2 = "2"\n3 = "3"\n4 = "4"\n5 = "5"\n'


def catalog_file(folder: Path, body: str, max_tokens: int) -> Path:
    path = folder / "real-path.toml"
    path.write_text(f'name = "real-path"\nversion = "1"\n\n[defaults]\nmax_tokens = '
                    f"{max_tokens}\ntemperature = 0.15\n\n{RUBRIC}\n{body}", encoding="utf-8")
    return path


WARM_AND_ONE = '''
[warmup]
key = "warm"
title = "Warm-up"
prompt = "Say hi."

[[tasks]]
key = "fruit"
title = "Fruit"
prompt = "Name one fruit and its colour."
'''


async def until(pilot: Any, condition: Callable[[], bool], timeout: float = 180.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"the app did not get there in time; status: "
                                 f"{status(pilot.app)!r}")
        await pilot.pause(0.05)


def shows(app: RbyfApp, selector: str) -> bool:
    return bool(app.screen.query(selector))


def status(app: RbyfApp) -> str:
    return str(app.screen.query_one("#status").render()) if shows(app, "#status") else ""


async def test_home_to_a_rated_answer_on_the_demo_model(tmp_path: Path, demo_model: Path,
                                                        rbyf_home: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    catalog = catalog_file(tmp_path, WARM_AND_ONE, max_tokens=12)
    app = RbyfApp(AppConfig(db_path=db, offer_demo=True, catalog=str(catalog),
                            handle_signals=False))
    async with app.run_test(size=(100, 32)) as pilot:
        await until(pilot, lambda: shows(app, "#models"))  # the home screen
        await pilot.press("enter")  # the demo model
        await pilot.press("enter")  # the catalog given: a new session starts
        await until(pilot, lambda: status(app).startswith("Warm-up · done"))
        await pilot.press("enter")  # the warm-up's rating is optional: on to the task
        await until(pilot, lambda: status(app).startswith("Fruit · done"))
        shown = app.screen.query_one("#answer-md").source
        assert shown.strip()

        box, prompt = app.screen.query_one("#prompt-box"), app.screen.query_one("#prompt")
        assert box.collapsed and prompt.region.height == 0  # the prompt starts folded
        await pilot.press("t")
        await pilot.pause(0.1)
        assert not box.collapsed and prompt.region.height > 0
        assert str(prompt.render()) == "Name one fruit and its colour."
        await pilot.press("t")
        await pilot.pause(0.1)
        assert box.collapsed and prompt.region.height == 0

        await pilot.press("4", "tab", *"fine", "enter")
        await until(pilot, lambda: shows(app, "#summary-text"))  # the last task: the summary
        assert "total        4 / 5" in str(app.screen.query_one("#summary-text").render())
        await pilot.press("q")
    assert app.return_code == 0

    [session] = rows(db, "SELECT * FROM sessions")
    assert (session["status"], session["origin"], session["backend"]) == (
        "complete", "tui", "llama.cpp")
    assert json.loads(session["settings"])["model_path"] == str(demo_model)
    [model] = rows(db, "SELECT * FROM models")
    assert model["path"] == str(demo_model) and model["chat_format"] == "gemma"
    gens = rows(db, "SELECT task_key, status, response, completion_tokens FROM generations "
                "ORDER BY started_at")
    assert [(g["task_key"], g["status"]) for g in gens] == [("warm", "ok"), ("fruit", "ok")]
    assert gens[1]["response"] == shown and 0 < gens[1]["completion_tokens"] <= 12
    rated = rows(db, "SELECT g.task_key, r.score, r.remarks, r.rater FROM ratings r "
                 "JOIN generations g ON g.id = r.generation_id")
    assert [tuple(r.values()) for r in rated] == [("fruit", 4, "fine", "tester")]


@pytest.fixture(scope="module")
def cut_model(demo_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cut_short(demo_model, tmp_path_factory.mktemp("broken") / "cut.gguf")


async def test_a_broken_gguf_shows_llama_cpps_error_and_is_stored(
        tmp_path: Path, cut_model: Path, rbyf_home: Path) -> None:
    db = tmp_path / "rbyf.duckdb"
    catalog = catalog_file(tmp_path, WARM_AND_ONE, max_tokens=4)
    app = RbyfApp(AppConfig(db_path=db, options=BackendOptions(model=str(cut_model)),
                            catalog=str(catalog), start=True, handle_signals=False))
    error = f"llama.cpp could not load cut.gguf: {CUT_SHORT_ERROR}"
    async with app.run_test(size=(100, 32)) as pilot:
        stream = app.screen.query_one("#stream")
        await until(pilot, lambda: stream.text.startswith("error:"))
        assert stream.text.splitlines()[0] == f"error: {error}"  # whole, in the answer pane
        assert "escape: home" in status(app)
        await pilot.press("escape")
        await until(pilot, lambda: shows(app, "#models"))  # home, the failure beside it
        first = "".join(str(c) for c in app.screen.query_one("#models", DataTable).get_row_at(0))
        assert "cut.gguf" in first and "load failed" in first
        await pilot.press("q")
    listed = run_cli("sessions", "--failures", "--json", "--db", str(db), home=rbyf_home)
    (failure,) = json.loads(listed.stdout)
    assert (failure["model"], failure["origin"], failure["error"]) == (
        str(cut_model.resolve()), "tui", error)
    assert rows(db, "SELECT id FROM sessions") == []


async def test_a_cpu_decode_is_repainted_at_most_cpu_drain_hz_a_second_and_loses_no_token(
        tmp_path: Path, demo_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from rbyf_tui.tui.widgets.stream import StreamView

    appended: list[tuple[float, str]] = []
    append = StreamView.append

    def watched(self: StreamView, text: str) -> None:  # observes; the real append runs
        if text and self.id == "stream":
            appended.append((time.perf_counter(), text))
        append(self, text)

    monkeypatch.setattr(StreamView, "append", watched)
    db = tmp_path / "rbyf.duckdb"
    catalog = catalog_file(tmp_path, '''
[[tasks]]
key = "story"
title = "Story"
prompt = "Write a long story about a lighthouse keeper in a winter storm."
''', max_tokens=80)
    app = RbyfApp(AppConfig(db_path=db, options=BackendOptions(model=str(demo_model), seed=3,
                                                           threads=1),
                            catalog=str(catalog), start=True, handle_signals=False))
    async with app.run_test(size=(100, 32)) as pilot:
        await until(pilot, lambda: status(app).startswith("Story · done"))
        shown = app.screen.query_one("#answer-md").source
        await pilot.press("q")
    [gen] = rows(db, "SELECT response, completion_tokens, decode_tps FROM generations")
    assert gen["completion_tokens"] >= 40  # long enough to stream for a while
    # every token reached the answer pane, in order, and the Markdown is the stored answer
    assert "".join(text for _, text in appended) == gen["response"] == shown
    first, last = appended[0][0], appended[-1][0]
    assert len(appended) >= 2  # it streamed: not all at the end
    if gen["decode_tps"] < 2 * CPU_DRAIN_HZ:  # fewer tokens than repaints: nothing to limit
        pytest.skip(f"the model decoded at {gen['decode_tps']:.1f} tokens/s on this busy "
                    f"machine: too slow to show the limit of {CPU_DRAIN_HZ} repaints a second")
    # the README: while the model decodes on the CPU, at most CPU_DRAIN_HZ repaints a second
    assert len(appended) <= CPU_DRAIN_HZ * (last - first) + 2, (len(appended), last - first)


async def test_threads_and_gpu_layers_reach_llama_cpp_and_are_recorded(
        tmp_path: Path, demo_model: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import llama_cpp

    made: list[llama_cpp.Llama] = []

    class Watched(llama_cpp.Llama):  # the real load; only keeps the object to look at
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            made.append(self)

    monkeypatch.setattr(llama_cpp, "Llama", Watched)
    db = tmp_path / "rbyf.duckdb"
    catalog = catalog_file(tmp_path, WARM_AND_ONE, max_tokens=4)
    options = BackendOptions(model=str(demo_model), threads=1, gpu_layers=2)
    app = RbyfApp(AppConfig(db_path=db, options=options, catalog=str(catalog), start=True,
                            handle_signals=False))
    async with app.run_test(size=(100, 32)) as pilot:
        await until(pilot, lambda: status(app).startswith("Warm-up · done"))
        [llm] = made
        assert llama_cpp.llama_n_threads(llm.ctx) == 1
        assert llama_cpp.llama_n_threads_batch(llm.ctx) == 1
        assert llm.model_params.n_gpu_layers == 2  # asked of llama.cpp; no GPU here
        # a CPU-only build decodes on the CPU whatever was asked: repaints stay paced
        assert decodes_on_cpu(next(s for s in app.screen_stack
                                   if isinstance(s, SessionScreen)).runner.backend.describe())
        await pilot.press("q")
    [session] = rows(db, "SELECT settings FROM sessions")
    settings = json.loads(session["settings"])
    assert (settings["threads"], settings["n_gpu_layers"]) == (1, 2)
    [model] = rows(db, "SELECT info FROM models")
    info = json.loads(model["info"])
    assert (info["threads"], info["n_gpu_layers"], info["gpu_offload"]) == (1, 2, False)


async def test_the_app_ending_mid_answer_stores_it_and_never_frees_the_model_under_it(
        tmp_path: Path, demo_model: Path) -> None:
    # An exit that does not come through quit (an error, a driver that goes away) used to
    # free the model under the generation thread: llama.cpp then crashed the process.
    story = ('[[tasks]]\nkey = "story"\ntitle = "Story"\nprompt = "Write a 1000-word '
             'story about a lighthouse keeper and the sea."\nseed = 1\ntemperature = 0.8\n')
    catalog = catalog_file(tmp_path, story, max_tokens=1500)
    db = tmp_path / "rbyf.duckdb"
    app = RbyfApp(AppConfig(db_path=db, options=BackendOptions(model=str(demo_model)),
                            catalog=str(catalog), start=True, handle_signals=False))
    async with app.run_test(size=(100, 32)) as pilot:
        await until(pilot, lambda: "generating" in status(app) and bool(
            app.screen.query_one("#stream").text.strip()))
        app.exit()  # straight out, as an unhandled error does
    [answer] = rows(db, "SELECT status, response FROM generations")
    assert answer["status"] == "cancelled" and answer["response"].strip()
    [session] = rows(db, "SELECT pid FROM sessions")
    assert session["pid"] is None  # released

"""The full-screen app driven by key presses (Textual Pilot): the real demo model, a real DB."""

from __future__ import annotations

import itertools
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandList, CommandPalette

from rbyf_tui.backends import BackendOptions
from rbyf_tui.store import Store
from rbyf_tui.tui.app import RbyfApp
from rbyf_tui.tui.config import AppConfig
from rbyf_tui.tui.screens.board.leaderboard import LeaderboardScreen
from rbyf_tui.tui.screens.dialogs import ConfirmQuit
from rbyf_tui.tui.screens.session import SessionScreen
from rbyf_tui.tui.screens.summary import SummaryScreen
from rbyf_tui.tui.widgets.facts_table import FactsTable
from rbyf_tui.tui.widgets.live_stream import CPU_DRAIN_HZ, DRAIN_HZ, CpuPacer
from rbyf_tui.tui.widgets.rating import RatingForm
from rbyf_tui.tui.widgets.stream import StreamView, wrap_starts

from fakes import ScriptedBackend
from helpers import MINI, until, with_story

pytestmark = pytest.mark.anyio


def mini_file(tmp_path: Path, text: str = MINI) -> Path:
    path = tmp_path / "mini.toml"
    path.write_text(text, encoding="utf-8")
    return path


def app_for(tmp_path: Path, model: Path | str, *, backend: ScriptedBackend | None = None,
            max_tokens: int | None = 24, catalog: str = MINI, **extra: Any) -> RbyfApp:
    """The app on a new session of `catalog`; max_tokens None: the catalog's own caps."""
    config = AppConfig(db_path=tmp_path / "rbyf.duckdb",
                       options=BackendOptions(model=str(model)),
                       catalog=str(mini_file(tmp_path, catalog)),
                       start=True, max_tokens=max_tokens, handle_signals=False, **extra)
    if backend is not None:
        config.backend_factory = lambda options, n_ctx, seed: backend
    return RbyfApp(config)


def session(app: RbyfApp) -> SessionScreen:
    screen = next(s for s in app.screen_stack if isinstance(s, SessionScreen))
    return screen


def task_status(screen: SessionScreen, key: str) -> str | None:
    """The stored status of a task's latest answer, as the screen last read it."""
    state = screen.states.get(key)
    return state.status if state else None


def generations(db: Path, session_id: str, key: str) -> list[tuple[Any, ...]]:
    return Store(db).db.read(lambda con: con.execute(
        "SELECT attempt, status, response FROM generations WHERE session_id = ? AND "
        "task_key = ? ORDER BY attempt", [session_id, key]).fetchall())


def ratings(db: Path, session_id: str) -> list[tuple[Any, ...]]:
    return Store(db).db.read(lambda con: con.execute(
        "SELECT g.task_key, r.score, r.remarks FROM ratings r JOIN generations g "
        "ON g.id = r.generation_id WHERE g.session_id = ? ORDER BY r.created_at",
        [session_id]).fetchall())


@pytest.mark.model
async def test_rate_a_catalog_live_on_the_demo_model(tmp_path: Path, demo_model: Path) -> None:
    # b is long (200 tokens, and the same every time) so that it is still running when the
    # key that stops it arrives; the other answers are short. Waits on a whole answer allow
    # for a slow, busy machine.
    app = app_for(tmp_path, demo_model, max_tokens=None, catalog=with_story(MINI, "b", 200))
    db = tmp_path / "rbyf.duckdb"
    async with app.run_test(size=(100, 32)) as pilot:
        screen = session(app)
        await until(pilot, lambda: screen.runner is not None and screen.gen_key == "warm")
        await until(pilot, lambda: screen.gen_key is None, timeout=300)
        assert screen.stream_repaints > 0  # tokens reached the screen while streaming
        sid = screen.runner.session_id  # type: ignore[union-attr]
        assert generations(db, sid, "warm")[0][1] == "ok"

        await pilot.press("s")  # the warm-up's rating is optional; task a is generated
        await until(pilot, lambda: screen.gen_key is None
                    and task_status(screen, "a") == "ok", timeout=300)
        await pilot.press("4", "tab", *"good, ümlaut", "enter")
        # saved, then the next task starts; its first tokens are on the way
        await until(pilot, lambda: screen.gen_key == "b" and screen.live is not None
                    and screen.live.figures.tokens > 0, timeout=300)
        assert ratings(db, sid) == [("a", 4, "good, ümlaut")]

        await pilot.press("escape")  # stop: the partial answer is kept, as cancelled
        await until(pilot, lambda: screen.gen_key is None)
        [(attempt, status, text)] = generations(db, sid, "b")
        assert (attempt, status) == (1, "cancelled") and text  # stopped mid-stream
        assert "cancelled" in screen.query_one("#catalog").get_option_at_index(2).prompt.plain

        await pilot.press("r")  # a new attempt; the old one stays
        await until(pilot, lambda: screen.gen_key == "b")
        await pilot.press("q")  # asks first while generating
        await until(pilot, lambda: isinstance(app.screen, ConfirmQuit))
        await pilot.press("n")
        await until(pilot, lambda: screen.gen_key is None, timeout=300)
        rows = generations(db, sid, "b")
        assert [(a, s) for a, s, _ in rows] == [(1, "cancelled"), (2, "ok")]
        assert rows[0][2] == text

        await pilot.press("5", "enter")
        await until(pilot, lambda: isinstance(app.screen, SummaryScreen))
        assert [(k, s) for k, s, _ in ratings(db, sid)] == [("a", 4), ("b", 5)]
        await pilot.press("q")
    assert app.return_code == 0
    [row] = Store(db).sessions()
    assert row.status == "complete" and row.origin == "tui"


async def test_skip_moves_on_and_a_backend_error_keeps_the_session_usable(
        tmp_path: Path) -> None:
    backend = ScriptedBackend(["one two three"], fail_on=["First task"])
    app = app_for(tmp_path, "/models/x.gguf", backend=backend)
    db = tmp_path / "rbyf.duckdb"
    async with app.run_test(size=(80, 24)) as pilot:
        screen = session(app)
        await until(pilot, lambda: screen.runner is not None and "warm" in screen.states)
        await pilot.press("s")  # warm-up -> a, which fails
        await until(pilot, lambda: task_status(screen, "a") == "error")
        assert "scripted failure" in str(screen.query_one("#status").render())
        await pilot.press("s")  # skip the failed task: b is generated
        await until(pilot, lambda: task_status(screen, "b") == "ok")
        await pilot.press("2", "enter")  # rate b; a is still unrated, so it comes next
        await until(pilot, lambda: screen.gen_key is None and screen.view == 1
                    and screen.states["a"].attempts == 2)
        sid = screen.runner.session_id  # type: ignore[union-attr]
        assert [s for _, s, _ in generations(db, sid, "a")] == ["error", "error"]
        assert ratings(db, sid) == [("b", 2, "")]
        await pilot.press("p")  # browsing shows stored answers: the warm-up's...
        assert str(screen.query_one("#prompt").render()) == "Say hi."
        assert screen.query_one("#answer-md").source == "one two three"
        await pilot.press("n")  # ...and a's failure
        assert str(screen.query_one("#prompt").render()) == "First task."
        assert "error: scripted failure" in str(screen.query_one("#status").render())


async def test_a_score_typed_while_the_answer_streams_is_kept_for_enter(
        tmp_path: Path) -> None:
    # Over SSH a rater who has read enough types the score before the last tokens arrive:
    # enter is refused while the answer is written, and the score must survive its end.
    # the warm-up says hi; a takes 10 s (time for the keys on a busy machine)
    backend = ScriptedBackend(["hi", " ".join(["word"] * 200)], delay_s=0.05)
    app = app_for(tmp_path, "/models/x.gguf", backend=backend, max_tokens=200)
    db = tmp_path / "rbyf.duckdb"
    async with app.run_test(size=(80, 24)) as pilot:
        screen = session(app)
        await until(pilot, lambda: task_status(screen, "warm") == "ok")
        await pilot.press("s")
        await until(pilot, lambda: screen.live is not None and screen.live.key == "a"
                    and screen.live.buffer.count > 0)
        await pilot.press("4", "enter")  # refused: the answer is still being written
        assert screen.gen_key == "a" and task_status(screen, "a") is None
        await until(pilot, lambda: task_status(screen, "a") == "ok" and screen.gen_key is None)
        assert screen.query_one(RatingForm).score == 4
        sid = screen.runner.session_id  # type: ignore[union-attr]
        assert ratings(db, sid) == []
        await pilot.press("enter")
        await until(pilot, lambda: ratings(db, sid) == [("a", 4, "")])


async def test_resume_shows_an_unrated_answer_without_generating_it(tmp_path: Path) -> None:
    backend = ScriptedBackend(["first answer"])
    app = app_for(tmp_path, "/models/x.gguf", backend=backend)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = session(app)
        await until(pilot, lambda: screen.runner is not None and "warm" in screen.states)
        await pilot.press("s")
        await until(pilot, lambda: task_status(screen, "a") == "ok")
        sid = screen.runner.session_id  # type: ignore[union-attr]
        await pilot.press("q")
    assert len(backend.requests) == 2

    again = ScriptedBackend(["never sent"])
    config = AppConfig(db_path=tmp_path / "rbyf.duckdb", resume=sid, handle_signals=False,
                       backend_factory=lambda options, n_ctx, seed: again)
    app = RbyfApp(config)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = session(app)
        await until(pilot, lambda: screen.runner is not None)
        await pilot.pause(0.2)
        assert screen.tasks[screen.view].key == "a" and screen.gen_key is None
        assert "first answer" in screen.query_one("#answer-md").source
        assert again.requests == []
        await pilot.press("3", "enter")  # rated; b has no answer, so it is generated now
        await until(pilot, lambda: task_status(screen, "b") == "ok")
        assert len(again.requests) == 1


class Clock:
    """This thread's CPU time and the wall time, moved by the test."""

    def __init__(self) -> None:
        self.cpu = self.wall = 0.0

    def thread_time(self) -> float:
        return self.cpu

    def perf_counter(self) -> float:
        return self.wall


def test_the_pacer_holds_repaints_while_the_ui_thread_is_over_its_share(
        monkeypatch: pytest.MonkeyPatch) -> None:
    clock = Clock()
    monkeypatch.setattr(sys.modules[CpuPacer.__module__], "time", clock)
    pacer = CpuPacer(share=0.1, max_gap_s=1.0)
    clock.wall += 0.1
    assert pacer.allows()  # idle since it started
    clock.cpu += 0.08  # a costly frame: 80 ms of this thread's CPU
    assert not pacer.allows()  # 80 ms is far over 10% of the time since
    clock.wall += 0.2
    assert not pacer.allows()  # still paying it back
    clock.wall += 0.5
    assert pacer.allows()  # paid back (10% of 0.8 s), before the longest gap
    clock.wall += 0.3
    assert pacer.allows()
    clock.cpu += 0.02
    assert pacer.allows()  # budget left unused pays for a dear frame
    clock.cpu += 0.3
    assert not pacer.allows()
    clock.wall += 1.05
    assert pacer.allows()  # never longer than max_gap_s between repaints
    clock.wall += 0.3
    assert not pacer.allows()  # the rest of the 300 ms is still to pay back


WORDS = " ".join(f"w{i}" for i in range(1500))  # 1,500 tokens from the scripted source


class CpuScripted(ScriptedBackend):
    name = "llama.cpp"  # described as a model decoding on this machine's CPU


async def test_a_cpu_decode_gets_fewer_repaints_and_every_token(tmp_path: Path) -> None:
    backend = CpuScripted([WORDS], delay_s=0.001)
    app = app_for(tmp_path, "/models/x.gguf", backend=backend, max_tokens=1500)
    started = time.perf_counter()  # before the warm-up starts: the bound below only widens
    async with app.run_test(size=(120, 40)) as pilot:
        screen = session(app)
        await until(pilot, lambda: screen.gen_key is not None)
        live = screen.live
        await until(pilot, lambda: screen.gen_key is None and "warm" in screen.states)
        elapsed = time.perf_counter() - started
        assert live is not None and live.pacer is not None
        assert screen.states["warm"].completion_tokens == 1500
        assert live.text == WORDS
        # ticks at CPU_DRAIN_HZ at most (+ the first text and the last flush)
        assert 1 <= screen.stream_repaints <= CPU_DRAIN_HZ * elapsed + 2


@asynccontextmanager
async def empty_stream_view(tmp_path: Path) -> AsyncIterator[StreamView]:
    """The session screen's answer pane, shown and emptied, at 80x24."""
    backend = ScriptedBackend(["x"])
    app = app_for(tmp_path, "/models/x.gguf", backend=backend)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = session(app)
        await until(pilot, lambda: screen.runner is not None and screen.gen_key is None)
        view = screen.query_one("#stream", StreamView)
        view.display = True
        view.clear()
        await pilot.pause(0.1)
        yield view


async def test_stream_appends_without_rewrapping_what_is_done(tmp_path: Path) -> None:
    async with empty_stream_view(tmp_path) as view:
        width = view._wrap_width
        text = ("lorem ipsum dolor sit amet, " * 40 + "\n\n") * 3 + "a" * 300
        for i in range(0, len(text), 7):
            view.append(text[i:i + 7])
        whole: list[str] = []
        for line in text.split("\n"):
            starts = wrap_starts(line, 0, width)
            ends = [*starts[1:], len(line)]
            whole.extend(line[a:b].rstrip(" ") for a, b in zip(starts, ends, strict=True))
        assert view._rows == whole
        assert view.text == text
        assert all(len(row) <= width for row in view._rows)


async def test_stream_follows_the_end_in_jumps_of_half_a_view(tmp_path: Path) -> None:
    async with empty_stream_view(tmp_path) as view:
        height = view.scrollable_content_region.height
        tops: list[int] = []
        for n in range(3 * height):
            view.append(f"row {n}\n")
            tops.append(view.scroll_offset.y)
            last = view.row_count - 1
            # the end is always in view
            assert view.scroll_offset.y <= last < view.scroll_offset.y + height
        jumps = [b for a, b in itertools.pairwise(tops) if b != a]
        assert 2 <= len(jumps) <= 3 * height // (height // 2)  # one per half a view
        assert all(b - a >= height // 2 for a, b in itertools.pairwise([0, *jumps]))
        # after a jump the last row sits in the middle, the room below it blank
        view.append("\n" * (height - (view.row_count - view.scroll_offset.y) + 1))
        assert view.row_count - 1 - view.scroll_offset.y == (height + 1) // 2 - 1
        view.scroll_home(animate=False, immediate=True)
        view.append("more")  # the reader scrolled up: the view stays where it is
        assert view.scroll_offset.y == 0


async def test_home_starts_a_new_session_and_resumes_an_unfinished_one(tmp_path: Path) -> None:
    backend = ScriptedBackend(["a scripted answer"])
    config = AppConfig(db_path=tmp_path / "rbyf.duckdb", handle_signals=False,
                       offer_demo=True, catalog=str(mini_file(tmp_path)),
                       backend_factory=lambda options, n_ctx, seed: backend)
    app = RbyfApp(config)
    async with app.run_test(size=(80, 24)) as pilot:
        from rbyf_tui.tui.screens.home import HomeScreen

        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        await pilot.press("enter")  # the demo model
        assert app.screen.focused is not None and app.screen.focused.id == "catalogs"
        await pilot.press("enter")  # the catalog given on the command line starts a session
        await until(pilot, lambda: isinstance(app.screen, SessionScreen))
        screen = app.screen
        assert isinstance(screen, SessionScreen)
        await until(pilot, lambda: screen.runner is not None and screen.gen_key is None)
        assert screen.runner is not None and screen.runner.catalog.name == "mini"
        sid = screen.runner.session_id
        await pilot.press("l")  # the leaderboard, over the session
        await until(pilot, lambda: isinstance(app.screen, LeaderboardScreen))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen))
        screen.action_home()
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        home = app.screen
        assert isinstance(home, HomeScreen)
        await until(pilot, lambda: home.session_ids == [sid])
        home.query_one("#sessions").focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen))
        resumed = app.screen
        assert isinstance(resumed, SessionScreen)
        await until(pilot, lambda: resumed.runner is not None)
        assert resumed.runner is not None and resumed.runner.session_id == sid


async def test_a_moved_model_is_asked_for_and_a_failed_load_is_shown(
        tmp_path: Path, demo_model: Path) -> None:
    from rbyf_tui.backends.base import ModelInfo
    from rbyf_tui.errors import ModelError
    from rbyf_tui.model_files import sha256_of
    from rbyf_tui.tui.screens.dialogs import ModelPathPrompt

    from helpers import mini_catalog

    db = tmp_path / "rbyf.duckdb"
    model = ModelInfo(key=f"sha256:{sha256_of(demo_model)}", name="demo", backend="llama.cpp",
                      path="/gone/demo.gguf")
    sid = Store(db).create_session(model, mini_catalog(), settings={
        "backend": "llama.cpp", "model_path": "/gone/demo.gguf"}, hardware={}, rater="tester",
        origin="tui")
    backend = ScriptedBackend(["found again"])
    config = AppConfig(db_path=db, resume=sid, handle_signals=False,
                       backend_factory=lambda options, n_ctx, seed: backend)
    app = RbyfApp(config)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ModelPathPrompt))
        assert "no longer at /gone/demo.gguf" in app.screen.problem
        await pilot.press(*str(demo_model), "enter")
        screen = session(app)
        await until(pilot, lambda: screen.runner is not None and screen.gen_key is None
                    and "warm" in screen.states)
        assert backend.requests  # the session goes on with the file found again
    (moved,) = Store(db).load_failures()  # stored, and marked as loaded since
    assert (moved.session_id, moved.model, moved.origin) == (
        sid, "/gone/demo.gguf", "tui")
    assert "no longer at /gone/demo.gguf" in moved.error and moved.loaded_since

    class Broken(ScriptedBackend):
        def load(self) -> ModelInfo:
            raise ModelError("llama.cpp could not load x.gguf: bad tensor")

    app = app_for(tmp_path, "/models/x.gguf", backend=Broken())
    async with app.run_test(size=(80, 24)) as pilot:
        screen = session(app)
        await until(pilot, lambda: screen.failed is not None)
        assert "bad tensor" in screen.query_one("#stream", StreamView).text  # whole, in the answer pane
        assert "This failure is stored" in screen.query_one("#stream", StreamView).text
        assert "escape: home" in str(screen.query_one("#status").render())
        failed = Store(tmp_path / "rbyf.duckdb").load_failures()[0]
        assert (failed.model, failed.catalog_name, failed.origin) == (
            "/models/x.gguf", "mini", "tui")
        assert failed.error == "llama.cpp could not load x.gguf: bad tensor"
        await pilot.press("escape")  # back home, nothing lost, the failure beside the model
        from rbyf_tui.tui.screens.home import HomeScreen

        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
        models = app.screen.query_one("#models", FactsTable)
        first = "".join(str(cell) for cell in models.get_row_at(0))
        assert "x.gguf" in first and "load failed" in first
        await until(pilot, lambda: "bad tensor" in str(
            app.screen.query_one("#home-help").render()))  # the highlighted model's error


async def test_the_command_palette_runs_session_actions(tmp_path: Path) -> None:
    backend = ScriptedBackend(["one two"])
    app = app_for(tmp_path, "/models/x.gguf", backend=backend)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = session(app)
        await until(pilot, lambda: screen.runner is not None and screen.gen_key is None
                    and "warm" in screen.states)
        await pilot.press("ctrl+p")
        await until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"skip task")
        # the search is asynchronous: enter once skip leads the list
        await until(pilot, lambda: (palette(app) or [("", "")])[0][0] == "Skip")
        await pilot.press("enter")
        await until(pilot, lambda: task_status(screen, "a") == "ok")
        assert screen.tasks[screen.view].key == "a"


def palette(app: RbyfApp) -> list[tuple[str | None, str | None]]:
    """The command palette's entries as listed now: (name, help); none while it is closed."""
    if not isinstance(app.screen, CommandPalette):
        return []
    return [(option.hit.text, option.hit.help)
            for option in app.screen.query_one(CommandList).options]


async def test_the_palette_lists_each_screens_bindings_and_runs_them(tmp_path: Path) -> None:
    """ctrl+p lists the bindings of the screen in view by name, with their help and key, and
    picking one runs its action: on the session screen, then on home."""
    from rbyf_tui.tui.screens.home import HomeScreen

    backend = ScriptedBackend(["one two"])
    app = app_for(tmp_path, "/models/x.gguf", backend=backend)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = session(app)
        await until(pilot, lambda: screen.runner is not None and screen.gen_key is None
                    and "warm" in screen.states)
        await pilot.press("ctrl+p")
        save = ("Save", "Save the chosen score and remarks, go to the next task (enter)")
        await until(pilot, lambda: save in palette(app))  # listed before anything is typed
        entries = palette(app)
        assert ("Score", "Choose score 0 (0)") in entries
        assert ("Score 5", "Choose score 5 (5)") in entries
        assert ("Regen", "Generate the task in view again (a new attempt) (r)") in entries
        await pilot.press(*"home")
        await until(pilot, lambda: palette(app)[:1] == [
            ("Home", "Back to the home screen (when nothing is running) (h)")])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))

        await pilot.press("ctrl+p")
        await until(pilot, lambda: ("New session", "Start a session with the chosen model and "
                                    "catalog (n)") in palette(app))
        await pilot.press(*"board")
        await until(pilot, lambda: palette(app)[:1] == [("Board", "Rank every rated model (l)")])
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, LeaderboardScreen))


async def test_an_openai_compatible_server_from_the_command_line(tmp_path: Path) -> None:
    from openai_server import serving

    with serving() as server:
        config = AppConfig(db_path=tmp_path / "rbyf.duckdb", handle_signals=False,
                           options=BackendOptions(backend="openai", base_url=server.url,
                                                  api_model="fake-model"),
                           catalog=str(mini_file(tmp_path)), start=True)
        app = RbyfApp(config)  # the real OpenAI backend, as `rbyf --backend openai` makes it
        async with app.run_test(size=(80, 24)) as pilot:
            screen = session(app)
            await until(pilot, lambda: screen.runner is not None and "warm" in screen.states
                        and screen.gen_key is None)
            assert screen.states["warm"].response == "Hello from the fake server."
            assert "fake-model" in str(screen.query_one("#title").render())
            await pilot.press("s")
            await until(pilot, lambda: task_status(screen, "a") == "ok")
            await pilot.press("5", "enter")
            await until(pilot, lambda: "b" in screen.states and screen.gen_key is None)
        [row] = Store(config.db_path).sessions()
        assert row.backend == "openai" and row.rated == 1


async def test_tokens_reach_the_screen_in_batches_with_live_figures(tmp_path: Path) -> None:
    backend = ScriptedBackend([WORDS], delay_s=0.0005)
    app = app_for(tmp_path, "/models/x.gguf", backend=backend, max_tokens=1500)
    started = time.perf_counter()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = session(app)
        await until(pilot, lambda: screen.live is not None
                    and screen.live.figures.tokens > 50)
        live = screen.live
        figures = str(screen.query_one("#figures").render())
        assert "…" in figures  # finish reason pending while streaming
        await until(pilot, lambda: screen.gen_key is None)
        elapsed = time.perf_counter() - started
        # every token arrived, in fewer repaints than tokens: one per drain at most, and
        # drains at DRAIN_HZ (+ the first text and the last flush)
        assert screen.states["warm"].completion_tokens == 1500
        assert 0 < screen.stream_repaints <= live.ticks
        assert screen.stream_repaints <= DRAIN_HZ * elapsed + 2
        assert screen.sparks["warm"] and max(screen.sparks["warm"]) > 0
        assert screen.query_one("#answer").display  # Markdown once finished

